//! PII and secret redaction for user input.
//!
//! [`PiiRedactor`] finds e-mail addresses, phone numbers, US social security numbers, payment
//! cards, IBANs, IP addresses, well-known API keys and generic secrets, and replaces each distinct
//! value with a numbered placeholder such as `[REDACTED_EMAIL_1]`. The numbering lives in
//! [`Redactions`], which the caller carries across all messages of one request so that the same
//! value always gets the same placeholder.
//!
//! Matching is linear-time. Literal-led detectors (API keys, e-mail, international phones, IPv6)
//! run over the whole text, where the regex crate's literal search makes them cheap. The dense
//! detectors (digit groups, IBANs, generic secrets) sit behind one [`RegexSet`] that is run over
//! 4 KiB windows (plus a 256-byte overlap); only the detectors it flags run, and only in that
//! window. An Aho-Corasick automaton finds `password=`-style keywords in flagged windows.
//! Every candidate is checked afterwards (Luhn, mod-97, SSN ranges, entropy, neighbouring bytes),
//! because the `regex` crate has no lookaround.
//!
//! Deliberate non-matches:
//! - Dotted quads are IPv4 addresses unless glued to more dotted numbers (`1.2.3.4.5`), directly
//!   preceded by a letter (`v1.2.3.4`), by `product/` (`Agent/1.2.3.4`) or by a version word
//!   (`version`, `ver`, `v`, `release`, `build`, `firmware`, `revision`, `rev`).
//! - Pure hexadecimal tokens (git SHAs, digests) and UUIDs are identifiers, not secrets.
//! - Digit groups glued to other digits by `-`, `.` or `/` (ISBNs, dates, `INV-2024-000123`) are
//!   not cards, phones or SSNs; cards also need a plausible issuer prefix, so ISBN-13s (978…) and
//!   millisecond timestamps (1…) never pass.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Regex, RegexSet, RegexSetBuilder};

use super::{CustomRule, NamedPattern, RuleError};

const EMAIL: &str = "email";
const PHONE: &str = "phone";
const SSN: &str = "ssn";
const CREDIT_CARD: &str = "credit_card";
const IBAN: &str = "iban";
const IP_ADDRESS: &str = "ip_address";
const API_KEY: &str = "api_key";
const SECRET: &str = "secret";

/// Priority of custom rules: the operator's rule names a span better than any built-in.
const CUSTOM_PRIORITY: u8 = 10;
/// Priority of a value found after a `password=`-style keyword.
const ASSIGNMENT_PRIORITY: u8 = 3;

/// Keywords whose assigned value is a secret (matched ASCII case-insensitively).
const SECRET_KEYWORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "api_key",
    "api-key",
    "apikey",
    "access_key",
    "private_key",
    "auth_key",
];

/// Regex for the assignment form, for consumers without the keyword automaton (matches the
/// keyword, the separator and the value).
const ASSIGNMENT_REGEX: &str = r#"(?i)(?-u:\b)(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|access_key|private_key|auth_key)["']?[ \t]*(?:=>?|:=?)[ \t]*["'`]?[^\s"'`,;&)}\]<>]+"#;

/// Cheap test for a keyword followed by an assignment, run in the window prefilter.
const ASSIGNMENT_GATE: &str = r#"(?i-u)(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|access_key|private_key|auth_key)["']?[ \t]*[:=]"#;

/// Words after which a dotted quad is a version number, not an address.
const VERSION_WORDS: &[&str] = &[
    "version", "ver", "v", "release", "build", "firmware", "revision", "rev",
];

/// Which neighbouring bytes a match must not be glued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// The regex's own word boundaries suffice.
    Plain,
    /// Digit groups: not part of a longer number, date, ISBN or code.
    Numeric,
    /// IPv4: like `Numeric`, and not a version number.
    Ipv4,
    /// IPv6: not glued to hex digits or colons.
    Ipv6,
}

/// How a candidate that fails validation may be shortened and tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shrink {
    /// No second chance.
    Never,
    /// Drop trailing separated groups (a phone followed by more digits).
    Groups,
    /// Cut to the country's IBAN length.
    Iban,
}

/// A built-in detector.
struct Builtin {
    kind: &'static str,
    regex: &'static str,
    valid: Option<fn(&str) -> bool>,
    context: Context,
    shrink: Shrink,
    priority: u8,
    /// Dense detectors (no literal to search for) run only in windows the prefilter flags;
    /// literal-led ones are cheap enough to run over the whole text.
    windowed: bool,
}

