//! Splitting a query into pieces and reducing words to comparable stems.

/// What a lexed piece is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Word,
    /// Digits, possibly with a decimal point; thousands separators already removed.
    Number,
    /// Digits written with an ordinal suffix ("3rd"); the text holds the digits only.
    Ordinal,
}

/// One lexed piece of a query.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    /// The text as written (or the word a symbol stands for, such as "plus" for `+`).
    pub(crate) raw: String,
    pub(crate) kind: Kind,
    /// First word of a sentence, where a capital letter says nothing about names.
    pub(crate) sentence_start: bool,
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '\u{2019}'
}

/// Splits a query into words, numbers and the words that symbols stand for.
pub(crate) fn lex(text: &str) -> Vec<Piece> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut out = Vec::new();
    let mut sentence_start = true;
    let push_word = |out: &mut Vec<Piece>, raw: &str, start: &mut bool| {
        out.push(Piece {
            raw: raw.to_string(),
            kind: Kind::Word,
            sentence_start: *start,
        });
        *start = false;
    };
    let mut i = 0;
    while let Some(c) = at(i) {
        let prev_alnum = i > 0 && at(i - 1).is_some_and(char::is_alphanumeric);
        let dotted_name = c == '.' && !prev_alnum && at(i + 1).is_some_and(char::is_alphabetic);
        if c.is_alphanumeric() || dotted_name {
            let (word, next) = read_word(&chars, i);
            i = next;
            push_lexeme(&mut out, &word, &mut sentence_start);
            continue;
        }
        let next_digit = at(i + 1).is_some_and(|n| n.is_ascii_digit());
        match c {
            '+' => push_word(&mut out, "plus", &mut sentence_start),
            '*' | '\u{d7}' => push_word(&mut out, "times", &mut sentence_start),
            '\u{f7}' => push_word(&mut out, "divide", &mut sentence_start),
            '/' if next_digit && i > 0 && at(i - 1).is_some_and(|p| p.is_ascii_digit()) => {
                push_word(&mut out, "divide", &mut sentence_start);
            }
            '^' => push_word(&mut out, "^", &mut sentence_start),
            '%' => push_word(&mut out, "percent", &mut sentence_start),
            '$' => push_word(&mut out, "usd", &mut sentence_start),
            '\u{20ac}' => push_word(&mut out, "eur", &mut sentence_start),
            '\u{a3}' => push_word(&mut out, "gbp", &mut sentence_start),
            '\u{a5}' => push_word(&mut out, "jpy", &mut sentence_start),
            '\u{b0}' => {
                // "30°C", "86 °F", or a bare degree sign.
                let unit = match at(i + 1).map(|u| u.to_ascii_lowercase()) {
                    Some('c') => Some("celsius"),
                    Some('f') => Some("fahrenheit"),
                    _ => None,
                };
                match unit.filter(|_| !at(i + 2).is_some_and(char::is_alphanumeric)) {
                    Some(unit) => {
                        push_word(&mut out, unit, &mut sentence_start);
                        i += 1;
                    }
                    None => push_word(&mut out, "degree", &mut sentence_start),
                }
            }
            '&' => push_word(&mut out, "and", &mut sentence_start),
            '\u{2192}' => push_word(&mut out, "to", &mut sentence_start),
            '-' if at(i + 1) == Some('>') => {
                push_word(&mut out, "to", &mut sentence_start);
                i += 1;
            }
            '.' | '?' | '!' | ':' | ';' | '\n' => sentence_start = true,
            _ => {}
        }
        i += 1;
    }
    out
}

/// Reads one word starting at `i`; returns it and the index after it.
fn read_word(chars: &[char], i: usize) -> (String, usize) {
    let at = |k: usize| chars.get(k).copied();
    let mut word = String::new();
    let mut j = i;
    if at(j) == Some('.') {
        word.push('.');
        j += 1;
    }
    while let Some(c) = at(j) {
        let prev = if j > 0 { at(j - 1) } else { None };
        let next = at(j + 1);
        let joins = if c.is_alphanumeric() {
            true
        } else if is_apostrophe(c) {
            prev.is_some_and(char::is_alphabetic) && next.is_some_and(char::is_alphabetic)
        } else if c == '.' {
            prev.is_some_and(char::is_alphanumeric) && next.is_some_and(char::is_alphanumeric)
        } else if c == ',' {
            prev.is_some_and(|p| p.is_ascii_digit())
                && (1..=3).all(|k| at(j + k).is_some_and(|d| d.is_ascii_digit()))
                && !at(j + 4).is_some_and(|d| d.is_ascii_digit())
        } else {
            false
        };
        if !joins {
            break;
        }
        word.push(if is_apostrophe(c) { '\'' } else { c });
        j += 1;
    }
    let short_letters = word.chars().count() <= 2 && word.chars().all(char::is_alphabetic);
    if short_letters && at(j) == Some('+') && at(j + 1) == Some('+') {
        word.push_str("++");
        j += 2;
    } else if short_letters && at(j) == Some('#') {
        word.push('#');
        j += 1;
    } else if word.eq_ignore_ascii_case("w") && at(j) == Some('/') {
        // "w/" and "w/o" shorthand.
        if at(j + 1).is_some_and(|c| c == 'o' || c == 'O')
            && !at(j + 2).is_some_and(char::is_alphanumeric)
        {
            return ("without".to_string(), j + 2);
        }
        return ("with".to_string(), j + 1);
    }
    (word, j)
}

