//! Unsafe-output rules and a streaming-aware scanner.
//!
//! [`OutputRules`] holds the built-in families of unsafe content (destructive SQL and shell
//! commands, world-writable permissions, dynamic code execution, piping a download into a shell)
//! plus any extra named patterns the caller adds (PII, secrets, custom rules).
//!
//! [`StreamScanner`] checks one streamed answer chunk by chunk. It releases text as early as
//! possible and holds back only the suffix that could still become the beginning of a match:
//!
//! * Every pattern is also compiled, with its word-boundary assertions removed, into one lazy DFA
//!   (`regex_automata::hybrid`, match kind *all*, anchored). That language is a superset of the
//!   real one, so "the DFA is dead from position `p`" proves that no match can start at `p`.
//! * The scanner keeps, for each start position that is still alive, the DFA state reached after
//!   the bytes received so far. A new chunk advances these states and opens a start at each new
//!   character boundary whose first byte can begin a match. Text before the earliest live start is
//!   released; live starts older than [`HOLDBACK_WINDOW`] bytes are given up (see below).
//! * When the DFA reports a possible match, the real regexes (with their validators) confirm it on
//!   the held text. A confirmed match is reported as soon as its end is settled: a byte after it
//!   has arrived, or the automaton proves that no continuation could change it, or the stream ends.
//!   Until then it is held back, never released.
//!
//! Limits: a match longer than the window cannot be held back; once a live start is given up the
//! scanner keeps the text from there on and checks it as a whole at [`StreamScanner::finish`],
//! which then reports the violation although part of it was already released.

use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

use regex::{Regex, RegexSet};
use regex_automata::hybrid::LazyStateID;
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson::NFA;
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};

use super::{NamedPattern, RuleError};

/// How far back (in bytes) a live match start may lie before the scanner gives it up and releases it.
pub const HOLDBACK_WINDOW: usize = 512;

/// Warm DFA caches kept for reuse by later scanners.
const CACHE_POOL_SIZE: usize = 32;

/// Characters that may end a shell word (used after a dangerous target or mode).
const SHELL_END: &str = r#"(?:[\s;&|)'"`]|$)"#;
/// A SQL identifier, possibly qualified or quoted.
const SQL_NAME: &str = r#"[\w.\[\]"`]+"#;

/// A violation: the name of the rule that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rule: String,
}

/// One compiled rule.
struct Rule {
    name: String,
    regex: Regex,
    valid: Option<fn(&str) -> bool>,
    /// The pattern has an assertion that looks past the end of the match (`$`, `\z`, a trailing
    /// word boundary): a match ending at the end of the received text is not settled yet.
    end_sensitive: bool,
}

impl Rule {
    fn accepts(&self, text: &str) -> bool {
        self.valid.is_none_or(|valid| valid(text))
    }
}

/// The compiled unsafe-output rules, shared by all scanners.
pub struct OutputRules {
    rules: Vec<Rule>,
    set: RegexSet,
    dfa: DFA,
    /// Bytes that can begin a match after some look-behind.
    first_bytes: [bool; 256],
    caches: Mutex<Vec<Cache>>,
}

impl fmt::Debug for OutputRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.rules.iter().map(|r| r.name.as_str()).collect();
        f.debug_struct("OutputRules")
            .field("rules", &names)
            .finish()
    }
}

impl OutputRules {
    /// Built-in unsafe-content families plus `extra` named patterns (the caller adds the PII and
    /// secret detectors and the config's custom rules).
    pub fn new(extra: Vec<NamedPattern>) -> Result<Self, RuleError> {
        let patterns: Vec<NamedPattern> =
            Self::builtin_patterns().into_iter().chain(extra).collect();
        let mut rules = Vec::with_capacity(patterns.len());
        let mut holdback = Vec::with_capacity(patterns.len());
        for p in &patterns {
            let (form, end_sensitive) = holdback_form(&p.regex);
            rules.push(compile_rule(p, end_sensitive)?);
            holdback.push(form);
        }
        let sources: Vec<&str> = patterns.iter().map(|p| p.regex.as_str()).collect();
        let set = RegexSet::new(&sources).map_err(|e| rule_error("output rules", e))?;
        let dfa = build_dfa(&holdback).map_err(|e| blame_pattern(&patterns, &holdback, e))?;
        let mut cache = dfa.create_cache();
        let first_bytes = first_bytes(&dfa, &mut cache);
        Ok(OutputRules {
            rules,
            set,
            dfa,
            first_bytes,
            caches: Mutex::new(vec![cache]),
        })
    }