const fn builtin(
    kind: &'static str,
    regex: &'static str,
    valid: fn(&str) -> bool,
    context: Context,
    priority: u8,
) -> Builtin {
    Builtin {
        kind,
        regex,
        valid: Some(valid),
        context,
        shrink: Shrink::Never,
        priority,
        windowed: false,
    }
}

const fn shrinking(mut b: Builtin, shrink: Shrink) -> Builtin {
    b.shrink = shrink;
    b
}

const fn windowed(mut b: Builtin) -> Builtin {
    b.windowed = true;
    b
}

/// The built-in detectors. `(?-u:\b)` is an ASCII word boundary, which keeps the lazy DFA usable
/// on non-ASCII text.
const BUILTINS: &[Builtin] = &[
    builtin(
        EMAIL,
        r"[\p{L}\p{N}][\p{L}\p{N}._%+\-]*@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*\.\p{L}{2,}(?-u:\b)",
        email_valid,
        Context::Plain,
        6,
    ),
    windowed(shrinking(
        builtin(
            PHONE,
            r"(?:\+?1[ .\-]?)?(?:\([0-9]{3}\)[ .\-]?|[0-9]{3}[ .\-])[0-9]{3}[ .\-][0-9]{4}(?-u:\b)",
            us_phone_valid,
            Context::Numeric,
            5,
        ),
        Shrink::Groups,
    )),
    shrinking(
        builtin(
            PHONE,
            r"\+[1-9][0-9]{0,3}(?:[ .\-]?(?:\(0\)[ .\-]?)?[0-9]{1,5}){1,6}(?-u:\b)",
            intl_phone_valid,
            Context::Numeric,
            5,
        ),
        Shrink::Groups,
    ),
    windowed(builtin(
        SSN,
        r"(?-u:\b)(?:[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4})(?-u:\b)",
        ssn_valid,
        Context::Numeric,
        6,
    )),
    windowed(shrinking(
        builtin(
            CREDIT_CARD,
            r"(?-u:\b)(?:[0-9]{13,19}|[0-9]{4}(?:[ \-][0-9]{4}){2}[ \-][0-9]{1,4}(?:[ \-][0-9]{1,3})?|[0-9]{4}[ \-][0-9]{6}[ \-][0-9]{4,5})(?-u:\b)",
            card_valid,
            Context::Numeric,
            6,
        ),
        Shrink::Groups,
    )),
    windowed(shrinking(
        builtin(
            IBAN,
            r"(?-u:\b)[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?-u:\b)",
            iban_valid,
            Context::Plain,
            6,
        ),
        Shrink::Iban,
    )),
    windowed(builtin(
        IP_ADDRESS,
        r"(?-u:\b)[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?-u:\b)",
        ipv4_valid,
        Context::Ipv4,
        5,
    )),
    builtin(
        IP_ADDRESS,
        r"(?:[0-9A-Fa-f]{1,4})?(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.[0-9]{1,3}){0,3}",
        ipv6_valid,
        Context::Ipv6,
        5,
    ),
    builtin(
        API_KEY,
        r"(?-u:\b)sk-(?:proj-|svcacct-|admin-|ant-)?[A-Za-z0-9_\-]{20,}",
        dashed_key_valid,
        Context::Plain,
        8,
    ),
    builtin(
        API_KEY,
        r"(?-u:\b)(?:AKIA|ASIA)[A-Z0-9]{16}(?-u:\b)",
        any_value,
        Context::Plain,
        8,
    ),
    builtin(
        API_KEY,
        r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})(?-u:\b)",
        any_value,
        Context::Plain,
        8,
    ),
    builtin(
        API_KEY,
        r"(?-u:\b)xox[baprs]-[A-Za-z0-9\-]{10,}",
        dashed_key_valid,
        Context::Plain,
        8,
    ),
    builtin(
        API_KEY,
        r"(?-u:\b)AIza[0-9A-Za-z_\-]{35}",
        any_value,
        Context::Plain,
        8,
    ),
    builtin(
        API_KEY,
        r"(?-u:\b)(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}(?-u:\b)",
        any_value,
        Context::Plain,
        8,
    ),
    builtin(
        API_KEY,
        r"(?-u:\b)eyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*",
        any_value,
        Context::Plain,
        8,
    ),
    builtin(
        API_KEY,
        r"-----BEGIN [A-Z ]*PRIVATE KEY[A-Z ]*-----(?s:.)*?-----END [A-Z ]*PRIVATE KEY[A-Z ]*-----",
        any_value,
        Context::Plain,
        8,
    ),
    windowed(builtin(
        SECRET,
        r"(?-u:\b)[A-Za-z0-9][A-Za-z0-9+/_\-]{19,}={0,2}",
        high_entropy_valid,
        Context::Plain,
        2,
    )),
];

