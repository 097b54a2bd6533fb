//! Splits an arithmetic expression into tokens.

use super::CalcError;

/// One lexical unit of an expression.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Number(f64),
    /// A name, lowercased: a constant or a function.
    Name(String),
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Caret,
    LParen,
    RParen,
    Comma,
}

impl Token {
    /// How the token is named in error messages.
    pub(super) fn describe(&self) -> String {
        match self {
            Self::Number(n) => format!("number {n}"),
            Self::Name(name) => format!("name `{name}`"),
            Self::Plus => "`+`".to_owned(),
            Self::Minus => "`-`".to_owned(),
            Self::Star => "`*`".to_owned(),
            Self::Slash => "`/`".to_owned(),
            Self::Percent => "`%`".to_owned(),
            Self::Caret => "`^`".to_owned(),
            Self::LParen => "`(`".to_owned(),
            Self::RParen => "`)`".to_owned(),
            Self::Comma => "`,`".to_owned(),
        }
    }
}

/// A token and the 1-based character position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Spanned {
    pub(super) token: Token,
    pub(super) at: usize,
}

/// Tokenizes `input`; any character outside the grammar is an error.
pub(super) fn tokenize(input: &str) -> Result<Vec<Spanned>, CalcError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let at = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || c == '.' {
            let (value, next) = number(&chars, i)?;
            tokens.push(Spanned {
                token: Token::Number(value),
                at,
            });
            i = next;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let end = scan(&chars, i, |c| c.is_ascii_alphanumeric() || c == '_');
            let name: String = chars[i..end].iter().collect();
            tokens.push(Spanned {
                token: Token::Name(name.to_ascii_lowercase()),
                at,
            });
            i = end;
            continue;
        }
        let (token, width) = match c {
            '+' => (Token::Plus, 1),
            '-' | '\u{2212}' => (Token::Minus, 1),
            '*' if chars.get(i + 1) == Some(&'*') => (Token::Caret, 2),
            '*' | '\u{00d7}' => (Token::Star, 1),
            '/' | '\u{00f7}' => (Token::Slash, 1),
            '%' => (Token::Percent, 1),
            '^' => (Token::Caret, 1),
            '(' => (Token::LParen, 1),
            ')' => (Token::RParen, 1),
            ',' => (Token::Comma, 1),
            other => {
                return Err(CalcError::at(format!("unexpected character {other:?}"), at));
            }
        };
        tokens.push(Spanned { token, at });
        i += width;
    }
    Ok(tokens)
}

/// Index just past the run of characters from `start` that satisfy `keep`.
fn scan(chars: &[char], start: usize, keep: impl Fn(char) -> bool) -> usize {
    let mut end = start;
    while chars.get(end).is_some_and(|&c| keep(c)) {
        end += 1;
    }
    end
}

/// Reads a decimal literal with optional fraction and exponent starting at
/// `start`; returns its value and the index after it.
fn number(chars: &[char], start: usize) -> Result<(f64, usize), CalcError> {
    let at = start + 1;
    let digit = |i: usize| chars.get(i).is_some_and(char::is_ascii_digit);
    let int_end = scan(chars, start, |c| c.is_ascii_digit());
    let mut end = int_end;
    let mut frac_digits = 0;
    if chars.get(end) == Some(&'.') {
        let frac_end = scan(chars, end + 1, |c| c.is_ascii_digit());
        frac_digits = frac_end - end - 1;
        end = frac_end;
    }
    if int_end == start && frac_digits == 0 {
        return Err(CalcError::at("a lone `.` is not a number", at));
    }
    if matches!(chars.get(end), Some('e' | 'E')) {
        let sign = usize::from(matches!(chars.get(end + 1), Some('+' | '-')));
        if digit(end + 1 + sign) {
            end = scan(chars, end + 1 + sign, |c| c.is_ascii_digit());
        }
    }
    if chars.get(end) == Some(&'.') {
        return Err(CalcError::at(
            "malformed number: more than one decimal point",
            at,
        ));
    }
    let text: String = chars[start..end].iter().collect();
    let value: f64 = text
        .parse()
        .map_err(|_| CalcError::at(format!("malformed number `{text}`"), at))?;
    if !value.is_finite() {
        return Err(CalcError::at(
            format!("number `{text}` is too large (the limit is about 1.8e308)"),
            at,
        ));
    }
    Ok((value, end))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::Token::*;
    use super::*;

    fn kinds(input: &str) -> Vec<Token> {
        tokenize(input)
            .unwrap()
            .into_iter()
            .map(|s| s.token)
            .collect()
    }

    fn error(input: &str) -> String {
        tokenize(input)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn operators_and_names() {
        assert_eq!(
            kinds("1+2*(x - Y)/3 % 4 ^ 5, **"),
            [
                Number(1.0),
                Plus,
                Number(2.0),
                Star,
                LParen,
                Name("x".into()),
                Minus,
                Name("y".into()),
                RParen,
                Slash,
                Number(3.0),
                Percent,
                Number(4.0),
                Caret,
                Number(5.0),
                Comma,
                Caret,
            ]
        );
    }

    #[test]
    fn typographic_operators_are_accepted() {
        assert_eq!(
            kinds("6 \u{00d7} 2 \u{00f7} 3 \u{2212} 1"),
            [
                Number(6.0),
                Star,
                Number(2.0),
                Slash,
                Number(3.0),
                Minus,
                Number(1.0)
            ]
        );
    }

    #[test]
    fn number_forms() {
        assert_eq!(kinds("42"), [Number(42.0)]);
        assert_eq!(kinds("3.25"), [Number(3.25)]);
        assert_eq!(kinds(".5"), [Number(0.5)]);
        assert_eq!(kinds("5."), [Number(5.0)]);
        assert_eq!(kinds("1e3"), [Number(1000.0)]);
        assert_eq!(kinds("2.5E-2"), [Number(0.025)]);
        assert_eq!(kinds("1e+2"), [Number(100.0)]);
        assert_eq!(kinds("1e-400"), [Number(0.0)]);
        // `e` not followed by digits is the constant, not an exponent.
        assert_eq!(kinds("2e"), [Number(2.0), Name("e".into())]);
        assert_eq!(kinds("2e+"), [Number(2.0), Name("e".into()), Plus]);
    }

    #[test]
    fn positions_are_one_based_characters() {
        let tokens = tokenize("é + 1").err().map(|e| e.to_string());
        assert_eq!(
            tokens.as_deref(),
            Some("unexpected character 'é' at position 1")
        );
        let spans = tokenize("  ab+ 7").unwrap();
        assert_eq!(spans.iter().map(|s| s.at).collect::<Vec<_>>(), [3, 5, 7]);
    }

    #[test]
    fn bad_numbers() {
        assert_eq!(error("."), "a lone `.` is not a number at position 1");
        assert!(error("1.2.3").contains("more than one decimal point"));
        assert!(error("1e999").contains("too large"));
        assert!(error(&"9".repeat(400)).contains("too large"));
    }

    #[test]
    fn garbage_characters() {
        assert!(error("1 $ 2").contains("unexpected character '$' at position 3"));
        assert!(error("2\u{0}").contains("'\\0'"));
        assert!(error("🦀").contains("unexpected character '🦀'"));
        assert!(error("1 = 1").contains("'='"));
    }
}
