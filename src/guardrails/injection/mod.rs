//! Prompt-injection detection.
//!
//! [`InjectionDetector`] scores a prompt against weighted rule families written for the
//! normalised text produced by [`super::normalize::normalize`]: English, French, Spanish and
//! German phrasings of instruction overrides, system-prompt extraction, role/jailbreak
//! overrides and fake chat-template tags. Strong phrases weigh at least 1.0 and block on their
//! own; weak signals (a lone chat-template marker, "you must obey", "without any restrictions")
//! weigh less and only block together. Rules that describe the same signal share a *slot*, and
//! a slot contributes only its best match, so repeating a marker does not add up.
//!
//! Rules are built from word classes (override verbs x instruction nouns, extraction verbs x
//! setup nouns, jailbreak adjectives x AI nouns, notes addressed to "the AI" x imperatives)
//! rather than fixed sentences, so paraphrases of a family match too.
//!
//! Base64 and hex runs in the original text are decoded and, when they are mostly printable
//! UTF-8, normalised and scored one level deep; ROT13 and reversed text are decoded the same way
//! when their trigger words (encoded attack words) appear. A hit there keeps its own category
//! and adds `encoded_payload`.
//!
//! All matching is linear-time: one [`regex::RegexSet`] for built-in rules, one for rules from
//! config, and an Aho-Corasick automaton for configured literal phrases.
//!
//! Grey zone, decided: markup such as `<system>` or `[INST]` alone (an XML config, a question
//! about chat templates) is a weak signal and passes; it blocks only alongside another signal.

use std::borrow::Cow;

use aho_corasick::AhoCorasick;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use regex::{Regex, RegexSet, RegexSetBuilder};

use super::normalize::normalize;
use super::{CustomRule, RuleError};
use rules::builtin_rules;

/// Score at or above which a prompt is blocked unless configured otherwise.
pub const DEFAULT_THRESHOLD: f64 = 1.0;

/// Category for attempts to cancel or replace the operator's instructions.
pub const INSTRUCTION_OVERRIDE: &str = "instruction_override";
/// Category for attempts to extract the system prompt or hidden data.
pub const SYSTEM_PROMPT_LEAK: &str = "system_prompt_leak";
/// Category for jailbreak personas and "no rules" role play.
pub const ROLE_OVERRIDE: &str = "role_override";
/// Category for injected chat-template or system markup.
pub const FAKE_SYSTEM_TAG: &str = "fake_system_tag";
/// Category added when a decoded base64 payload scores.
pub const ENCODED_PAYLOAD: &str = "encoded_payload";

/// Weight added for `encoded_payload` when a decoded base64 run scores.
const ENCODED_WEIGHT: f64 = 0.5;
/// Shortest base64 run that is decoded.
const MIN_BASE64_LEN: usize = 16;
/// At most this many base64 runs are decoded per scan.
const MAX_BASE64_RUNS: usize = 32;
/// At most this many base64 characters are decoded per scan.
const MAX_BASE64_BYTES: usize = 256 * 1024;
/// A pattern with no literal prefix that never matches normalised text (which holds no NUL).
/// Its presence stops the set from using a literal prefilter: the built-in rules start with
/// frequent words ("you", "all"), so the prefilter would fire constantly and double scan time.
/// It has no entry in `RuleSet::meta`, so it could never contribute anyway.
const PREFILTER_OFF: &str = r"[^a]\x00";
/// Tolerance for floating-point sums when comparing with the threshold.
const SCORE_EPSILON: f64 = 1e-9;

/// Result of scanning one prompt.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InjectionScan {
    /// Sum of the contributions of every matched rule (slots count their best match once).
    pub score: f64,
    /// True when `score` reaches the detector's threshold.
    pub blocked: bool,
    /// Categories that contributed, highest contribution first.
    pub categories: Vec<String>,
}

impl InjectionScan {
    /// The category that contributed most, if any rule matched.
    pub fn category(&self) -> Option<&str> {
        self.categories.first().map(String::as_str)
    }
}

/// Scores prompts for injection attempts; build once, share, and call [`Self::scan`].
#[derive(Debug, Clone)]
pub struct InjectionDetector {
    threshold: f64,
    builtin: RuleSet,
    custom: Option<RuleSet>,
    phrases: Option<PhraseSet>,
    cooccur: cooccur::Scorer,
    /// Words of a text that talks about attacks rather than making one.
    meta: Regex,
}

