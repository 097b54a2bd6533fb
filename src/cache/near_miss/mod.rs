//! Second check for semantic-cache hits: do two similar-looking queries ask the same thing?
//!
//! Embedding similarity puts "capital of France" next to "capital of Germany". Before a
//! cached answer is served, [`check`] compares the two queries word by word and reports the
//! first difference that would change the answer:
//!
//! 1. numbers ("15% of 80" / "15% of 90"; digits, number words, ordinals, roman numerals);
//! 2. negation present on one side only ("with eggs" / "without eggs");
//! 3. opposite words ("encode" / "decode", "cheapest" / "most expensive");
//! 4. reversed direction ("Celsius to Fahrenheit" / "Fahrenheit to Celsius");
//! 5. names on one side only: languages, places, units, currencies, formats, and words
//!    capitalised mid-sentence;
//! 6. other rare content words on one side only ("key" / "value").
//!
//! Function words and common framing words ("tell me", "the best way", "example") are
//! ignored, words are stemmed, a short synonym list folds common swaps ("km" / "kilometer",
//! "delete" / "remove"), and single-letter typos in longer words are forgiven.

mod lexicon;
mod text;

use std::fmt;

use lexicon::Lexicon;
use text::{Kind, Piece, edit_distance, lex, stem};

/// Cosine similarity (all-MiniLM-L6-v2 embeddings) from which a cached query is a
/// candidate hit; the hit is served only if [`agree`] also holds. Tuned on
/// `tests/data/paraphrase_pairs.tsv`.
pub const COSINE_THRESHOLD: f32 = 0.75;

/// Which of the two compared queries a finding refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The first argument (usually the cached query).
    A,
    /// The second argument (usually the incoming query).
    B,
}

/// The first reason found why two queries must not share an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disagreement {
    /// The numbers mentioned differ.
    Number {
        /// Numbers in query A, as written.
        a: Vec<String>,
        /// Numbers in query B, as written.
        b: Vec<String>,
    },
    /// One query is negated ("not", "without", "except", ...) and the other is not.
    Negation {
        /// The negating word.
        word: String,
        /// The query it appears in.
        side: Side,
    },
    /// The queries use opposite words ("min" / "max").
    Opposite {
        /// The word in query A.
        a: String,
        /// The word in query B.
        b: String,
    },
    /// Both convert between the same two things, in opposite directions.
    Direction {
        /// Source and target in query A.
        a: (String, String),
        /// Source and target in query B.
        b: (String, String),
    },
    /// A name (language, place, unit, format, capitalised word) appears on one side only.
    Entity {
        /// The name as written.
        word: String,
        /// The query it appears in.
        side: Side,
    },
    /// A rare content word appears on one side only.
    ContentWord {
        /// The word as written.
        word: String,
        /// The query it appears in.
        side: Side,
    },
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::A => "a",
            Side::B => "b",
        })
    }
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disagreement::Number { a, b } => write!(f, "numbers differ: {a:?} vs {b:?}"),
            Disagreement::Negation { word, side } => write!(f, "only {side} is negated ({word})"),
            Disagreement::Opposite { a, b } => write!(f, "opposite words: {a} vs {b}"),
            Disagreement::Direction { a, b } => write!(
                f,
                "reversed direction: {} -> {} vs {} -> {}",
                a.0, a.1, b.0, b.1
            ),
            Disagreement::Entity { word, side } => write!(f, "name only in {side}: {word}"),
            Disagreement::ContentWord { word, side } => {
                write!(f, "content word only in {side}: {word}")
            }
        }
    }
}

impl std::error::Error for Disagreement {}

/// Whether two queries agree closely enough to share a cached answer.
pub fn agree(a: &str, b: &str) -> bool {
    check(a, b).is_ok()
}

/// Compares two queries and returns the first disagreement found, if any.
pub fn check(a: &str, b: &str) -> Result<(), Disagreement> {
    let lex = Lexicon::get();
    let a = Analysis::new(a, lex);
    let b = Analysis::new(b, lex);
    check_numbers(&a, &b)?;
    check_negation(&a, &b)?;
    check_opposites(&a, &b, lex)?;
    check_direction(&a, &b, lex)?;
    check_words(&a, &b, lex, true)?;
    check_words(&a, &b, lex, false)
}

/// A word of a query after normalisation.
#[derive(Debug, Clone)]
struct Word {
    raw: String,
    stem: String,
    stop: bool,
    common: bool,
    entity: bool,
    /// Can be the source or target of a conversion (names and data types).
    directional: bool,
    negation: bool,
}