    /// The built-in families alone.
    pub fn builtin_patterns() -> Vec<NamedPattern> {
        let sql_list = format!(r"{SQL_NAME}(?:\s*,\s*{SQL_NAME})*");
        let shell = r"(?:ba|z|k|da)?sh";
        let disk = r"/dev/(?:sd|hd|vd|xvd|nvme|mmcblk|disk)";
        let rm_flags = r"(?:-[a-zA-Z]*(?:[rR][a-zA-Z]*f|f[a-zA-Z]*[rR])[a-zA-Z]*|-[rR]\s+-f|-f\s+-[rR]|--recursive\s+--force|--force\s+--recursive)";
        let rm_target = r#"(?:/\*?|~/?\*?|\*|"?\$HOME"?/?\*?)"#;
        let family = |name: &str, regex: String| NamedPattern {
            name: name.to_owned(),
            regex,
            valid: None,
        };
        vec![
            // DROP/TRUNCATE of a named object, ended like a statement (`;`, a quote, a line break).
            family(
                "destructive_sql",
                format!(
                    r#"(?i)\b(?:drop\s+(?:table|database|schema)|truncate\s+table)(?:\s+if\s+exists)?\s+{sql_list}(?:\s+(?:cascade|restrict))?\s*(?:[;'"`]|\r?\n|$)"#
                ),
            ),
            // DELETE FROM a table directly followed by the end of the statement: no WHERE clause.
            family(
                "destructive_sql",
                format!(r#"(?i)\bdelete\s+from\s+{SQL_NAME}\s*(?:[;'"`]|$)"#),
            ),
            family(
                "destructive_shell",
                format!(
                    r"\brm\s+(?:-{{1,2}}[\w-]+\s+)*{rm_flags}(?:\s+-{{1,2}}[\w-]+)*\s+{rm_target}{SHELL_END}"
                ),
            ),
            family(
                "destructive_shell",
                r"\bmkfs(?:\.\w+)?\s[^\n;|&]{0,100}/dev/\w".to_owned(),
            ),
            family(
                "destructive_shell",
                format!(
                    r"\bdd\s(?:[^\n;|&]{{0,100}}\s)?(?:if=/dev/(?:zero|u?random)\s(?:[^\n;|&]{{0,100}}\s)?of={disk}|of={disk}\w*\s(?:[^\n;|&]{{0,100}}\s)?if=/dev/(?:zero|u?random))"
                ),
            ),
            family(
                "destructive_shell",
                r":\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:".to_owned(),
            ),
            family(
                "insecure_permissions",
                format!(r"\bchmod\s+(?:-[a-zA-Z]+\s+)*(?:0?777|(?:a|ugo)\+rwx){SHELL_END}"),
            ),
            // A call with an argument: `model.eval()` (no argument) stays allowed.
            family(
                "code_execution",
                r"\b(?:exec|eval|__import__|os\.system|os\.popen)\s*\(\s*[^\s)]".to_owned(),
            ),
            family(
                "code_execution",
                r"\bsubprocess\.\w+\s*\([^\n]{0,200}shell\s*=\s*True".to_owned(),
            ),
            family(
                "pipe_to_shell",
                format!(
                    r"\b(?:curl|wget)\s[^\n|]{{0,200}}\|\s*(?:sudo\s+(?:-\S+\s+)*)?{shell}{SHELL_END}"
                ),
            ),
            family(
                "pipe_to_shell",
                format!(r"\|\s*sudo\s+(?:-\S+\s+)*{shell}{SHELL_END}"),
            ),
        ]
    }

    /// First violation in a whole text: the pattern's name.
    pub fn check(&self, text: &str) -> Option<String> {
        self.first_violation(text, 0, |_, _| true)
            .map(|index| self.rules[index].name.clone())
    }

    /// A scanner for one streamed answer.
    pub fn scanner(self: &Arc<Self>) -> StreamScanner {
        let cache = self
            .caches
            .lock()
            .pop()
            .unwrap_or_else(|| self.dfa.create_cache());
        StreamScanner {
            clears: cache.clear_count(),
            rules: Arc::clone(self),
            cache: Some(cache),
            buf: String::new(),
            ctx: 0,
            live: Vec::new(),
            spill: None,
            failed: None,
        }
    }

    /// Index of the rule with the earliest valid match starting at or after `from` (ties go to the
    /// earlier rule), among the matches that `settled` accepts.
    fn first_violation(
        &self,
        hay: &str,
        from: usize,
        mut settled: impl FnMut(&Rule, &regex::Match<'_>) -> bool,
    ) -> Option<usize> {
        let mut best: Option<(usize, usize)> = None;
        for index in self.set.matches_at(hay, from).iter() {
            let rule = &self.rules[index];
            let mut at = from;
            while let Some(m) = rule.regex.find_at(hay, at) {
                if best.is_some_and(|(start, _)| start <= m.start()) {
                    break;
                }
                if rule.accepts(m.as_str()) && settled(rule, &m) {
                    best = Some((m.start(), index));
                    break;
                }
                at = next_search_start(hay, &m);
            }
        }
        best.map(|(_, index)| index)
    }

    fn return_cache(&self, cache: Cache) {
        let mut pool = self.caches.lock();
        if pool.len() < CACHE_POOL_SIZE {
            pool.push(cache);
        }
    }
}

/// Where to resume a leftmost-first search after `m` (one character on for an empty match).
fn next_search_start(hay: &str, m: &regex::Match<'_>) -> usize {
    if m.end() > m.start() {
        return m.end();
    }
    hay[m.end()..]
        .chars()
        .next()
        .map_or(hay.len() + 1, |c| m.end() + c.len_utf8())
}

fn rule_error(name: &str, reason: impl fmt::Display) -> RuleError {
    RuleError {
        name: name.to_owned(),
        reason: reason.to_string(),
    }
}

fn compile_rule(p: &NamedPattern, end_sensitive: bool) -> Result<Rule, RuleError> {
    let regex = Regex::new(&p.regex).map_err(|e| rule_error(&p.name, e))?;
    let nfa = NFA::new(&p.regex).map_err(|e| rule_error(&p.name, e))?;
    if nfa.has_empty() {
        return Err(rule_error(&p.name, "the pattern matches the empty string"));
    }
    Ok(Rule {
        name: p.name.clone(),
        regex,
        valid: p.valid,
        end_sensitive,
    })
}

/// The holdback automaton; the error is the builder's message.
fn build_dfa(patterns: &[String]) -> Result<DFA, String> {
    DFA::builder()
        .configure(
            DFA::config()
                .match_kind(MatchKind::All)
                .unicode_word_boundary(true),
        )
        .build_many(patterns)
        .map_err(|e| e.to_string())
}

/// Names the first pattern whose holdback form does not build on its own.
fn blame_pattern(patterns: &[NamedPattern], holdback: &[String], err: String) -> RuleError {
    patterns
        .iter()
        .zip(holdback)
        .find_map(|(p, form)| {
            build_dfa(std::slice::from_ref(form))
                .err()
                .map(|e| rule_error(&p.name, e))
        })
        .unwrap_or_else(|| rule_error("output rules", err))
}

/// Bytes for which some start state does not die at once: only these positions need a walk.
fn first_bytes(dfa: &DFA, cache: &mut Cache) -> [bool; 256] {
    let mut first = [false; 256];
    let mut starts = Vec::new();
    for behind in std::iter::once(None).chain((0..=u8::MAX).map(Some)) {
        let config = start::Config::new()
            .anchored(Anchored::Yes)
            .look_behind(behind);
        match dfa.start_state(cache, &config) {
            Ok(sid) if !starts.contains(&sid) => starts.push(sid),
            Ok(_) => {}
            Err(_) => return [true; 256],
        }
    }
    for sid in starts {
        for byte in 0..=u8::MAX {
            match dfa.next_state(cache, sid, byte) {
                Ok(next) if next.is_dead() => {}
                _ => first[usize::from(byte)] = true,
            }
        }
    }
    first
}

/// The pattern used for holdback — word-boundary assertions (`\b`, `\B`, `\b{..}`, `\<`, `\>`)
/// removed, which only enlarges the language — and whether the pattern looks past a match's end
/// (`$`, `\z`, or a word boundary that is not at its very start).
fn holdback_form(pattern: &str) -> (String, bool) {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len());
    let mut end_sensitive = false;
    let mut leading = true;
    let mut class_depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&next) = chars.get(i + 1) else {
                out.push(c);
                break;
            };
            if class_depth == 0 && matches!(next, 'b' | 'B' | '<' | '>') {
                i = skip_word_boundary(&chars, i);
                out.push_str("(?:)");
                end_sensitive |= !leading;
                continue;
            }
            if class_depth == 0 {
                end_sensitive |= next == 'z';
                leading &= next == 'A';
            }
            out.push(c);
            out.push(next);
            i += 2;
            continue;
        }
        if class_depth > 0 {
            match c {
                '[' => class_depth += 1,
                ']' => class_depth -= 1,
                _ => {}
            }
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '[' => {
                class_depth = 1;
                leading = false;
                out.push(c);
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    out.push(']');
                    i += 1;
                }
                continue;
            }
            '$' => {
                end_sensitive = true;
                leading = false;
            }
            '^' => {}
            '(' => {
                if let Some(len) = flag_group_len(&chars[i..]) {
                    out.extend(&chars[i..i + len]);
                    i += len;
                    continue;
                }
                leading = false;
            }
            _ => leading = false,
        }
        out.push(c);
        i += 1;
    }
    (out, end_sensitive)
}