/// One compiled detector.
struct Detector {
    kind: Arc<str>,
    regex: Regex,
    valid: Option<fn(&str) -> bool>,
    context: Context,
    shrink: Shrink,
    priority: u8,
}

/// Detects PII and secrets and replaces them with numbered placeholders.
pub struct PiiRedactor {
    /// Literal-led detectors, run over the whole text.
    sparse: Vec<Detector>,
    /// Dense detectors, in the order of `dense_set`'s first patterns.
    dense: Vec<Detector>,
    /// Prefilter run per window: the dense detectors, then the assignment gate.
    dense_set: RegexSet,
    /// Custom rules, in the order of `custom_set`.
    custom: Vec<Detector>,
    /// Prefilter for custom rules (one pass over the whole text).
    custom_set: RegexSet,
    /// Finds `password=`-style keywords.
    keywords: AhoCorasick,
}

/// Bytes of text a window owns: matches must start inside it.
const WINDOW: usize = 4096;
/// Bytes a window looks past its end, longer than any dense value.
const MARGIN: usize = 256;

/// A slice of the text: matches starting in `start..core_end` belong to it, and the search sees
/// the text up to `scan_end`.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: usize,
    core_end: usize,
    scan_end: usize,
}

impl Window {
    fn whole(text: &str) -> Self {
        Self {
            start: 0,
            core_end: text.len(),
            scan_end: text.len(),
        }
    }
}

/// Splits `text` into windows on char boundaries.
fn windows(text: &str) -> impl Iterator<Item = Window> + '_ {
    let boundary = |mut i: usize| {
        while i < text.len() && !text.is_char_boundary(i) {
            i += 1;
        }
        i.min(text.len())
    };
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= text.len() {
            return None;
        }
        let core_end = boundary(start + WINDOW);
        let window = Window {
            start,
            core_end,
            scan_end: boundary(core_end + MARGIN),
        };
        start = core_end;
        Some(window)
    })
}

/// One detected value: byte range in the scanned text and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiMatch {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// Kind name, e.g. `email` or a custom rule's name.
    pub kind: Arc<str>,
}

/// A candidate with its tie-break priority.
struct Candidate {
    m: PiiMatch,
    priority: u8,
}

impl PiiRedactor {
    /// Built-in detectors plus extra regexes from config (`CustomRule.name` is the kind).
    pub fn new(extra: &[CustomRule]) -> Result<Self, RuleError> {
        let (mut sparse, mut dense) = (Vec::new(), Vec::new());
        for b in BUILTINS {
            let detector = Detector {
                kind: Arc::from(b.kind),
                regex: compile(b.kind, b.regex)?,
                valid: b.valid,
                context: b.context,
                shrink: b.shrink,
                priority: b.priority,
            };
            if b.windowed {
                dense.push(detector);
            } else {
                sparse.push(detector);
            }
        }
        let mut custom = Vec::with_capacity(extra.len());
        for rule in extra {
            if rule.name.trim().is_empty() {
                return Err(rule_error(&rule.name, "the kind name is empty"));
            }
            custom.push(Detector {
                kind: Arc::from(rule.name.as_str()),
                regex: compile(&rule.name, &rule.pattern)?,
                valid: None,
                context: Context::Plain,
                shrink: Shrink::Never,
                priority: CUSTOM_PRIORITY,
            });
        }
        let dense_patterns = dense.iter().map(|d| d.regex.as_str());
        let dense_set = build_set(dense_patterns.chain([ASSIGNMENT_GATE]))?;
        let custom_set = build_set(custom.iter().map(|d| d.regex.as_str()))?;
        let keywords = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(SECRET_KEYWORDS)
            .map_err(|e| rule_error("secret keywords", &e.to_string()))?;
        Ok(Self {
            sparse,
            dense,
            dense_set,
            custom,
            custom_set,
            keywords,
        })
    }

    /// Validated, non-overlapping matches sorted by start (longest/most specific wins on overlap).
    pub fn find(&self, text: &str) -> Vec<PiiMatch> {
        let mut candidates = Vec::new();
        let whole = Window::whole(text);
        for detector in &self.sparse {
            collect(detector, text, whole, &mut candidates);
        }
        if !self.custom.is_empty() {
            for index in self.custom_set.matches(text).iter() {
                if let Some(detector) = self.custom.get(index) {
                    collect(detector, text, whole, &mut candidates);
                }
            }
        }
        for window in windows(text) {
            let Some(scanned) = text.get(window.start..window.scan_end) else {
                continue;
            };
            for index in self.dense_set.matches(scanned).iter() {
                match self.dense.get(index) {
                    Some(detector) => collect(detector, text, window, &mut candidates),
                    None => self.collect_assignments(text, window, &mut candidates),
                }
            }
        }
        resolve(candidates)
    }