/// A number of a query: canonical value and the text it came from.
#[derive(Debug, Clone)]
struct Num {
    value: String,
    raw: String,
}

struct Analysis {
    words: Vec<Word>,
    numbers: Vec<Num>,
}

/// A lexed word on its way to becoming a [`Word`].
#[derive(Debug, Clone)]
struct Item {
    raw: String,
    lower: String,
    kind: Kind,
    /// Capitalised mid-sentence or written in capitals, in a query whose case is informative.
    marked: bool,
}

impl Analysis {
    fn new(query: &str, lex: &Lexicon) -> Analysis {
        let pieces = lex_items(query);
        let items = apply_phrases(pieces, lex);
        let items = fold_operators(items);
        let (numbers, rest) = extract_numbers(items);
        let mut words = Vec::new();
        for item in rest {
            let base = stem(&item.lower);
            let stems = match lex.synonym(&base) {
                Some(canonical) => canonical.to_vec(),
                None => vec![base],
            };
            for s in stems {
                let stop = lex.is_stop(&item.lower, &s);
                // A capital marks a name unless the word is a common framing word ("Tell me").
                let entity = !stop
                    && (lex.is_entity(&s, item.marked) || (item.marked && !lex.is_common(&s)));
                let common = lex.is_common(&s) && !entity;
                words.push(Word {
                    raw: item.raw.clone(),
                    // Names that are also plain words ("word", "go") still count here: a
                    // reversed pair is strong evidence even when the writer skipped capitals.
                    directional: entity || lex.is_data_type(&s) || lex.is_known_entity(&s),
                    negation: lex.is_negation(&s),
                    stem: s,
                    stop,
                    common,
                    entity,
                });
            }
        }
        Analysis { words, numbers }
    }

    fn has_stem(&self, s: &str) -> bool {
        self.words.iter().any(|w| w.stem == s)
    }
}

/// Lexes the query, expands contractions and decides which capitals mark names.
fn lex_items(query: &str) -> Vec<Item> {
    let pieces = lex(query);
    let letters: Vec<&Piece> = pieces
        .iter()
        .filter(|p| p.kind == Kind::Word && p.raw.chars().any(char::is_alphabetic))
        .collect();
    let count = letters.len();
    let upper = letters
        .iter()
        .filter(|p| !p.raw.chars().any(char::is_lowercase))
        .count();
    let capital = letters
        .iter()
        .filter(|p| p.raw.starts_with(char::is_uppercase))
        .count();
    // All-caps or Title Case queries say nothing about names through their capitals.
    let informative =
        !(count >= 3 && upper * 10 >= count * 7 || count >= 4 && capital * 10 >= count * 8);
    let mut items = Vec::new();
    for p in pieces {
        if p.kind != Kind::Word {
            items.push(Item {
                lower: p.raw.clone(),
                raw: p.raw,
                kind: p.kind,
                marked: false,
            });
            continue;
        }
        let letter_count = p.raw.chars().filter(|c| c.is_alphabetic()).count();
        let acronym = letter_count >= 2 && !p.raw.chars().any(char::is_lowercase);
        let capitalised = p.raw.starts_with(char::is_uppercase);
        let marked = informative && ((capitalised && !p.sentence_start) || acronym);
        if p.raw == "US" || p.raw == "U.S" {
            items.push(word_item(&p.raw, "usa", true));
            continue;
        }
        for part in expand_contraction(&p.raw.to_lowercase()) {
            items.push(word_item(&p.raw, &part, marked));
        }
    }
    items
}

fn word_item(raw: &str, lower: &str, marked: bool) -> Item {
    Item {
        raw: raw.to_string(),
        lower: lower.to_string(),
        kind: Kind::Word,
        marked,
    }
}