/// Index just past the word-boundary escape starting at `i` (`\b`, `\B`, `\<`, `\>`, `\b{..}`).
fn skip_word_boundary(chars: &[char], i: usize) -> usize {
    let mut j = i + 2;
    if chars.get(i + 1) == Some(&'b') && chars.get(j) == Some(&'{') {
        while j < chars.len() && chars[j] != '}' {
            j += 1;
        }
        j += 1;
    }
    j
}

/// Length of the bare inline flag group such as `(?i)` or `(?m-s)` at the start of `rest`, if any.
fn flag_group_len(rest: &[char]) -> Option<usize> {
    if rest.get(1) != Some(&'?') {
        return None;
    }
    for (i, &c) in rest.iter().enumerate().skip(2) {
        match c {
            ')' => return Some(i + 1),
            c if c.is_ascii_alphabetic() || c == '-' => {}
            _ => return None,
        }
    }
    None
}

/// A start position that can still begin a match.
#[derive(Debug, Clone, Copy)]
struct Live {
    /// Offset in the scanner's buffer.
    start: usize,
    /// DFA state after all received bytes; `None` if the DFA failed (then it is held conservatively).
    state: Option<LazyStateID>,
}

/// Outcome of walking the DFA over some bytes.
struct Walk {
    state: Option<LazyStateID>,
    dead: bool,
    saw_match: bool,
}

