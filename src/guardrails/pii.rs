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
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn redactor() -> &'static PiiRedactor {
        static REDACTOR: std::sync::OnceLock<PiiRedactor> = std::sync::OnceLock::new();
        REDACTOR.get_or_init(|| PiiRedactor::new(&[]).unwrap())
    }

    /// Kinds found in `text`, with the matched values.
    fn found(text: &str) -> Vec<(String, String)> {
        redactor()
            .find(text)
            .into_iter()
            .map(|m| (m.kind.to_string(), text[m.start..m.end].to_owned()))
            .collect()
    }

    fn assert_detected(kind: &str, values: &[&str]) {
        for value in values {
            let text = format!("please use {value} for it.");
            assert_eq!(
                found(&text),
                vec![(kind.to_owned(), (*value).to_owned())],
                "in {text:?}"
            );
        }
    }

    fn assert_untouched(texts: &[&str]) {
        let r = redactor();
        for text in texts {
            assert_eq!(r.find(text), vec![], "in {text:?}");
            assert_eq!(r.redact(text, &mut Redactions::default()), None);
        }
    }

    #[test]
    fn emails() {
        assert_detected(
            EMAIL,
            &[
                "jane.doe@example.com",
                "first+tag@mail.example.co.uk",
                "X_Y-z%1@sub-domain.io",
            ],
        );
    }

    #[test]
    fn phones() {
        assert_detected(
            PHONE,
            &[
                "(555) 123-4567",
                "555-123-4567",
                "555.123.4567",
                "+1 555 123 4567",
                "1-800-555-0199",
                "+44 20 7946 0958",
                "+33 1 23 45 67 89",
                "+49 30 1234567",
                "+91 98765 43210",
                "+4915112345678",
            ],
        );
    }

    #[test]
    fn phone_followed_by_more_digits_is_cut_back() {
        let text = "call +44 20 7946 0958 4111 1111 1111 1111 now";
        assert_eq!(
            found(text),
            vec![
                (PHONE.to_owned(), "+44 20 7946 0958".to_owned()),
                (CREDIT_CARD.to_owned(), "4111 1111 1111 1111".to_owned()),
            ]
        );
    }

    #[test]
    fn ssns() {
        assert_detected(SSN, &["123-45-6789", "078-05-1121", "665 12 0001"]);
        assert_untouched(&[
            "ssn 000-12-3456",
            "ssn 666-12-3456",
            "ssn 912-12-3456",
            "ssn 123-00-4567",
            "ssn 123-45-0000",
        ]);
    }

    #[test]
    fn credit_cards() {
        assert_detected(
            CREDIT_CARD,
            &[
                "4111111111111111",
                "4111 1111 1111 1111",
                "5555-5555-5555-4444",
                "3782 822463 10005",
                "378282246310005",
                "6011111111111117",
                "2223003122003222",
                "4222222222222",
            ],
        );
        assert_untouched(&[
            "card 4111 1111 1111 1112 fails Luhn",
            "id 1234567812345670 passes Luhn but has no issuer",
            "9999999999999995 neither",
        ]);
    }

    #[test]
    fn card_followed_by_year_keeps_the_year() {
        let text = "card 4111 1111 1111 1111 2024 expired";
        assert_eq!(
            found(text),
            vec![(CREDIT_CARD.to_owned(), "4111 1111 1111 1111".to_owned())]
        );
    }

    #[test]
    fn ibans() {
        assert_detected(
            IBAN,
            &[
                "DE89 3704 0044 0532 0130 00",
                "DE89370400440532013000",
                "GB29 NWBK 6016 1331 9268 19",
                "GB29NWBK60161331926819",
                "FR14 2004 1010 0505 0001 3M02 606",
                "NL91ABNA0417164300",
                "NO9386011117947",
            ],
        );
        assert!(!iban_valid("DE88 3704 0044 0532 0130 00"));
        assert!(!iban_valid("DE89 3704 0044 0532 0130 0"));
        assert!(!iban_valid("ZZ89370400440532013000"));
        let text = "DE89 3704 0044 0532 0130 00 1234 5678";
        assert_eq!(
            found(text)[0],
            (IBAN.to_owned(), "DE89 3704 0044 0532 0130 00".to_owned())
        );
    }

    #[test]
    fn ip_addresses() {
        assert_detected(
            IP_ADDRESS,
            &[
                "192.168.1.1",
                "8.8.8.8",
                "255.255.255.255",
                "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
                "2001:db8::8a2e:370:7334",
                "fe80::1ff:fe23:4567:890a",
                "::ffff:192.0.2.128",
            ],
        );
        assert_eq!(
            found("from 10.0.0.1:8080 and 10.1.0.0/16")
                .into_iter()
                .map(|(_, v)| v)
                .collect::<Vec<_>>(),
            vec!["10.0.0.1", "10.1.0.0"]
        );
        assert_untouched(&[
            "256.1.1.1 is not an address",
            "1.2.3.4.5 has five parts",
            "at 12:30:45 sharp",
            "use std::net and abc::def",
            "MAC 00:1A:2B:3C:4D:5E",
        ]);
    }

    #[test]
    fn api_keys() {
        assert_detected(
            API_KEY,
            &[
                "sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL",
                "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z_A7b-C0d",
                "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe-AbCdEf",
                "AKIAIOSFODNN7EXAMPLE",
                "ASIAY34FZKBOKMUTVV7A",
                "ghp_1234567890abcdefghijklmnopqrstuvwxyzAB",
                "gho_16C7e42F292c6912E7710c838347Ae178B4a",
                "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
                "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
                "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
                "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
                "rk_live_51Habcdefghijklmnop",
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            ],
        );
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM\n+a/b==\n-----END RSA PRIVATE KEY-----";
        assert_detected(API_KEY, &[pem]);
        let openssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
        assert_detected(API_KEY, &[openssh]);
    }

    #[test]
    fn generic_secrets() {
        assert_detected(
            SECRET,
            &[
                "Zq8vR2mN7xK4pL9sT3wY6bH1",
                "a8F3kQ9zL2mX7vB4nC6pR1tY5wE0uI",
                "dGhpcyBpcyBhIHNlY3JldCB0b2tlbjEyMw==",
                "k3j4h5g6f7d8s9a0p1o2i3u4y5",
            ],
        );
    }

    #[test]
    fn assignments() {
        let cases = [
            ("password=hunter2", "hunter2"),
            ("passwd: swordfish", "swordfish"),
            ("DB_PASSWORD = \"p@ss word!\"", "p@ss word!"),
            ("{\"secret\": \"abc\"}", "abc"),
            ("token:xyz123.", "xyz123"),
            ("https://x.io/cb?api_key=q1w2e3&x=1", "q1w2e3"),
            ("client_secret => 'shh'", "shh"),
            ("Password: letmein", "letmein"),
        ];
        for (text, value) in cases {
            assert_eq!(
                found(text),
                vec![(SECRET.to_owned(), value.to_owned())],
                "in {text:?}"
            );
        }
        assert_untouched(&[
            "max_tokens: 1500",
            "the tokens: many",
            "mypassword=x is not a keyword",
            "password reset links expire",
            "token_type: bearer",
        ]);
    }

    #[test]
    fn api_key_assignment_is_an_api_key() {
        let key = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z";
        assert_eq!(
            found(&format!("api_key={key}")),
            vec![(API_KEY.to_owned(), key.to_owned())]
        );
    }

    #[test]
    fn benign_lookalikes_stay() {
        assert_untouched(&[
            "Upgrade to v1.2.3 today",
            "Windows version 10.0.19045.2006 is installed",
            "version 1.2.3.4 is out, see v1.2.3.4 and Agent/1.2.3.4",
            "release: 2.0.0.1 shipped",
            "ISBN 978-3-16-148410-0 and ISBN 0-306-40615-2",
            "ISBN-13: 9783161484100",
            "on 2024-01-15 or 15/01/2024 or 15.01.2024",
            "at 10:30, 23:59:59 or 10:30:00.000 UTC",
            "order #123456789 and invoice INV-2024-000123",
            "number 1234567812345678 fails Luhn",
            "costs $1,299.99 for 3 items, 1 500 000 units, 42 kg",
            "uuid 550e8400-e29b-41d4-a716-446655440000",
            "commit 3f786850e387550fdab836ed7e6dc881de23001b",
            "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "The internationalization of counterrevolutionaries is incomprehensibilities.",
            "see src/guardrails/pii2/tests/fixtures1/report_2024_01_15_final_v2.txt",
            "Windows10ProfessionalEdition2024 in prose",
            "timestamp 1705312345678 ms",
            "[REDACTED_CREDIT_CARD_12] and [REDACTED_IP_ADDRESS_1]",
            "",
        ]);
    }

    #[test]
    fn numbering_and_same_value_same_placeholder() {
        let r = redactor();
        let mut state = Redactions::default();
        let first = r
            .redact(
                "mail a@x.com, b@y.org and A@X.com; ssn 123-45-6789",
                &mut state,
            )
            .unwrap();
        assert_eq!(
            first,
            "mail [REDACTED_EMAIL_1], [REDACTED_EMAIL_2] and [REDACTED_EMAIL_1]; ssn [REDACTED_SSN_1]"
        );
        // The state carries over to the next message of the same request.
        let second = r
            .redact(
                "again b@y.org, card 4111-1111-1111-1111 / 4111111111111111",
                &mut state,
            )
            .unwrap();
        assert_eq!(
            second,
            "again [REDACTED_EMAIL_2], card [REDACTED_CREDIT_CARD_1] / [REDACTED_CREDIT_CARD_1]"
        );
        assert_eq!(state.kinds(), vec!["email", "ssn", "credit_card"]);
        assert_eq!(state.count(), 4);
        assert!(!state.is_empty());
        assert!(!format!("{state:?}").contains("a@x.com"));
        assert_eq!(r.redact("nothing here", &mut state), None);
        assert!(Redactions::default().is_empty());
    }

    #[test]
    fn redacted_output_is_stable() {
        let r = redactor();
        let mut state = Redactions::default();
        let once = r
            .redact(
                "key AKIAIOSFODNN7EXAMPLE ip 1.2.3.4 pw password=x",
                &mut state,
            )
            .unwrap();
        assert_eq!(r.redact(&once, &mut state), None, "{once}");
    }

    #[test]
    fn custom_rules() {
        let rules = [CustomRule {
            name: "employee_id".to_owned(),
            pattern: r"\bEMP-[0-9]{6}\b".to_owned(),
            weight: 1.0,
        }];
        let r = PiiRedactor::new(&rules).unwrap();
        let mut state = Redactions::default();
        let out = r
            .redact("EMP-123456 and EMP-654321 mail e@x.io", &mut state)
            .unwrap();
        assert_eq!(
            out,
            "[REDACTED_EMPLOYEE_ID_1] and [REDACTED_EMPLOYEE_ID_2] mail [REDACTED_EMAIL_1]"
        );
        assert_eq!(state.kinds(), vec!["employee_id", "email"]);
    }

    #[test]
    fn bad_custom_rules_are_errors() {
        let bad = |name: &str, pattern: &str| CustomRule {
            name: name.to_owned(),
            pattern: pattern.to_owned(),
            weight: 0.0,
        };
        let err = PiiRedactor::new(&[bad("broken", "(unclosed")]).unwrap_err();
        assert_eq!(err.name, "broken");
        assert!(PiiRedactor::new(&[bad(" ", "x")]).is_err());
        // A rule that can match the empty string is harmless.
        let r = PiiRedactor::new(&[bad("empty", "x*")]).unwrap();
        assert_eq!(r.find("abc"), vec![]);
    }

    #[test]
    fn non_ascii_text() {
        let text = "Grüße an jörg@example.de — 電話 +49 30 1234567 und 4111 1111 1111 1111.";
        let kinds: Vec<String> = found(text).into_iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, vec![EMAIL, PHONE, CREDIT_CARD]);
        assert_eq!(found(text)[0].1, "jörg@example.de");
        let text = "mail jörg.müller@example.de é4111111111111111";
        let r = redactor();
        let out = r.redact(text, &mut Redactions::default()).unwrap();
        assert!(out.contains("[REDACTED_EMAIL_1]") || out.contains("[REDACTED_CREDIT_CARD_1]"));
    }

    #[test]
    fn values_across_window_boundaries() {
        let values = [
            "4111 1111 1111 1111",
            "DE89 3704 0044 0532 0130 00",
            "password=hunter2",
            "Zq8vR2mN7xK4pL9sT3wY6bH1",
            "(555) 123-4567",
        ];
        for value in values {
            for offset in WINDOW - 30..WINDOW + 5 {
                let mut text = "word ".repeat(offset / 5);
                text.push_str(&" ".repeat(offset - text.len()));
                text.push_str(value);
                text.push_str(" and more words after it");
                let out = redactor()
                    .redact(&text, &mut Redactions::default())
                    .unwrap();
                let secret = value.strip_prefix("password=").unwrap_or(value);
                assert!(!out.contains(secret), "{value:?} at {offset}");
            }
        }
        let long = format!("{} token={}", "word ".repeat(800), "a1".repeat(400));
        let out = redactor()
            .redact(&long, &mut Redactions::default())
            .unwrap();
        assert!(
            out.ends_with("token=[REDACTED_SECRET_1]"),
            "{}",
            &out[3990..]
        );
    }

    #[test]
    fn validators() {
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
        assert!(!luhn_valid("4111a1111"));
        assert!(!luhn_valid("0"));
        assert!(ssn_valid("123-45-6789"));
        assert!(!ssn_valid("123-45-678"));
        assert!(iban_valid("GB82 WEST 1234 5698 7654 32"));
        assert!(!iban_valid("gb82 west 1234 5698 7654 32"));
    }

    #[test]
    fn builtin_patterns_work_standalone() {
        let samples = [
            "jane@example.com",
            "555-123-4567",
            "+44 20 7946 0958",
            "123-45-6789",
            "4111 1111 1111 1111",
            "DE89 3704 0044 0532 0130 00",
            "192.168.0.1",
            "2001:db8::1",
            "AKIAIOSFODNN7EXAMPLE",
            "Zq8vR2mN7xK4pL9sT3wY6bH1",
            "password=hunter2",
        ];
        let patterns = builtin_patterns();
        let compiled: Vec<(NamedPattern, Regex)> = patterns
            .into_iter()
            .map(|p| {
                let re = Regex::new(&p.regex).unwrap();
                (p, re)
            })
            .collect();
        for sample in samples {
            let hit = compiled.iter().any(|(p, re)| {
                re.find(sample).is_some_and(|m| {
                    m.as_str() == sample && p.valid.is_none_or(|valid| valid(m.as_str()))
                })
            });
            assert!(hit, "no standalone pattern for {sample:?}");
        }
    }

    /// English-looking filler with numbers, prices, dates and versions but no PII.
    fn prose(bytes: usize) -> String {
        const SENTENCES: &[&str] = &[
            "The quarterly report shows revenue of $1,299.99 per unit across 42 regions.",
            "Our team met on 2024-01-15 at 10:30 to review version 2.4.1 of the planner.",
            "She walked along the river, thinking about the old house and its garden.",
            "Please see order #123456789 and invoice INV-2024-000123 for the details.",
            "Token budgets matter: a secret to good prompts is keeping them short.",
            "In 1998 the library bought 3 500 books; ISBN 978-3-16-148410-0 was one.",
            "Internationalization efforts continued throughout the following decade.",
            "He said the password reset page was confusing, so they rewrote it in May.",
        ];
        let mut text = String::with_capacity(bytes + 128);
        let mut i = 0;
        while text.len() < bytes {
            text.push_str(SENTENCES[i % SENTENCES.len()]);
            text.push(if i % 5 == 4 { '\n' } else { ' ' });
            i += 1;
        }
        text
    }

    /// Median time of `runs` calls.
    fn time(runs: usize, mut f: impl FnMut()) -> std::time::Duration {
        let mut times: Vec<_> = (0..runs)
            .map(|_| {
                let t = std::time::Instant::now();
                f();
                t.elapsed()
            })
            .collect();
        times.sort();
        times[runs / 2]
    }

    /// `cargo test --release --lib -- --ignored --nocapture perf`
    #[test]
    #[ignore = "timing; run in release mode"]
    fn perf_200kb() {
        let r = redactor();
        let clean = prose(200 * 1024);
        assert_eq!(r.find(&clean), vec![]);
        let clean_time = time(50, || {
            assert!(r.redact(&clean, &mut Redactions::default()).is_none());
        });

        let values = [
            "jane.doe@example.com",
            "+44 20 7946 0958",
            "(555) 123-4567",
            "123-45-6789",
            "4111 1111 1111 1111",
            "DE89 3704 0044 0532 0130 00",
            "192.168.10.20",
            "2001:db8::8a2e:370:7334",
            "AKIAIOSFODNN7EXAMPLE",
            "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
            "password=hunter2",
            "Zq8vR2mN7xK4pL9sT3wY6bH1",
        ];
        let mut dirty = String::new();
        let chunk = prose(200 * 1024 / 36);
        for i in 0..36 {
            dirty.push_str(&chunk);
            dirty.push_str(values[i % values.len()]);
            dirty.push(' ');
        }
        let mut found_count = 0;
        let dirty_time = time(50, || {
            let mut state = Redactions::default();
            assert!(r.redact(&dirty, &mut state).is_some());
            found_count = state.count();
        });
        println!(
            "clean {} KB: {clean_time:?}; with {} PII values ({} distinct) in {} KB: {dirty_time:?}",
            clean.len() / 1024,
            36,
            found_count,
            dirty.len() / 1024
        );
        assert_eq!(found_count, values.len());
    }

    /// Property tests: generated valid values never survive, benign lookalikes always do.
    mod props {
        use super::*;
        use proptest::prelude::*;

        const FILLER: &[&str] = &[
            "the",
            "report",
            "was",
            "sent",
            "to",
            "our",
            "team",
            "yesterday",
            "with",
            "notes",
            "about",
            "pricing",
            "and",
            "delivery",
            "please",
            "check",
            "again",
            "thanks",
        ];
        const BASE62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

        fn chars(alphabet: &'static [u8], len: usize) -> impl Strategy<Value = String> {
            proptest::collection::vec(proptest::sample::select(alphabet), len)
                .prop_map(|v| String::from_utf8(v).unwrap())
        }

        fn digits(len: usize) -> impl Strategy<Value = String> {
            chars(b"0123456789", len)
        }

        /// Random base62 with at least one digit and one letter.
        fn token(len: usize) -> impl Strategy<Value = String> {
            (chars(BASE62, len - 2), 0..10u8, 0..26u8).prop_map(|(body, d, l)| {
                format!("{}{body}{}", char::from(b'a' + l), char::from(b'0' + d))
            })
        }

        fn luhn_digit(partial: &str) -> char {
            (b'0'..=b'9')
                .map(char::from)
                .find(|&d| luhn_valid(&format!("{partial}{d}")))
                .unwrap()
        }

        fn email() -> impl Strategy<Value = String> {
            (
                "[a-z]{2,8}(\\.[a-z]{2,6})?",
                "[a-z]{3,8}",
                prop::sample::select(vec!["com", "org", "io", "co.uk"]),
            )
                .prop_map(|(user, host, tld)| format!("{user}@{host}.{tld}"))
        }

        fn phone() -> impl Strategy<Value = String> {
            (digits(3), digits(3), digits(4), 0..8usize, digits(6)).prop_map(
                |(a, b, c, style, x)| {
                    let a = format!("{}{}", a.as_bytes()[0] % 8 + 2, &a[1..]);
                    match style {
                        0 => format!("({a}) {b}-{c}"),
                        1 => format!("{a}-{b}-{c}"),
                        2 => format!("{a}.{b}.{c}"),
                        3 => format!("+1 {a} {b} {c}"),
                        4 => format!("+44 20 {} {c}", &x[..4]),
                        5 => format!("+33 1 {} {} {}", &x[..2], &x[2..4], &x[4..]),
                        6 => format!("+49 30 {b}{c}"),
                        _ => format!("+91 9{} {}{}", &x[..4], &c, &b[..1]),
                    }
                },
            )
        }

        fn ssn() -> impl Strategy<Value = String> {
            (1..900u32, 1..100u32, 1..10000u32)
                .prop_filter("never issued", |(a, _, _)| *a != 666)
                .prop_map(|(a, g, s)| format!("{a:03}-{g:02}-{s:04}"))
        }

        fn card() -> impl Strategy<Value = (String, String)> {
            let prefixes = vec![
                ("4", 16),
                ("51", 16),
                ("55", 16),
                ("2221", 16),
                ("34", 15),
                ("37", 15),
                ("6011", 16),
                ("4", 13),
            ];
            (prop::sample::select(prefixes), digits(18), 0..3usize).prop_map(
                |((prefix, len), rest, style)| {
                    let partial = format!("{prefix}{}", &rest[..len - prefix.len() - 1]);
                    let number = format!("{partial}{}", luhn_digit(&partial));
                    let sep = match style {
                        0 => "",
                        1 => " ",
                        _ => "-",
                    };
                    let groups: Vec<&str> = if len == 15 {
                        vec![&number[..4], &number[4..10], &number[10..]]
                    } else {
                        number
                            .as_bytes()
                            .chunks(4)
                            .map(|c| std::str::from_utf8(c).unwrap())
                            .collect()
                    };
                    (groups.join(sep), number)
                },
            )
        }

        fn iban() -> impl Strategy<Value = String> {
            let countries = vec!["DE", "GB", "FR", "NL", "ES", "IT", "CH", "NO", "BE", "PL"];
            (
                prop::sample::select(countries),
                chars(b"0123456789", 30),
                chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4),
                any::<bool>(),
            )
                .prop_map(|(country, ds, letters, spaced)| {
                    let len = iban_length(country.as_bytes()).unwrap();
                    let bban = if matches!(country, "GB" | "NL") {
                        format!("{letters}{}", &ds[..len - 8])
                    } else {
                        ds[..len - 4].to_owned()
                    };
                    let check = 98 - mod97(&format!("{bban}{country}00"));
                    let compact = format!("{country}{check:02}{bban}");
                    if spaced {
                        compact
                            .as_bytes()
                            .chunks(4)
                            .map(|c| std::str::from_utf8(c).unwrap())
                            .collect::<Vec<_>>()
                            .join(" ")
                    } else {
                        compact
                    }
                })
        }

        fn mod97(s: &str) -> u32 {
            s.bytes().fold(0, |r, b| match b {
                b'0'..=b'9' => (r * 10 + u32::from(b - b'0')) % 97,
                _ => (r * 100 + u32::from(b - b'A') + 10) % 97,
            })
        }

        fn ip() -> impl Strategy<Value = String> {
            prop_oneof![
                (1..=255u8, any::<u8>(), any::<u8>(), 1..=254u8)
                    .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
                proptest::collection::vec(any::<u16>(), 6).prop_map(|g| {
                    let g: Vec<String> = g.iter().map(|x| format!("{x:x}")).collect();
                    format!("2001:db8:{}", g.join(":"))
                }),
                (any::<u16>(), any::<u16>()).prop_map(|(a, b)| format!("fe80::{a:x}:{b:x}:1")),
            ]
        }

        fn api_key() -> impl Strategy<Value = String> {
            prop_oneof![
                token(48).prop_map(|t| format!("sk-proj-{t}")),
                token(40).prop_map(|t| format!("sk-ant-api03-{t}")),
                chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16).prop_map(|t| format!("AKIA{t}")),
                token(36).prop_map(|t| format!("ghp_{t}")),
                (digits(12), token(24)).prop_map(|(d, t)| format!("xoxb-{d}-{t}")),
                chars(BASE62, 35).prop_map(|t| format!("AIza{t}")),
                token(24).prop_map(|t| format!("sk_live_{t}")),
                (token(20), token(30), token(43))
                    .prop_map(|(a, b, c)| format!("eyJ{a}.eyJ{b}.{c}")),
            ]
        }

        /// (value, kind, digits-only form that must not survive either)
        fn value() -> impl Strategy<Value = (String, &'static str, Option<String>)> {
            prop_oneof![
                email().prop_map(|v| (v, EMAIL, None)),
                phone().prop_map(|v| (v, PHONE, None)),
                ssn().prop_map(|v| (v, SSN, None)),
                card().prop_map(|(v, d)| (v, CREDIT_CARD, Some(d))),
                iban().prop_map(|v| (v, IBAN, None)),
                ip().prop_map(|v| (v, IP_ADDRESS, None)),
                api_key().prop_map(|v| (v, API_KEY, None)),
                (32..41usize)
                    .prop_flat_map(token)
                    .prop_map(|v| (v, SECRET, None)),
                "[a-z]{4,12}".prop_map(|v| (format!("password={v}"), SECRET, None)),
            ]
        }

        fn filler() -> impl Strategy<Value = String> {
            proptest::collection::vec(prop::sample::select(FILLER), 1..4).prop_map(|w| w.join(" "))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            #[test]
            fn generated_values_never_survive(
                parts in proptest::collection::vec((filler(), value(), prop::sample::select(vec![" ", ", ", "\n", ". "])), 1..8)
            ) {
                let mut doc = String::new();
                for (words, (v, _, _), sep) in &parts {
                    doc.push_str(words);
                    doc.push(' ');
                    doc.push_str(v);
                    doc.push_str(sep);
                }
                let mut state = Redactions::default();
                let out = redactor().redact(&doc, &mut state).unwrap();
                for (_, (v, kind, digits_only), _) in &parts {
                    let secret_part = v.strip_prefix("password=").unwrap_or(v);
                    prop_assert!(!out.contains(secret_part), "{v:?} survived in {out:?}");
                    if let Some(d) = digits_only {
                        prop_assert!(!out.contains(d.as_str()), "{d:?} survived in {out:?}");
                    }
                    let tag = format!("[REDACTED_{}_", tag(kind));
                    prop_assert!(out.contains(&tag), "no {tag} in {out:?}");
                }
                prop_assert!(state.count() <= parts.len());
                for kind in state.kinds() {
                    prop_assert!(parts.iter().any(|(_, (_, k, _), _)| *k == kind), "stray kind {kind} in {out:?}");
                }
            }

            #[test]
            fn benign_lookalikes_survive(
                parts in proptest::collection::vec((filler(), benign()), 1..8)
            ) {
                let doc: String = parts.iter().map(|(w, b)| format!("{w} {b} ")).collect();
                prop_assert_eq!(redactor().find(&doc), vec![], "in {:?}", doc);
            }
        }

        fn benign() -> impl Strategy<Value = String> {
            prop_oneof![
                (0..30u32, 0..30u32, 0..300u32).prop_map(|(a, b, c)| format!("v{a}.{b}.{c}")),
                (0..30u32, 0..30u32, 0..300u32, 0..9999u32)
                    .prop_map(|(a, b, c, d)| format!("version {a}.{b}.{c}.{d}")),
                (1990..2030u32, 1..13u32, 1..29u32)
                    .prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
                (1990..2030u32, 1..13u32, 1..29u32)
                    .prop_map(|(y, m, d)| format!("{d:02}/{m:02}/{y}")),
                (0..24u32, 0..60u32, 0..60u32)
                    .prop_map(|(h, m, s)| format!("{h:02}:{m:02}:{s:02}")),
                digits(9).prop_map(|d| format!("ISBN 978-3-{}-{}-{}", &d[..2], &d[2..8], &d[8..])),
                digits(9).prop_map(|d| format!("order #{d}")),
                (2000..2030u32, digits(6)).prop_map(|(y, d)| format!("INV-{y}-{d}")),
                card().prop_map(|(_, d)| {
                    // Break the Luhn check by changing the last digit.
                    let last = d.as_bytes()[d.len() - 1] - b'0';
                    format!("{}{}", &d[..d.len() - 1], (last + 1) % 10)
                }),
                (1..100000u32, 0..100u32).prop_map(|(a, c)| format!("${a}.{c:02}")),
                chars(b"0123456789abcdef", 40),
                chars(b"0123456789abcdef", 64),
                (
                    chars(b"0123456789abcdef", 8),
                    chars(b"0123456789abcdef", 4),
                    chars(b"0123456789abcdef", 12)
                )
                    .prop_map(|(a, b, c)| format!(
                        "{a}-{b}-4{}-a{}-{c}",
                        &b[1..],
                        &b[1..]
                    )),
            ]
        }
    }
}