/// Splits "don't" into "do not", "what's" into "what"; drops possessive "'s".
fn expand_contraction(lower: &str) -> Vec<String> {
    let bare = match lower {
        "whats" => Some(&["what", "is"][..]),
        "dont" => Some(&["do", "not"][..]),
        "doesnt" => Some(&["does", "not"][..]),
        "didnt" => Some(&["did", "not"][..]),
        "isnt" => Some(&["is", "not"][..]),
        "arent" => Some(&["are", "not"][..]),
        "wasnt" => Some(&["was", "not"][..]),
        "werent" => Some(&["were", "not"][..]),
        "cant" => Some(&["can", "not"][..]),
        "couldnt" => Some(&["could", "not"][..]),
        "shouldnt" => Some(&["should", "not"][..]),
        "wouldnt" => Some(&["would", "not"][..]),
        "havent" => Some(&["have", "not"][..]),
        "hasnt" => Some(&["has", "not"][..]),
        "im" => Some(&["i", "am"][..]),
        "ive" => Some(&["i", "have"][..]),
        "youre" => Some(&["you", "are"][..]),
        "thats" => Some(&["that", "is"][..]),
        "hows" => Some(&["how", "is"][..]),
        "whos" => Some(&["who", "is"][..]),
        "wheres" => Some(&["where", "is"][..]),
        _ => None,
    };
    if let Some(parts) = bare {
        return parts.iter().map(|s| (*s).to_string()).collect();
    }
    let Some((base, suffix)) = lower.split_once('\'') else {
        return vec![lower.to_string()];
    };
    if suffix == "t" && base.ends_with('n') {
        let verb = match &base[..base.len() - 1] {
            "ca" => "can",
            "wo" => "will",
            "sha" => "shall",
            other => other,
        };
        return vec![verb.to_string(), "not".to_string()];
    }
    vec![base.to_string()]
}

/// Replaces listed multi-word phrases by their canonical words.
fn apply_phrases(items: Vec<Item>, lex: &Lexicon) -> Vec<Item> {
    let mut out = Vec::with_capacity(items.len());
    let mut i = 0;
    'outer: while i < items.len() {
        for (pattern, replacement) in &lex.phrases {
            let end = i + pattern.len();
            let Some(window) = items.get(i..end) else {
                continue;
            };
            let matches = window
                .iter()
                .zip(pattern)
                .all(|(item, word)| item.kind == Kind::Word && item.lower == *word);
            if matches {
                let raw = window
                    .iter()
                    .map(|item| item.raw.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                out.extend(replacement.iter().map(|w| word_item(&raw, w, false)));
                i = end;
                continue 'outer;
            }
        }
        if let Some(item) = items.get(i) {
            out.push(item.clone());
        }
        i += 1;
    }
    out
}

/// Rewrites "x^2" as "x squared", "12 x 12" as "12 times 12" and "500 g" as "500 gram".
fn fold_operators(items: Vec<Item>) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    let mut i = 0;
    while let Some(item) = items.get(i) {
        let next = items.get(i + 1);
        let prev_is_number = out.last().is_some_and(|p| p.kind == Kind::Number);
        let next_is_number = next.is_some_and(|n| n.kind == Kind::Number);
        if item.kind == Kind::Word && item.lower == "^" {
            let word = match next
                .filter(|n| n.kind == Kind::Number)
                .map(|n| n.lower.as_str())
            {
                Some("2") => "squared",
                Some("3") => "cubed",
                _ => "power",
            };
            out.push(word_item(&item.raw, word, false));
            i += if word == "power" { 1 } else { 2 };
            continue;
        }
        // One-letter unit symbols right after a number ("500 g", "30 C").
        let unit = match item.lower.as_str() {
            "g" => Some("gram"),
            "l" => Some("liter"),
            "c" => Some("celsius"),
            "f" => Some("fahrenheit"),
            _ => None,
        };
        if item.kind == Kind::Word && item.lower == "x" && prev_is_number && next_is_number {
            out.push(word_item(&item.raw, "times", false));
        } else if let Some(unit) = unit.filter(|_| item.kind == Kind::Word && prev_is_number) {
            out.push(word_item(&item.raw, unit, false));
        } else {
            out.push(item.clone());
        }
        i += 1;
    }
    out
}

/// Value of a number word, and whether it scales what came before ("hundred").
fn number_word(word: &str) -> Option<(f64, bool)> {
    const UNITS: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 8] = [
        "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    if let Some(v) = UNITS.iter().position(|w| *w == word) {
        return Some((v as f64, false));
    }
    if let Some(v) = TENS.iter().position(|w| *w == word) {
        return Some((20.0 + 10.0 * v as f64, false));
    }
    match word {
        "dozen" => Some((12.0, true)),
        "hundred" => Some((100.0, true)),
        "thousand" => Some((1e3, true)),
        "million" => Some((1e6, true)),
        "billion" => Some((1e9, true)),
        _ => None,
    }
}

/// Ordinal words; "second" is left out because it is also a unit of time.
fn ordinal_word(word: &str) -> Option<u32> {
    const ORDINALS: [&str; 12] = [
        "first", "", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
        "eleventh", "twelfth",
    ];
    ORDINALS
        .iter()
        .position(|w| !w.is_empty() && *w == word)
        .and_then(|p| u32::try_from(p + 1).ok())
}