/// A scanner for one streamed answer; see the module docs for how holdback works.
pub struct StreamScanner {
    rules: Arc<OutputRules>,
    /// Always `Some` until the scanner is dropped, when it goes back to the pool.
    cache: Option<Cache>,
    /// The cache's clear count when the live states were last computed.
    clears: usize,
    /// The last released character (look-behind context) followed by the held text.
    buf: String,
    /// Length of the look-behind context at the front of `buf`.
    ctx: usize,
    /// Live starts, in increasing order.
    live: Vec<Live>,
    /// Text kept from the first start given up at the window limit, for a final whole check.
    spill: Option<String>,
    failed: Option<Violation>,
}

impl fmt::Debug for StreamScanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamScanner")
            .field("held", &self.held())
            .field("live", &self.live.len())
            .field("failed", &self.failed)
            .finish()
    }
}

impl Drop for StreamScanner {
    fn drop(&mut self) {
        if let Some(cache) = self.cache.take() {
            self.rules.return_cache(cache);
        }
    }
}

impl StreamScanner {
    /// Adds a chunk. Returns the text that is now safe to release (possibly empty), or the violation.
    ///
    /// After a violation every later call returns it again.
    pub fn push(&mut self, chunk: &str) -> Result<String, Violation> {
        if let Some(v) = &self.failed {
            return Err(v.clone());
        }
        if self.clear_count() != self.clears {
            self.rewalk();
        }
        let old_len = self.buf.len();
        self.buf.push_str(chunk);
        let mut maybe_match = self.advance_live(old_len);
        maybe_match |= self.open_starts(old_len);
        maybe_match |= self.live_match_at_end();
        self.clears = self.clear_count();
        if maybe_match {
            self.confirm(false)?;
        }
        Ok(self.release())
    }