impl InjectionDetector {
    /// Builds a detector with the built-in families plus configured literal `phrases` (matched
    /// on normalised text at word boundaries) and regex `patterns` (matched on normalised text:
    /// lowercase, accents stripped, single spaces). Each rule's `name` is its category.
    pub fn new(
        threshold: f64,
        phrases: &[CustomRule],
        patterns: &[CustomRule],
    ) -> Result<Self, RuleError> {
        if !threshold.is_finite() || threshold <= 0.0 {
            return Err(rule_error(
                "threshold",
                format!("must be a positive number, got {threshold}"),
            ));
        }
        Ok(Self {
            threshold,
            builtin: RuleSet::builtin()?,
            custom: RuleSet::custom(patterns)?,
            phrases: PhraseSet::new(phrases)?,
            cooccur: cooccur::Scorer::new(),
            meta: compile_one("attack talk", &ascii_word_boundaries(META_WORDS))?,
        })
    }

    /// The score at or above which [`InjectionScan::blocked`] is set.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Scores `text` (and any printable base64 payload inside it).
    pub fn scan(&self, text: &str) -> InjectionScan {
        let mut tally = Tally::default();
        let norm = normalize(text);
        let norm = self.without_mentions(norm);
        for decoder in self.score_normalized(&norm, &mut tally) {
            self.score_decoded(&decoder.decode(&norm), &mut tally);
        }
        self.score_base64(text, &mut tally);
        tally.into_scan(self.threshold)
    }

    /// Drops short quoted phrases from a text that talks about attacks: in "why do 'ignore
    /// previous instructions' style attacks work?" the attack is mentioned, not made.
    fn without_mentions(&self, norm: String) -> String {
        if !norm.contains('"') || !self.meta.is_match(&norm) {
            return norm;
        }
        let stripped = strip_short_quotes(&norm);
        if self.meta.is_match(&stripped) {
            stripped
        } else {
            norm
        }
    }

    /// Adds the contributions of every rule matching the normalised text; returns the
    /// decoders whose trigger words appeared.
    fn score_normalized<'a>(&'a self, norm: &str, tally: &mut Tally<'a>) -> Vec<Decoder> {
        let decoders = self.builtin.score(norm, tally);
        if let Some(custom) = &self.custom {
            custom.score(norm, tally);
        }
        if let Some(phrases) = &self.phrases {
            phrases.score(norm, tally);
        }
        for (category, weight) in self.cooccur.score(norm) {
            tally.add(category, weight);
        }
        decoders
    }

    /// Scores decoded text one level deep; a hit also adds `encoded_payload`.
    fn score_decoded<'a>(&'a self, decoded: &str, tally: &mut Tally<'a>) {
        let mut inner = Tally::default();
        self.score_normalized(&normalize(decoded), &mut inner);
        if inner.total() > 0.0 {
            tally.merge(&inner);
            tally.add(ENCODED_PAYLOAD, ENCODED_WEIGHT);
        }
    }

    /// Decodes likely base64 or hex runs of the original text and scores the printable ones.
    fn score_base64<'a>(&'a self, text: &str, tally: &mut Tally<'a>) {
        let mut budget = MAX_BASE64_BYTES;
        for run in base64_runs(text).take(MAX_BASE64_RUNS) {
            let Some(rest) = budget.checked_sub(run.len()) else {
                break;
            };
            budget = rest;
            let decoded = decode_printable_hex(run).or_else(|| decode_printable_base64(run));
            if let Some(decoded) = decoded {
                self.score_decoded(&decoded, tally);
            }
        }
    }
}

/// Words of a text about attacks (normalised: no accents). A short quoted phrase in such a
/// text is an example under discussion.
const META_WORDS: &str = r"\b(?:attacks?|injections?|jailbreaks?|jailbreaking|payloads?|exploits?|adversarial|red[ -]?team(?:ing|ers?)?|attaques?|ataques?|inyeccion(?:es)?|angriffe?|angriffs?muster)\b";
/// Longest quoted phrase, in bytes, that [`strip_short_quotes`] treats as a mention.
const MAX_MENTION_BYTES: usize = 80;
/// Most spaces inside a quoted phrase treated as a mention (eight words).
const MAX_MENTION_SPACES: usize = 7;