/// Classifies a read word, splitting a leading number from a unit ("5km").
fn push_lexeme(out: &mut Vec<Piece>, word: &str, sentence_start: &mut bool) {
    let mut piece = |raw: String, kind: Kind| {
        out.push(Piece {
            raw,
            kind,
            sentence_start: *sentence_start,
        });
        *sentence_start = false;
    };
    let numeric = |c: char| c.is_ascii_digit() || c == '.' || c == ',';
    if word.chars().all(numeric) && word.chars().any(|c| c.is_ascii_digit()) {
        piece(word.replace(',', ""), Kind::Number);
        return;
    }
    if word.starts_with(|c: char| c.is_ascii_digit()) {
        let split = word.find(|c: char| !numeric(c)).unwrap_or(word.len());
        let (digits, rest) = word.split_at(split);
        let digits = digits.trim_end_matches('.').replace(',', "");
        if ["st", "nd", "rd", "th"].contains(&rest.to_lowercase().as_str()) {
            piece(digits, Kind::Ordinal);
        } else {
            piece(digits, Kind::Number);
            piece(rest.to_string(), Kind::Word);
        }
        return;
    }
    piece(word.to_string(), Kind::Word);
}

/// Words whose endings look like suffixes but are not.
#[rustfmt::skip]
const PROTECTED: &[&str] = &[
    "string", "thing", "nothing", "something", "anything", "everything", "morning", "evening",
    "spring", "during", "wedding", "pudding", "ceiling", "sibling", "king", "ring", "sing",
    "bring", "wing", "swing", "sting", "news", "series", "species", "physics", "mathematics",
    "economics", "politics", "ethics", "always", "perhaps", "bus", "gas", "yes", "its", "this",
    "thus", "plus", "minus", "bias", "alias", "canvas", "atlas", "lens", "chaos", "ios", "macos",
    "christmas", "texas", "kansas", "pandas",
];

/// Adjectives whose "-er"/"-est" forms are folded to the plain form.
#[rustfmt::skip]
const ADJECTIVES: &[&str] = &[
    "large", "big", "small", "fast", "slow", "cheap", "high", "tall", "low", "long", "short",
    "old", "young", "new", "hot", "cold", "heavy", "light", "strong", "weak", "easy", "hard",
    "soft", "close", "near", "far", "deep", "great", "rich", "poor", "warm", "cool", "bright",
    "dark", "early", "late", "wide", "narrow", "thick", "thin", "smart", "safe", "quick", "simple",
    "healthy", "happy", "busy", "nice", "fine", "tiny", "huge", "clean", "dirty", "loud", "quiet",
    "sweet", "fresh", "pure", "rare", "dense",
];

/// Irregular forms mapped to the form the regular rules handle.
fn irregular(word: &str) -> Option<&'static str> {
    Some(match word {
        "wrote" | "written" => "write",
        "built" => "build",
        "bought" => "buy",
        "made" => "make",
        "ran" => "run",
        "took" | "taken" => "take",
        "found" => "find",
        "thought" => "think",
        "went" | "gone" => "go",
        "saw" | "seen" => "see",
        "got" | "gotten" => "get",
        "knew" | "known" => "know",
        "began" | "begun" => "begin",
        "chose" | "chosen" => "choose",
        "drove" | "driven" => "drive",
        "ate" | "eaten" => "eat",
        "fell" | "fallen" => "fall",
        "flew" | "flown" => "fly",
        "grew" | "grown" => "grow",
        "held" => "hold",
        "kept" => "keep",
        "lost" => "lose",
        "meant" => "mean",
        "paid" => "pay",
        "sent" => "send",
        "sold" => "sell",
        "spent" => "spend",
        "stood" => "stand",
        "taught" => "teach",
        "told" => "tell",
        "understood" => "understand",
        "won" => "win",
        "used" | "using" => "use",
        "children" => "child",
        "men" => "man",
        "women" => "woman",
        "mice" => "mouse",
        "teeth" => "tooth",
        "geese" => "goose",
        "feet" => "foot",
        "lives" => "life",
        "knives" => "knife",
        "wives" => "wife",
        "halves" => "half",
        "leaves" => "leaf",
        "indices" => "index",
        "matrices" => "matrix",
        "vertices" => "vertex",
        "analyses" => "analysis",
        "better" | "best" => "good",
        "worse" | "worst" => "bad",
        "further" | "furthest" | "farther" | "farthest" => "far",
        _ => return None,
    })
}