    /// End of stream: checks what is held back and releases it, or reports the violation.
    ///
    /// The scanner is then empty; a later `push` starts a new text.
    pub fn finish(&mut self) -> Result<String, Violation> {
        if let Some(v) = &self.failed {
            return Err(v.clone());
        }
        self.confirm(true)?;
        if let Some(mut spill) = self.spill.take() {
            spill.push_str(&self.buf[self.ctx..]);
            if let Some(rule) = self.rules.check(&spill) {
                return Err(self.fail(rule));
            }
        }
        let out = self.buf.split_off(self.ctx);
        self.buf.clear();
        self.ctx = 0;
        self.live.clear();
        Ok(out)
    }

    /// Bytes currently held back.
    pub fn held(&self) -> usize {
        self.buf.len() - self.ctx
    }

    fn clear_count(&self) -> usize {
        self.cache.as_ref().map_or(0, Cache::clear_count)
    }

    fn fail(&mut self, rule: String) -> Violation {
        let v = Violation { rule };
        self.failed = Some(v.clone());
        v
    }

    /// Walks the DFA from `from` over `buf[from..]`, starting in `state`.
    fn walk(&mut self, state: LazyStateID, from: usize) -> Walk {
        let dfa = &self.rules.dfa;
        let Some(cache) = self.cache.as_mut() else {
            return Walk::unknown();
        };
        let mut sid = state;
        let mut saw_match = false;
        for &byte in &self.buf.as_bytes()[from..] {
            sid = match dfa.next_state(cache, sid, byte) {
                Ok(next) if !next.is_quit() => next,
                _ => return Walk::unknown(),
            };
            saw_match |= sid.is_match();
            if sid.is_dead() {
                return Walk {
                    state: None,
                    dead: true,
                    saw_match,
                };
            }
        }
        Walk {
            state: Some(sid),
            dead: false,
            saw_match,
        }
    }

    /// The anchored start state for a match beginning at `at` in `buf`.
    fn start_state(&mut self, at: usize) -> Option<LazyStateID> {
        let behind = at.checked_sub(1).map(|i| self.buf.as_bytes()[i]);
        let config = start::Config::new()
            .anchored(Anchored::Yes)
            .look_behind(behind);
        let cache = self.cache.as_mut()?;
        self.rules.dfa.start_state(cache, &config).ok()
    }

    /// Advances the live starts over the bytes from `from`; drops the dead ones.
    /// Returns whether a DFA match was seen.
    fn advance_live(&mut self, from: usize) -> bool {
        let mut saw_match = false;
        let mut live = std::mem::take(&mut self.live);
        live.retain_mut(|entry| {
            let Some(state) = entry.state else {
                saw_match = true;
                return true;
            };
            let walk = self.walk(state, from);
            saw_match |= walk.saw_match;
            entry.state = walk.state;
            !walk.dead
        });
        self.live = live;
        saw_match
    }

    /// Opens a start at each character boundary from `from` whose byte can begin a match.
    /// Returns whether a DFA match was seen.
    fn open_starts(&mut self, from: usize) -> bool {
        let mut saw_match = false;
        for at in from..self.buf.len() {
            let byte = self.buf.as_bytes()[at];
            if !self.rules.first_bytes[usize::from(byte)] || !self.buf.is_char_boundary(at) {
                continue;
            }
            let walk = match self.start_state(at) {
                Some(state) => self.walk(state, at),
                None => Walk::unknown(),
            };
            saw_match |= walk.saw_match;
            if !walk.dead {
                self.live.push(Live {
                    start: at,
                    state: walk.state,
                });
            }
        }
        saw_match
    }