/// Removes the text between pairs of double quotes when it is short (a mention); longer
/// quoted text is kept, so a full payload inside quotes still scores.
fn strip_short_quotes(norm: &str) -> String {
    let mut out = String::with_capacity(norm.len());
    let mut rest = norm;
    while let Some(open) = rest.find('"') {
        let (before, after) = rest.split_at(open + 1);
        out.push_str(before);
        let Some(close) = after.find('"') else {
            rest = after;
            break;
        };
        let inner = after.get(..close).unwrap_or_default();
        let short = inner.len() <= MAX_MENTION_BYTES
            && inner.bytes().filter(|&b| b == b' ').count() <= MAX_MENTION_SPACES;
        if !short {
            out.push_str(inner);
        }
        out.push('"');
        rest = after.get(close + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// Builds a [`RuleError`].
fn rule_error(name: &str, reason: impl Into<String>) -> RuleError {
    RuleError {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

/// Compiles one regex, naming the rule in the error.
fn compile_one(name: &str, pattern: &str) -> Result<Regex, RuleError> {
    Regex::new(pattern).map_err(|err| rule_error(name, err.to_string()))
}

/// Checks that a configured weight is usable.
fn check_weight(rule: &CustomRule) -> Result<(), RuleError> {
    if rule.weight.is_finite() && rule.weight > 0.0 {
        Ok(())
    } else {
        Err(rule_error(
            &rule.name,
            format!("weight must be a positive number, got {}", rule.weight),
        ))
    }
}

/// Bytes of the standard and URL-safe base64 alphabets.
fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

/// Runs of at least [`MIN_BASE64_LEN`] base64 characters, with up to two `=` of padding.
fn base64_runs(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    std::iter::from_fn(move || {
        while pos < bytes.len() {
            let start = pos + bytes[pos..].iter().position(|&b| is_base64_byte(b))?;
            let body_end = bytes[start..]
                .iter()
                .position(|&b| !is_base64_byte(b))
                .map_or(bytes.len(), |p| start + p);
            let padding = bytes[body_end..]
                .iter()
                .take(2)
                .take_while(|&&b| b == b'=')
                .count();
            pos = body_end + padding;
            if body_end - start >= MIN_BASE64_LEN {
                return text.get(start..pos);
            }
        }
        None
    })
}

/// Decodes a base64 run (standard or URL-safe, padding optional) when the result is mostly
/// printable UTF-8 text.
fn decode_printable_base64(run: &str) -> Option<String> {
    let body = run.trim_end_matches('=');
    let url_safe = body.contains(['-', '_']);
    if url_safe && body.contains(['+', '/']) {
        return None;
    }
    let engine = if url_safe {
        &URL_SAFE_NO_PAD
    } else {
        &STANDARD_NO_PAD
    };
    let bytes = engine.decode(body).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    is_mostly_printable(&text).then_some(text)
}

/// Decodes a run of hex digit pairs when the result is mostly printable UTF-8 text.
fn decode_printable_hex(run: &str) -> Option<String> {
    let bytes = run.as_bytes();
    if !bytes.len().is_multiple_of(2) || !bytes.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let nibble = |b: u8| (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let decoded = bytes
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect::<Option<Vec<u8>>>()?;
    let text = String::from_utf8(decoded).ok()?;
    is_mostly_printable(&text).then_some(text)
}

/// A cheap obfuscation recognised by trigger words in the normalised text, then undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decoder {
    /// Letters rotated by 13 ("vtaber" for "ignore").
    Rot13,
    /// Text written backwards ("erongi" for "ignore").
    Reversed,
}

impl Decoder {
    fn decode(self, norm: &str) -> String {
        match self {
            Self::Rot13 => norm
                .chars()
                .map(|c| match c {
                    'a'..='m' | 'A'..='M' => char::from(c as u8 + 13),
                    'n'..='z' | 'N'..='Z' => char::from(c as u8 - 13),
                    other => other,
                })
                .collect(),
            Self::Reversed => norm.chars().rev().collect(),
        }
    }
}

/// Trigger words of each [`Decoder`]: key attack words in their encoded form, which do not
/// occur in ordinary text. They add no score; they only cause a second, decoded scan.
const DECODER_TRIGGERS: [(Decoder, &str); 2] = [
    (
        Decoder::Rot13,
        r"\b(?:vtaber|qvfertneq|sbetrg|bireevqr|olcnff|erirny|vafgehpgvbaf?|thvqryvarf|ehyrf|flfgrz|cebzcg|erfgevpgvbaf|cerivbhf|cnffjbeq)\b",
    ),
    (
        Decoder::Reversed,
        r"\b(?:erongi|dragersid|tegrof|edirrevo|ssapyb|snoitcurtsni|senildiug|selur|tpmorp|laever|snoitcirtser|suoiverp)\b",
    ),
];

/// True when at least 90% of the characters are printable and some are letters.
fn is_mostly_printable(text: &str) -> bool {
    let (mut total, mut unprintable, mut letters) = (0usize, 0usize, 0usize);
    for c in text.chars() {
        total += 1;
        if c.is_control() && !c.is_whitespace() {
            unprintable += 1;
        } else if c.is_alphabetic() {
            letters += 1;
        }
    }
    total > 0 && unprintable * 10 <= total && letters * 2 >= total
}

/// Per-scan accumulator of contributions by category.
#[derive(Debug, Default)]
struct Tally<'a> {
    items: Vec<(&'a str, f64)>,
}

impl<'a> Tally<'a> {
    fn add(&mut self, category: &'a str, weight: f64) {
        match self.items.iter_mut().find(|(name, _)| *name == category) {
            Some((_, sum)) => *sum += weight,
            None => self.items.push((category, weight)),
        }
    }

    fn merge(&mut self, other: &Tally<'a>) {
        for &(category, weight) in &other.items {
            self.add(category, weight);
        }
    }

    fn total(&self) -> f64 {
        self.items.iter().map(|(_, weight)| weight).sum()
    }

    fn into_scan(mut self, threshold: f64) -> InjectionScan {
        self.items
            .sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let score = self.total();
        InjectionScan {
            score,
            blocked: score + SCORE_EPSILON >= threshold,
            categories: self
                .items
                .iter()
                .map(|(name, _)| (*name).to_owned())
                .collect(),
        }
    }
}

/// How one regex of a [`RuleSet`] contributes.
#[derive(Debug, Clone)]
struct RuleMeta {
    category: Cow<'static, str>,
    weight: f64,
    slot: Option<usize>,
}

/// A compiled set of weighted regexes matched in one pass.
#[derive(Debug, Clone)]
struct RuleSet {
    set: RegexSet,
    meta: Vec<RuleMeta>,
    /// Category of each slot; a slot contributes the best weight among its matched rules.
    slots: Vec<Cow<'static, str>>,
    /// Decoders whose trigger patterns follow the rules in `set`.
    decoders: Vec<Decoder>,
}

impl RuleSet {
    /// Compiles the built-in families.
    fn builtin() -> Result<Self, RuleError> {
        let rules = builtin_rules();
        // Larger lazy-DFA cache: the set has many bounded word gaps.
        let mut slot_names: Vec<&str> = Vec::new();
        let mut slots = Vec::new();
        let mut meta = Vec::with_capacity(rules.len());
        for rule in &rules {
            let slot = rule.slot.map(|name| {
                slot_names
                    .iter()
                    .position(|n| *n == name)
                    .unwrap_or_else(|| {
                        slot_names.push(name);
                        slots.push(Cow::Borrowed(rule.category));
                        slot_names.len() - 1
                    })
            });
            meta.push(RuleMeta {
                category: Cow::Borrowed(rule.category),
                weight: rule.weight,
                slot,
            });
        }
        let patterns = rules
            .iter()
            .map(|rule| ascii_word_boundaries(&rule.pattern))
            .chain(
                DECODER_TRIGGERS
                    .iter()
                    .map(|(_, p)| ascii_word_boundaries(p)),
            )
            .chain([PREFILTER_OFF.to_owned()]);
        let set = RegexSetBuilder::new(patterns)
            .size_limit(64 * 1024 * 1024)
            .dfa_size_limit(32 * 1024 * 1024)
            .build()
            .map_err(|err| rule_error("built-in injection rules", err.to_string()))?;
        let decoders = DECODER_TRIGGERS.iter().map(|(d, _)| *d).collect();
        Ok(Self {
            set,
            meta,
            slots,
            decoders,
        })
    }

    /// Compiles configured regexes; `None` when there are none.
    fn custom(rules: &[CustomRule]) -> Result<Option<Self>, RuleError> {
        if rules.is_empty() {
            return Ok(None);
        }
        for rule in rules {
            check_weight(rule)?;
            compile_one(&rule.name, &rule.pattern)?;
        }
        let set = RegexSet::new(rules.iter().map(|rule| rule.pattern.as_str()))
            .map_err(|err| rule_error("injection patterns", err.to_string()))?;
        let meta = rules
            .iter()
            .map(|rule| RuleMeta {
                category: Cow::Owned(rule.name.clone()),
                weight: rule.weight,
                slot: None,
            })
            .collect();
        Ok(Some(Self {
            set,
            meta,
            slots: Vec::new(),
            decoders: Vec::new(),
        }))
    }

    /// Adds matched rules to `tally` and returns the decoders whose triggers matched.
    fn score<'a>(&'a self, norm: &str, tally: &mut Tally<'a>) -> Vec<Decoder> {
        let mut slot_best = vec![0.0_f64; self.slots.len()];
        let mut decoders = Vec::new();
        for index in self.set.matches(norm).iter() {
            let Some(rule) = self.meta.get(index) else {
                if let Some(decoder) = index
                    .checked_sub(self.meta.len())
                    .and_then(|i| self.decoders.get(i))
                {
                    decoders.push(*decoder);
                }
                continue;
            };
            match rule.slot.and_then(|slot| slot_best.get_mut(slot)) {
                Some(best) => *best = best.max(rule.weight),
                None => tally.add(&rule.category, rule.weight),
            }
        }
        for (category, best) in self.slots.iter().zip(slot_best) {
            if best > 0.0 {
                tally.add(category, best);
            }
        }
        decoders
    }
}

/// Rewrites `\b` as an ASCII word boundary so the lazy DFA never has to give up on
/// non-ASCII input (normalised text is mostly ASCII; the rules only use ASCII words).
fn ascii_word_boundaries(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)")
}

/// Configured literal phrases, matched on normalised text at word boundaries.
#[derive(Debug, Clone)]
struct PhraseSet {
    automaton: AhoCorasick,
    rules: Vec<(String, f64)>,
}

impl PhraseSet {
    fn new(rules: &[CustomRule]) -> Result<Option<Self>, RuleError> {
        if rules.is_empty() {
            return Ok(None);
        }
        let mut needles = Vec::with_capacity(rules.len());
        for rule in rules {
            check_weight(rule)?;
            let needle = normalize(&rule.pattern);
            if needle.is_empty() {
                return Err(rule_error(
                    &rule.name,
                    "phrase is empty after normalisation",
                ));
            }
            needles.push(needle);
        }
        let automaton = AhoCorasick::new(&needles)
            .map_err(|err| rule_error("injection phrases", err.to_string()))?;
        let rules = rules
            .iter()
            .map(|rule| (rule.name.clone(), rule.weight))
            .collect();
        Ok(Some(Self { automaton, rules }))
    }

    fn score<'a>(&'a self, norm: &str, tally: &mut Tally<'a>) {
        let mut seen = vec![false; self.rules.len()];
        let bytes = norm.as_bytes();
        for found in self.automaton.find_overlapping_iter(norm) {
            let index = found.pattern().as_usize();
            let at_boundary = !ends_in_word(bytes, found.start(), found.end());
            if let (Some(false), true) = (seen.get(index).copied(), at_boundary) {
                seen[index] = true;
                if let Some((name, weight)) = self.rules.get(index) {
                    tally.add(name, *weight);
                }
            }
        }
    }
}

/// True when the match `start..end` is glued to a letter or digit on either side.
fn ends_in_word(bytes: &[u8], start: usize, end: usize) -> bool {
    let glued = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    let before = start.checked_sub(1).and_then(|i| bytes.get(i));
    let first = bytes.get(start);
    let last = end.checked_sub(1).and_then(|i| bytes.get(i));
    (glued(before) && glued(first)) || (glued(bytes.get(end)) && glued(last))
}

mod cooccur;
mod rules;

#[cfg(test)]
mod tests;