    /// Replaces every match with its placeholder; None when nothing was found.
    pub fn redact(&self, text: &str, state: &mut Redactions) -> Option<String> {
        let matches = self.find(text);
        if matches.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for m in &matches {
            out.push_str(text.get(last..m.start)?);
            let value = text.get(m.start..m.end)?;
            out.push_str(&state.placeholder(&m.kind, value));
            last = m.end;
        }
        out.push_str(text.get(last..)?);
        Some(out)
    }

    /// Adds the values of `password=`-style assignments.
    fn collect_assignments(&self, text: &str, window: Window, out: &mut Vec<Candidate>) {
        let bytes = text.as_bytes();
        let Some(scanned) = text.get(window.start..window.scan_end) else {
            return;
        };
        for hit in self.keywords.find_iter(scanned) {
            let hit = hit.offset(window.start);
            if hit.start() >= window.core_end {
                break;
            }
            let before = hit.start().checked_sub(1).and_then(|i| bytes.get(i));
            if before.is_some_and(|b| b.is_ascii_alphanumeric()) {
                continue;
            }
            if let Some((start, end)) = assigned_value(bytes, hit.end()) {
                out.push(Candidate {
                    m: PiiMatch {
                        start,
                        end,
                        kind: Arc::from(SECRET),
                    },
                    priority: ASSIGNMENT_PRIORITY,
                });
            }
        }
    }
}

impl fmt::Debug for PiiRedactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PiiRedactor")
            .field("sparse", &self.sparse.len())
            .field("dense", &self.dense.len())
            .field("custom", &self.custom.len())
            .finish_non_exhaustive()
    }
}

fn rule_error(name: &str, reason: &str) -> RuleError {
    RuleError {
        name: name.to_owned(),
        reason: reason.to_owned(),
    }
}

fn build_set<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Result<RegexSet, RuleError> {
    RegexSetBuilder::new(patterns)
        .build()
        .map_err(|e| rule_error("pii prefilter", &e.to_string()))
}

fn compile(name: &str, pattern: &str) -> Result<Regex, RuleError> {
    Regex::new(pattern).map_err(|e| rule_error(name, &e.to_string()))
}

/// Runs one detector over a window and keeps the candidates that pass its checks.
fn collect(detector: &Detector, text: &str, window: Window, out: &mut Vec<Candidate>) {
    let Some(scanned) = text.get(..window.scan_end) else {
        return;
    };
    let mut pos = window.start;
    while let Some(m) = detector.regex.find_at(scanned, pos) {
        let start = m.start();
        if start >= window.core_end {
            break;
        }
        let end = full_end(detector, text, window, start, m.end());
        if start == end {
            pos = next_char_boundary(text, end);
            continue;
        }
        match accept(detector, text, start, end) {
            Some(accepted_end) => {
                out.push(Candidate {
                    m: PiiMatch {
                        start,
                        end: accepted_end,
                        kind: Arc::clone(&detector.kind),
                    },
                    priority: detector.priority,
                });
                pos = accepted_end;
            }
            None if detector.shrink == Shrink::Never => pos = end,
            // Digit groups: the next group may start a valid value of its own.
            None => pos = next_group(text, start, end),
        }
        if pos >= window.core_end {
            break;
        }
    }
}

/// The end of the match at `start` in the whole text, when the window may have cut it short.
fn full_end(detector: &Detector, text: &str, window: Window, start: usize, end: usize) -> usize {
    if end < window.scan_end || window.scan_end >= text.len() {
        return end;
    }
    match detector.regex.find_at(text, start) {
        Some(m) if m.start() == start => m.end(),
        _ => end,
    }
}

/// Start of the second separated group of `text[start..end]`, or `end`.
fn next_group(text: &str, start: usize, end: usize) -> usize {
    let bytes = text.as_bytes();
    (start + 1..end)
        .find(|&i| {
            bytes.get(i).is_some_and(u8::is_ascii_alphanumeric)
                && !bytes.get(i - 1).is_some_and(u8::is_ascii_alphanumeric)
        })
        .unwrap_or(end)
}