/// Value of a roman numeral written in capitals ("II", "XIV"); single letters are skipped.
fn roman(raw: &str) -> Option<u32> {
    if raw.len() < 2 || raw.len() > 6 || !raw.chars().all(|c| "IVXL".contains(c)) {
        return None;
    }
    let value = |c: char| match c {
        'I' => 1,
        'V' => 5,
        'X' => 10,
        _ => 50,
    };
    let digits: Vec<u32> = raw.chars().map(value).collect();
    let mut total = 0;
    for (k, d) in digits.iter().enumerate() {
        if digits.get(k + 1).is_some_and(|next| next > d) {
            total -= *d as i64;
        } else {
            total += *d as i64;
        }
    }
    u32::try_from(total).ok().filter(|v| *v > 0)
}

fn canonical(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Pulls numbers out of the items; returns them and the remaining (non-number) items.
fn extract_numbers(items: Vec<Item>) -> (Vec<Num>, Vec<Item>) {
    let mut numbers = Vec::new();
    let mut rest = Vec::new();
    let mut i = 0;
    while let Some(item) = items.get(i) {
        if item.kind == Kind::Ordinal {
            numbers.push(Num {
                value: format!("#{}", item.lower.trim_start_matches('0')),
                raw: item.raw.clone(),
            });
            i += 1;
            continue;
        }
        if let Some(n) = ordinal_word(&item.lower) {
            numbers.push(Num {
                value: format!("#{n}"),
                raw: item.raw.clone(),
            });
            // Keep the word too: "first" also takes part in "first" / "last".
            rest.push(item.clone());
            i += 1;
            continue;
        }
        if let Some(v) = roman(&item.raw).filter(|_| item.kind == Kind::Word) {
            numbers.push(Num {
                value: v.to_string(),
                raw: item.raw.clone(),
            });
            i += 1;
            continue;
        }
        let start_value = if item.kind == Kind::Number {
            item.lower.parse::<f64>().ok()
        } else {
            None
        };
        let starts_run = start_value.is_some()
            || (item.kind == Kind::Word && number_word(&item.lower).is_some());
        if !starts_run {
            rest.push(item.clone());
            i += 1;
            continue;
        }
        let (mut total, mut current) = (0.0, start_value.unwrap_or(0.0));
        let mut raw = Vec::new();
        if start_value.is_some() {
            raw.push(item.raw.clone());
            i += 1;
        }
        while let Some((v, scale)) = items
            .get(i)
            .filter(|it| it.kind == Kind::Word)
            .and_then(|it| number_word(&it.lower))
        {
            if scale {
                let base = if current == 0.0 { 1.0 } else { current };
                if v >= 1e3 {
                    total += base * v;
                    current = 0.0;
                } else {
                    current = base * v;
                }
            } else {
                current += v;
            }
            if let Some(it) = items.get(i) {
                raw.push(it.raw.clone());
            }
            i += 1;
        }
        numbers.push(Num {
            value: canonical(total + current),
            raw: raw.join(" "),
        });
    }
    (numbers, rest)
}

fn check_numbers(a: &Analysis, b: &Analysis) -> Result<(), Disagreement> {
    // A lone "one" / "1" often just means "a" ("one mile" vs "a mile"); it only counts
    // when both queries use it, and then they must use it equally often.
    fn split(nums: &[Num]) -> (usize, Vec<&str>) {
        let ones = nums.iter().filter(|n| n.value == "1").count();
        let mut rest: Vec<&str> = nums
            .iter()
            .filter(|n| n.value != "1")
            .map(|n| n.value.as_str())
            .collect();
        rest.sort_unstable();
        (ones, rest)
    }
    let (ones_a, rest_a) = split(&a.numbers);
    let (ones_b, rest_b) = split(&b.numbers);
    if rest_a != rest_b || (ones_a > 0 && ones_b > 0 && ones_a != ones_b) {
        let raws = |nums: &[Num]| nums.iter().map(|n| n.raw.clone()).collect();
        return Err(Disagreement::Number {
            a: raws(&a.numbers),
            b: raws(&b.numbers),
        });
    }
    Ok(())
}

fn check_negation(a: &Analysis, b: &Analysis) -> Result<(), Disagreement> {
    let first = |x: &Analysis| x.words.iter().find(|w| w.negation).map(|w| w.raw.clone());
    match (first(a), first(b)) {
        (Some(word), None) => Err(Disagreement::Negation {
            word,
            side: Side::A,
        }),
        (None, Some(word)) => Err(Disagreement::Negation {
            word,
            side: Side::B,
        }),
        _ => Ok(()),
    }
}

fn check_opposites(a: &Analysis, b: &Analysis, lex: &Lexicon) -> Result<(), Disagreement> {
    // Per member of a group, which side uses it more often. Counting (rather than mere
    // presence) keeps "turn off ... on Android" apart from "turn on ... on Android".
    let count = |x: &Analysis, s: &str| x.words.iter().filter(|w| w.stem == s).count();
    let raw = |x: &Analysis, s: &str| {
        x.words
            .iter()
            .find(|w| w.stem == s)
            .map(|w| w.raw.clone())
            .unwrap_or_default()
    };
    for group in &lex.opposites {
        let more_in_a = group.iter().find(|s| count(a, s) > count(b, s));
        let more_in_b = group.iter().find(|s| count(b, s) > count(a, s));
        if let (Some(sa), Some(sb)) = (more_in_a, more_in_b) {
            return Err(Disagreement::Opposite {
                a: raw(a, sa),
                b: raw(b, sb),
            });
        }
    }
    Ok(())
}

/// Source and target of a conversion-like query ("X to Y", "from X to Y", "X in Y",
/// "how many Y in X"). Terms must sit right next to the connector, apart from articles and
/// carrier nouns ("a Word document to PDF"), so "bash command to list files" is no pair.
fn direction<'a>(x: &'a Analysis, lex: &Lexicon) -> Option<(&'a Word, &'a Word)> {
    let words = &x.words;
    let skip = |w: &&Word| lex.is_filler(&w.stem) && !w.directional;
    let term_after = |k: usize| {
        words
            .iter()
            .skip(k + 1)
            .find(|w| !skip(w))
            .filter(|w| w.directional)
    };
    let term_before = |k: usize| {
        words
            .iter()
            .take(k)
            .rev()
            .find(|w| !skip(w))
            .filter(|w| w.directional)
    };
    if let Some(k) = words
        .windows(2)
        .position(|w| w.iter().map(|w| w.stem.as_str()).eq(["how", "many"]))
        && let Some(target) = term_after(k + 1)
    {
        let source = words
            .iter()
            .skip(k + 3)
            .find(|w| w.directional && w.stem != target.stem);
        if let Some(source) = source {
            return Some((source, target));
        }
    }
    for (k, w) in words.iter().enumerate() {
        let found = match w.stem.as_str() {
            "from" => term_after(k).and_then(|source| {
                let to = words
                    .iter()
                    .enumerate()
                    .skip(k + 1)
                    .find(|(_, w)| w.stem == "to" || w.stem == "into");
                let target = match to {
                    Some((j, _)) => term_after(j),
                    None => term_before(k),
                };
                target.map(|target| (source, target))
            }),
            "to" | "into" | "in" => term_before(k).zip(term_after(k)),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

fn check_direction(a: &Analysis, b: &Analysis, lex: &Lexicon) -> Result<(), Disagreement> {
    if let (Some((sa, ta)), Some((sb, tb))) = (direction(a, lex), direction(b, lex))
        && sa.stem != ta.stem
        && sa.stem == tb.stem
        && ta.stem == sb.stem
    {
        return Err(Disagreement::Direction {
            a: (sa.raw.clone(), ta.raw.clone()),
            b: (sb.raw.clone(), tb.raw.clone()),
        });
    }
    Ok(())
}

/// Whether `other` contains `w`, exactly or up to one typo in a word of 5+ letters.
fn contains_word(other: &Analysis, w: &Word, lex: &Lexicon) -> bool {
    if other.has_stem(&w.stem) {
        return true;
    }
    let long = |s: &str| s.chars().count() >= 5;
    long(&w.stem)
        && other.words.iter().any(|o| {
            long(&o.stem)
                && !(lex.is_known_entity(&w.stem) && lex.is_known_entity(&o.stem))
                && edit_distance(&w.stem, &o.stem) <= 1
        })
}

fn check_words(
    a: &Analysis,
    b: &Analysis,
    lex: &Lexicon,
    entities: bool,
) -> Result<(), Disagreement> {
    for (x, y, side) in [(a, b, Side::A), (b, a, Side::B)] {
        for w in &x.words {
            let relevant = !w.stop && w.entity == entities && (w.entity || !w.common);
            if relevant && !contains_word(y, w, lex) {
                let word = w.raw.clone();
                return Err(if entities {
                    Disagreement::Entity { word, side }
                } else {
                    Disagreement::ContentWord { word, side }
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