    /// Whether some live start would match if the text ended here.
    fn live_match_at_end(&mut self) -> bool {
        let dfa = &self.rules.dfa;
        let Some(cache) = self.cache.as_mut() else {
            return true;
        };
        self.live.iter().any(|entry| match entry.state {
            Some(state) => dfa
                .next_eoi_state(cache, state)
                .map_or(true, |eoi| eoi.is_match()),
            None => true,
        })
    }

    /// Recomputes the live states after the DFA cache was cleared (old state ids are stale).
    fn rewalk(&mut self) {
        let mut live = std::mem::take(&mut self.live);
        for entry in &mut live {
            entry.state = match self.start_state(entry.start) {
                Some(state) => self.walk(state, entry.start).state,
                None => None,
            };
        }
        self.live = live;
    }

    /// Runs the real rules over the held text; fails on a valid match whose end is settled.
    fn confirm(&mut self, at_end: bool) -> Result<(), Violation> {
        let rules = Arc::clone(&self.rules);
        let hay_len = self.buf.len();
        let from = self.ctx;
        let buf = std::mem::take(&mut self.buf);
        let found = rules.first_violation(&buf, from, |rule, m| {
            at_end || m.end() < hay_len || !rule.end_sensitive && self.settled_at_end(m.start())
        });
        self.buf = buf;
        match found {
            Some(index) => Err(self.fail(rules.rules[index].name.clone())),
            None => Ok(()),
        }
    }

    /// Whether no continuation of the text could extend a match from the live start `start`:
    /// every path two bytes on is dead and none matches at the end of input one byte on.
    fn settled_at_end(&mut self, start: usize) -> bool {
        let Some(state) = self
            .live
            .iter()
            .find(|entry| entry.start == start)
            .and_then(|entry| entry.state)
        else {
            return false;
        };
        let dfa = &self.rules.dfa;
        let Some(cache) = self.cache.as_mut() else {
            return false;
        };
        let classes = dfa.byte_classes();
        for b in classes.representatives(..).filter_map(|u| u.as_u8()) {
            let Ok(next) = dfa.next_state(cache, state, b) else {
                return false;
            };
            if next.is_dead() {
                continue;
            }
            match dfa.next_eoi_state(cache, next) {
                Ok(eoi) if !eoi.is_match() => {}
                _ => return false,
            }
            for c in classes.representatives(..).filter_map(|u| u.as_u8()) {
                match dfa.next_state(cache, next, c) {
                    Ok(after) if after.is_dead() => {}
                    _ => return false,
                }
            }
        }
        true
    }

    /// Releases everything before the earliest live start (or before the window limit).
    fn release(&mut self) -> String {
        let limit = floor_char_boundary(&self.buf, self.buf.len().saturating_sub(HOLDBACK_WINDOW));
        let limit = limit.max(self.ctx);
        if self.live.first().is_some_and(|entry| entry.start < limit) {
            self.live.retain(|entry| entry.start >= limit);
            self.spill.get_or_insert_with(String::new);
        }
        let cut = self
            .live
            .first()
            .map_or(self.buf.len(), |entry| entry.start);
        let released = self.buf[self.ctx..cut].to_owned();
        if let Some(spill) = &mut self.spill {
            spill.push_str(&released);
        }
        let keep_from = if cut > 0 {
            floor_char_boundary(&self.buf, cut - 1)
        } else {
            0
        };
        self.buf.drain(..keep_from);
        self.ctx = cut - keep_from;
        for entry in &mut self.live {
            entry.start -= keep_from;
        }
        released
    }
}

impl Walk {
    fn unknown() -> Walk {
        Walk {
            state: None,
            dead: false,
            saw_match: true,
        }
    }
}

/// The largest character boundary of `s` at or below `at`.
fn floor_char_boundary(s: &str, at: usize) -> usize {
    let mut at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests;