fn next_char_boundary(text: &str, at: usize) -> usize {
    let mut i = at + 1;
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Returns the end of the accepted match, possibly shortened, or None.
fn accept(detector: &Detector, text: &str, start: usize, end: usize) -> Option<usize> {
    if passes(detector, text, start, end) {
        return Some(end);
    }
    let value = text.get(start..end)?;
    match detector.shrink {
        Shrink::Never => None,
        Shrink::Groups => value
            .char_indices()
            .rev()
            .filter(|&(_, c)| matches!(c, ' ' | '-' | '.'))
            .map(|(i, _)| start + i)
            .find(|&cut| passes(detector, text, start, cut)),
        Shrink::Iban => {
            let cut = start + iban_prefix_len(value)?;
            passes(detector, text, start, cut).then_some(cut)
        }
    }
}

/// Validator and neighbour checks for one span.
fn passes(detector: &Detector, text: &str, start: usize, end: usize) -> bool {
    let Some(value) = text.get(start..end) else {
        return false;
    };
    detector.valid.is_none_or(|valid| valid(value))
        && context_ok(text.as_bytes(), start, end, detector.context)
}

fn context_ok(bytes: &[u8], start: usize, end: usize, context: Context) -> bool {
    match context {
        Context::Plain => true,
        Context::Numeric => {
            !glued_before(bytes, start, b"-./")
                && !glued_after(bytes, end, b"-./")
                && !preceded_by_isbn(bytes, start)
        }
        Context::Ipv4 => {
            !glued_before(bytes, start, b"-.")
                && !glued_after(bytes, end, b"-.")
                && !after_product_slash(bytes, start)
                && !preceded_by_word(bytes, start, VERSION_WORDS)
        }
        Context::Ipv6 => {
            let hexish = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'.');
            !byte_before(bytes, start).is_some_and(hexish)
                && !bytes.get(end).is_some_and(|b| hexish(b) && *b != b'.')
        }
    }
}

fn byte_before(bytes: &[u8], at: usize) -> Option<&u8> {
    at.checked_sub(1).and_then(|i| bytes.get(i))
}