/// Folds a comparative or superlative of a listed adjective to its plain form.
fn comparative_base(word: &str) -> Option<String> {
    let stripped = word
        .strip_suffix("est")
        .or_else(|| word.strip_suffix("er"))?;
    let mut candidates = vec![stripped.to_string(), format!("{stripped}e")];
    if let Some(x) = stripped.strip_suffix('i') {
        candidates.push(format!("{x}y"));
    }
    let mut chars = stripped.chars().rev();
    if let (Some(last), Some(before)) = (chars.next(), chars.next())
        && last == before
    {
        candidates.push(stripped[..stripped.len() - last.len_utf8()].to_string());
    }
    candidates
        .into_iter()
        .find(|c| ADJECTIVES.contains(&c.as_str()))
}

/// Reduces a word to a stem so that inflected forms compare equal ("boiling", "boils" and
/// "boil" all give "boil"). Words with digits or symbols ("c++", "mp3") are only lowercased.
pub(crate) fn stem(word: &str) -> String {
    let lower = word.to_lowercase();
    if !lower.chars().all(|c| c.is_ascii_lowercase()) || lower.is_empty() {
        return lower;
    }
    let base = match irregular(&lower) {
        Some(base) => base.to_string(),
        None => comparative_base(&lower).unwrap_or_else(|| strip_suffixes(&lower)),
    };
    finish(base)
}

fn strip_suffixes(word: &str) -> String {
    if PROTECTED.contains(&word) {
        return word.to_string();
    }
    let n = word.len();
    let mut w = if let Some(x) = word.strip_suffix("ies").filter(|_| n > 4) {
        format!("{x}y")
    } else if ["sses", "ches", "shes", "xes", "zes", "oes"]
        .iter()
        .any(|s| word.ends_with(s))
        && n > 4
    {
        word[..n - 2].to_string()
    } else if word.ends_with('s') && !["ss", "us", "is"].iter().any(|s| word.ends_with(s)) && n > 3
    {
        word[..n - 1].to_string()
    } else {
        word.to_string()
    };
    if PROTECTED.contains(&w.as_str()) {
        return w;
    }
    let n = w.len();
    let mut verb_suffix = false;
    if let Some(x) = w.strip_suffix("ied").filter(|_| n > 4) {
        w = format!("{x}y");
    } else if w.ends_with("ed") && !w.ends_with("eed") && n >= 5 {
        w.truncate(n - 2);
        verb_suffix = true;
    } else if w.ends_with("ing") && n >= 6 {
        w.truncate(n - 3);
        verb_suffix = true;
    }
    if verb_suffix && w.ends_with("at") {
        // "translated" -> "translate", so the "-ate" rule below applies.
        w.push('e');
    }
    if let Some(x) = w.strip_suffix("ily").filter(|x| x.len() >= 3) {
        w = format!("{x}y");
    } else if let Some(x) = w.strip_suffix("ly").filter(|x| x.len() >= 4) {
        w = x.to_string();
    }
    if let Some(x) = w.strip_suffix("ation").filter(|x| x.len() >= 4) {
        w = x.to_string();
    } else if let Some(x) = w.strip_suffix("ate").filter(|x| x.len() >= 4) {
        w = x.to_string();
    }
    w
}

/// Drops a final "e" and undoubles a final consonant, so "make"/"making" and
/// "run"/"running" meet.
fn finish(mut w: String) -> String {
    if w.len() > 3 && w.ends_with('e') {
        w.pop();
    }
    let b = w.as_bytes();
    if b.len() >= 3 {
        let (last, before) = (b[b.len() - 1], b[b.len() - 2]);
        if last == before && !b"aeioulsz".contains(&last) {
            w.pop();
        }
    }
    w
}

/// Optimal string alignment distance (edits, with adjacent swaps counting once).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_meet_across_inflections() {
        for (a, b) in [
            ("boiling", "boil"),
            ("making", "make"),
            ("running", "run"),
            ("cities", "city"),
            ("dictionaries", "dictionary"),
            ("wrote", "write"),
            ("largest", "large"),
            ("biggest", "big"),
            ("easiest", "easy"),
            ("concatenation", "concatenate"),
            ("quickly", "quick"),
            ("adding", "add"),
            ("installing", "install"),
            ("euros", "euro"),
            ("photos", "photo"),
        ] {
            assert_eq!(stem(a), stem(b), "{a} vs {b}");
        }
        assert_ne!(stem("string"), stem("str"));
        assert_ne!(stem("encode"), stem("decode"));
    }

    #[test]
    fn lexes_symbols_and_names() {
        let raws: Vec<String> = lex("C++ vs C#: 2+2, 1,000 and 3.14 in Node.js w/o 5km 3rd")
            .into_iter()
            .map(|p| p.raw)
            .collect();
        assert_eq!(
            raws,
            [
                "C++", "vs", "C#", "2", "plus", "2", "1000", "and", "3.14", "in", "Node.js",
                "without", "5", "km", "3"
            ]
        );
    }

    #[test]
    fn edit_distance_counts_swaps_once() {
        assert_eq!(edit_distance("pyhton", "python"), 1);
        assert_eq!(edit_distance("revrse", "reverse"), 1);
        assert_eq!(edit_distance("encode", "decode"), 2);
    }
}