/// True when the byte before `start` continues a word, or a separator continues a number.
fn glued_before(bytes: &[u8], start: usize, separators: &[u8]) -> bool {
    match byte_before(bytes, start) {
        Some(b) if b.is_ascii_alphanumeric() || *b == b'_' => true,
        Some(b) if separators.contains(b) => {
            byte_before(bytes, start - 1).is_some_and(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// True when the byte at `end` continues a word, or a separator continues a number.
fn glued_after(bytes: &[u8], end: usize, separators: &[u8]) -> bool {
    match bytes.get(end) {
        Some(b) if b.is_ascii_alphanumeric() || *b == b'_' => true,
        Some(b) if separators.contains(b) => bytes.get(end + 1).is_some_and(u8::is_ascii_digit),
        _ => false,
    }
}

/// `Agent/1.2.3.4`: a product token followed by its version.
fn after_product_slash(bytes: &[u8], start: usize) -> bool {
    byte_before(bytes, start) == Some(&b'/')
        && start >= 2
        && byte_before(bytes, start - 1).is_some_and(u8::is_ascii_alphanumeric)
}

/// The text before `start`, lower-cased, with separators trimmed off its end.
fn lead_in(bytes: &[u8], start: usize, window: usize) -> String {
    let from = start.saturating_sub(window);
    let lead = bytes.get(from..start).unwrap_or_default();
    let trimmed = lead
        .iter()
        .rposition(|b| !(b.is_ascii_whitespace() || matches!(b, b':' | b'=' | b'#')))
        .map_or(&[][..], |last| lead.get(..=last).unwrap_or_default());
    String::from_utf8_lossy(trimmed).to_ascii_lowercase()
}

/// True when one of `words` (as a whole word) ends right before `start`, ignoring `: = #` and
/// spaces.
fn preceded_by_word(bytes: &[u8], start: usize, words: &[&str]) -> bool {
    let lead = lead_in(bytes, start, 24);
    words.iter().any(|w| {
        lead.strip_suffix(w)
            .is_some_and(|rest| !rest.ends_with(|c: char| c.is_ascii_alphanumeric()))
    })
}

fn preceded_by_isbn(bytes: &[u8], start: usize) -> bool {
    lead_in(bytes, start, 16).contains("isbn")
}

/// Parses `["']? ws* (= | => | : | :=) ws* quote? value` after a secret keyword.
fn assigned_value(bytes: &[u8], mut i: usize) -> Option<(usize, usize)> {
    if matches!(bytes.get(i), Some(b'"' | b'\'')) {
        i += 1;
    }
    i = skip_blanks(bytes, i);
    match bytes.get(i) {
        Some(b'=') => {
            i += if bytes.get(i + 1) == Some(&b'>') {
                2
            } else {
                1
            }
        }
        Some(b':') => {
            i += if bytes.get(i + 1) == Some(&b'=') {
                2
            } else {
                1
            }
        }
        _ => return None,
    }
    i = skip_blanks(bytes, i);
    let quote = match bytes.get(i) {
        Some(&q @ (b'"' | b'\'' | b'`')) => {
            i += 1;
            Some(q)
        }
        _ => None,
    };
    let start = i;
    let mut end = start;
    while let Some(&b) = bytes.get(end) {
        let stop = match quote {
            Some(q) => b == q || b == b'\n' || b == b'\r',
            None => b.is_ascii_whitespace() || b"\"'`,;&)}]<>".contains(&b),
        };
        if stop {
            break;
        }
        end += 1;
    }
    if quote.is_none() {
        while end > start && matches!(bytes.get(end - 1), Some(b'.' | b'!' | b'?')) {
            end -= 1;
        }
    }
    let value = bytes.get(start..end)?;
    (!value.is_empty() && !value.starts_with(b"[REDACTED_")).then_some((start, end))
}

fn skip_blanks(bytes: &[u8], mut i: usize) -> usize {
    while matches!(bytes.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

/// Keeps the longest (then highest-priority, then earliest) of overlapping candidates.
fn resolve(mut candidates: Vec<Candidate>) -> Vec<PiiMatch> {
    candidates.sort_by(|a, b| {
        let len = |c: &Candidate| c.m.end - c.m.start;
        len(b)
            .cmp(&len(a))
            .then(b.priority.cmp(&a.priority))
            .then(a.m.start.cmp(&b.m.start))
    });
    let mut chosen: Vec<PiiMatch> = Vec::with_capacity(candidates.len());
    for c in candidates {
        let pos = chosen.partition_point(|m| m.start < c.m.start);
        let clash_before = pos
            .checked_sub(1)
            .and_then(|i| chosen.get(i))
            .is_some_and(|m| m.end > c.m.start);
        let clash_after = chosen.get(pos).is_some_and(|m| m.start < c.m.end);
        if !clash_before && !clash_after {
            chosen.insert(pos, c.m);
        }
    }
    chosen
}

/// Per-request placeholder numbering: the same value always gets the same placeholder.
#[derive(Default, Clone)]
pub struct Redactions {
    /// (kind, canonical value) → placeholder.
    placeholders: HashMap<(Arc<str>, String), Arc<str>>,
    /// Values numbered so far per kind.
    per_kind: HashMap<Arc<str>, usize>,
    /// Kinds in the order first seen.
    order: Vec<Arc<str>>,
}

impl Redactions {
    /// Distinct kinds redacted so far, in the order first seen.
    pub fn kinds(&self) -> Vec<String> {
        self.order.iter().map(|k| k.to_string()).collect()
    }

    /// True when nothing has been redacted.
    pub fn is_empty(&self) -> bool {
        self.placeholders.is_empty()
    }

    /// Number of distinct values redacted (one per placeholder).
    pub fn count(&self) -> usize {
        self.placeholders.len()
    }

    /// The placeholder for `value`, numbering it if it is new.
    fn placeholder(&mut self, kind: &Arc<str>, value: &str) -> Arc<str> {
        let key = (Arc::clone(kind), canonical(kind, value));
        if let Some(existing) = self.placeholders.get(&key) {
            return Arc::clone(existing);
        }
        let n = self.per_kind.entry(Arc::clone(kind)).or_insert(0);
        if *n == 0 {
            self.order.push(Arc::clone(kind));
        }
        *n += 1;
        let placeholder: Arc<str> = Arc::from(format!("[REDACTED_{}_{}]", tag(kind), n));
        self.placeholders.insert(key, Arc::clone(&placeholder));
        placeholder
    }
}

impl fmt::Debug for Redactions {
    /// Never prints the redacted values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactions")
            .field("kinds", &self.order)
            .field("count", &self.count())
            .finish()
    }
}

/// Upper-case placeholder tag of a kind: `credit_card` → `CREDIT_CARD`.
fn tag(kind: &str) -> String {
    kind.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Spelling-insensitive form of a value, so `4111 1111…` and `4111-1111…` share a placeholder.
fn canonical(kind: &str, value: &str) -> String {
    match kind {
        PHONE | SSN | CREDIT_CARD | IBAN => value
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect(),
        EMAIL => value.to_ascii_lowercase(),
        _ => value.to_owned(),
    }
}

/// The built-in detectors as named patterns with their validity checks, for the output guardrail
/// (which scans answers for secrets and PII with its own streaming matcher).
///
/// Each regex matches the value itself, except the `password=`-style `secret` pattern, which
/// matches the whole assignment. Neighbour checks of [`PiiRedactor::find`] are not included.
pub fn builtin_patterns() -> Vec<NamedPattern> {
    let mut patterns: Vec<NamedPattern> = BUILTINS
        .iter()
        .map(|b| NamedPattern {
            name: b.kind.to_owned(),
            regex: b.regex.to_owned(),
            valid: b.valid,
        })
        .collect();
    patterns.push(NamedPattern {
        name: SECRET.to_owned(),
        regex: ASSIGNMENT_REGEX.to_owned(),
        valid: None,
    });
    patterns
}

// ---------------------------------------------------------------------------------------------
// Validity checks
// ---------------------------------------------------------------------------------------------

fn any_value(_: &str) -> bool {
    true
}

/// ASCII digits of `s`, or None if `s` has anything but digits, spaces and dashes.
fn separated_digits(s: &str) -> Option<Vec<u8>> {
    let mut digits = Vec::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'0'..=b'9' => digits.push(b - b'0'),
            b' ' | b'-' => {}
            _ => return None,
        }
    }
    Some(digits)
}

/// Luhn checksum over the digits of `s` (spaces and dashes allowed, at least two digits).
pub fn luhn_valid(s: &str) -> bool {
    let Some(digits) = separated_digits(s) else {
        return false;
    };
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            match (i % 2 == 1, d * 2) {
                (false, _) => d,
                (true, doubled) if doubled > 9 => doubled - 9,
                (true, doubled) => doubled,
            }
        })
        .sum();
    digits.len() >= 2 && sum.is_multiple_of(10)
}

/// A payment card: 13–19 digits, Luhn-valid, with a known issuer prefix and length.
fn card_valid(s: &str) -> bool {
    let Some(digits) = separated_digits(s) else {
        return false;
    };
    (13..=19).contains(&digits.len()) && luhn_valid(s) && issuer_plausible(&digits)
}

/// The number formed by the first `n` digits.
fn prefix(digits: &[u8], n: usize) -> u32 {
    digits
        .iter()
        .take(n)
        .fold(0, |acc, &d| acc * 10 + u32::from(d))
}

/// Known issuer ranges (Visa, Mastercard, Amex, Diners, Discover, JCB, UnionPay, Maestro, UATP).
fn issuer_plausible(digits: &[u8]) -> bool {
    let len = digits.len();
    let (p2, p3, p4) = (prefix(digits, 2), prefix(digits, 3), prefix(digits, 4));
    match digits.first() {
        Some(4) => matches!(len, 13 | 16 | 19),
        // Mastercard 51–55 and Maestro 50, 56–59 (lengths 13–19 checked by the caller).
        Some(5) => true,
        Some(2) => (2221..=2720).contains(&p4) && len == 16,
        Some(3) => {
            matches!(p2, 34 | 37) && len == 15
                || ((300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39)) && len >= 14
                || (3528..=3589).contains(&p4) && len >= 16
        }
        // Discover, UnionPay, Maestro.
        Some(6) => true,
        Some(1) => len == 15,
        _ => false,
    }
}

/// US social security number `AAA-GG-SSSS` outside the never-issued ranges.
pub fn ssn_valid(s: &str) -> bool {
    let Some(digits) = separated_digits(s) else {
        return false;
    };
    if digits.len() != 9 {
        return false;
    }
    let area = prefix(&digits, 3);
    let group = prefix(digits.get(3..).unwrap_or_default(), 2);
    let serial = prefix(digits.get(5..).unwrap_or_default(), 4);
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// IBAN lengths per country (SWIFT IBAN registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

fn iban_length(country: &[u8]) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(code, _)| code.as_bytes() == country)
        .map(|&(_, len)| len)
}

/// IBAN: known country, its exact length, digits as check digits, mod-97 remainder 1.
/// Spaces are ignored; letters must be upper-case.
pub fn iban_valid(s: &str) -> bool {
    let compact: Vec<u8> = s.bytes().filter(|&b| b != b' ').collect();
    let (Some(country), Some(check)) = (compact.get(..2), compact.get(2..4)) else {
        return false;
    };
    if !country.iter().all(u8::is_ascii_uppercase)
        || !check.iter().all(u8::is_ascii_digit)
        || iban_length(country) != Some(compact.len())
    {
        return false;
    }
    let rearranged = compact.iter().skip(4).chain(compact.iter().take(4));
    let mut remainder: u32 = 0;
    for &b in rearranged {
        remainder = match b {
            b'0'..=b'9' => (remainder * 10 + u32::from(b - b'0')) % 97,
            b'A'..=b'Z' => (remainder * 100 + u32::from(b - b'A') + 10) % 97,
            _ => return false,
        };
    }
    remainder == 1
}

/// Byte length of the prefix of `s` holding exactly as many non-space characters as the
/// country's IBAN, for a candidate that ran into a following group.
fn iban_prefix_len(s: &str) -> Option<usize> {
    let want = iban_length(s.as_bytes().get(..2)?)?;
    let mut seen = 0;
    for (i, b) in s.bytes().enumerate() {
        if b != b' ' {
            seen += 1;
            if seen == want {
                return Some(i + 1);
            }
        }
    }
    None
}

fn email_valid(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
}

fn digit_count(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

fn us_phone_valid(s: &str) -> bool {
    let n = digit_count(s);
    n == 10 || n == 11 && s.trim_start_matches('+').starts_with('1')
}

/// E.164: at most 15 digits including the country code (a `(0)` trunk prefix is not counted).
fn intl_phone_valid(s: &str) -> bool {
    let n = digit_count(&s.replace("(0)", ""));
    (8..=15).contains(&n)
}

fn ipv4_valid(s: &str) -> bool {
    s.parse::<Ipv4Addr>().is_ok()
}

/// A parseable IPv6 address with at least two non-empty groups and a digit (so Rust paths such
/// as `abc::def` and the bare `::1` are not addresses).
fn ipv6_valid(s: &str) -> bool {
    s.parse::<Ipv6Addr>().is_ok()
        && s.bytes().any(|b| b.is_ascii_digit())
        && s.split(':').filter(|g| !g.is_empty()).count() >= 2
}

/// The random part of a dashed key (`sk-…`, `xoxb-…`) mixes letters and digits.
fn dashed_key_valid(s: &str) -> bool {
    let body = s.split_once('-').map_or(s, |(_, rest)| rest);
    body.bytes().any(|b| b.is_ascii_digit()) && body.bytes().any(|b| b.is_ascii_alphabetic())
}

/// Shannon entropy in bits per byte.
fn shannon_entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        if let Some(c) = counts.get_mut(usize::from(b)) {
            *c += 1;
        }
    }
    let len = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

/// A generic secret: ≥ 20 chars mixing letters and digits, not hex (hashes, UUIDs), not a chain
/// of plain words (`report_2024_final`), not a placeholder, and random-looking: entropy close to
/// the maximum for its length (4 bits/char from 32 chars on).
fn high_entropy_valid(s: &str) -> bool {
    let token = s.trim_end_matches('=');
    if token.len() < 20 || token.starts_with("REDACTED_") {
        return false;
    }
    let has_digit = token.bytes().any(|b| b.is_ascii_digit());
    let has_letter = token.bytes().any(|b| b.is_ascii_alphabetic());
    let hex_only = token.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if !has_digit || !has_letter || hex_only || wordy(token) || camel_case(token) {
        return false;
    }
    let threshold = ((token.len() as f64).log2() - 0.6).min(4.0);
    shannon_entropy(token) >= threshold
}

/// Mixed-case text whose letters come in long same-case runs (`Windows10ProfessionalEdition`);
/// random base62/base64 switches class every 1.6 characters on average.
fn camel_case(token: &str) -> bool {
    let class = |b: u8| match b {
        b'a'..=b'z' => Some(0u8),
        b'A'..=b'Z' => Some(1),
        b'0'..=b'9' => Some(2),
        _ => None,
    };
    let classes: Vec<u8> = token.bytes().filter_map(class).collect();
    let has_both_cases = classes.contains(&0) && classes.contains(&1);
    let runs = 1 + classes.windows(2).filter(|w| w.first() != w.get(1)).count();
    has_both_cases && classes.len() > 3 * runs
}

/// True when every separated segment is a plain word, a number or very short.
fn wordy(token: &str) -> bool {
    let mut segments = token
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .peekable();
    segments.peek().is_some() && segments.all(|seg| seg.len() <= 3 || plain_word(seg))
}

/// `word`, `Word`, `word2`, `2024`: letters in one case pattern, then optional digits.
fn plain_word(seg: &str) -> bool {
    let letters = seg.trim_end_matches(|c: char| c.is_ascii_digit());
    letters.is_empty()
        || letters.bytes().all(|b| b.is_ascii_lowercase())
        || letters.bytes().all(|b| b.is_ascii_uppercase())
        || letters.bytes().skip(1).all(|b| b.is_ascii_lowercase())
}

#[cfg(test)]
mod tests;
