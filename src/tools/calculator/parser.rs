//! Recursive-descent evaluator over the token stream.
//!
//! Grammar, loosest binding first:
//!
//! ```text
//! sum     = product (("+" | "-") product)*
//! product = unary (("*" | "/" | "%") unary)*
//! unary   = ("-" | "+") unary | power
//! power   = primary ("^" unary)?          -- right-associative
//! primary = number | name | name "(" args ")" | "(" sum ")"
//! ```
//!
//! So `-2^2` is `-(2^2)` and `2^-1` is `0.5`. Values are computed while
//! parsing; the first arithmetic problem (division by zero, overflow, a
//! domain error) is remembered and reported only if the whole expression
//! parses, so syntax errors win.

use super::CalcError;
use super::functions::{self, CONSTANTS, FUNCTIONS};
use super::lexer::{Spanned, Token};

/// Deepest nesting of parentheses, calls, signs and exponents allowed.
pub(super) const MAX_DEPTH: usize = 64;

/// Evaluates a token stream produced by the lexer.
pub(super) fn evaluate(tokens: &[Spanned]) -> Result<f64, CalcError> {
    let mut parser = Parser {
        tokens,
        next: 0,
        depth: 0,
        math_error: None,
    };
    let value = parser.sum()?;
    if let Some(extra) = parser.peek() {
        return Err(parser.trailing(extra));
    }
    if let Some(err) = parser.math_error {
        return Err(err);
    }
    if value.is_finite() {
        Ok(value)
    } else {
        Err(CalcError::new("the result is not a finite number"))
    }
}

struct Parser<'t> {
    tokens: &'t [Spanned],
    next: usize,
    depth: usize,
    math_error: Option<CalcError>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Spanned> {
        self.tokens.get(self.next)
    }

    fn peek_token(&self) -> Option<&Token> {
        self.peek().map(|s| &s.token)
    }

    fn bump(&mut self) -> Option<Spanned> {
        let token = self.tokens.get(self.next).cloned();
        if token.is_some() {
            self.next += 1;
        }
        token
    }

    /// Position just past the last token, for "unexpected end" messages.
    fn end_position(&self) -> usize {
        self.tokens.last().map_or(1, |s| s.at + 1)
    }

    fn enter(&mut self, at: usize) -> Result<(), CalcError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CalcError::at(
                format!("expression nests more than {MAX_DEPTH} levels deep"),
                at,
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Remembers the first arithmetic problem; evaluation carries on with NaN.
    fn math_problem(&mut self, message: String, at: usize) -> f64 {
        if self.math_error.is_none() {
            self.math_error = Some(CalcError::at(message, at));
        }
        f64::NAN
    }

    /// Flags a result that left the finite range although its inputs did not.
    fn finite(&mut self, value: f64, inputs: &[f64], at: usize) -> f64 {
        if value.is_finite() || inputs.iter().any(|x| !x.is_finite()) {
            return value;
        }
        let message = if value.is_nan() {
            "the operation is undefined for these values".to_owned()
        } else {
            "overflow: the result is too large (beyond about 1.8e308)".to_owned()
        };
        self.math_problem(message, at)
    }

    fn sum(&mut self) -> Result<f64, CalcError> {
        let mut value = self.product()?;
        while let Some(op @ (Token::Plus | Token::Minus)) = self.peek_token() {
            let op = op.clone();
            let at = self.bump().map_or(0, |s| s.at);
            let rhs = self.operand(&op, at, Self::product)?;
            let result = if op == Token::Plus {
                value + rhs
            } else {
                value - rhs
            };
            value = self.finite(result, &[value, rhs], at);
        }
        Ok(value)
    }

    fn product(&mut self) -> Result<f64, CalcError> {
        let mut value = self.unary()?;
        while let Some(op @ (Token::Star | Token::Slash | Token::Percent)) = self.peek_token() {
            let op = op.clone();
            let at = self.bump().map_or(0, |s| s.at);
            let rhs = self.operand(&op, at, Self::unary)?;
            let result = match op {
                Token::Slash if rhs == 0.0 => self.math_problem("division by zero".to_owned(), at),
                Token::Percent if rhs == 0.0 => self.math_problem(
                    "remainder by zero (`%` is the remainder operator)".to_owned(),
                    at,
                ),
                Token::Slash => value / rhs,
                Token::Percent => value % rhs,
                _ => value * rhs,
            };
            value = self.finite(result, &[value, rhs], at);
        }
        Ok(value)
    }

    fn unary(&mut self) -> Result<f64, CalcError> {
        let sign = match self.peek() {
            Some(s) if matches!(s.token, Token::Minus | Token::Plus) => s.clone(),
            _ => return self.power(),
        };
        self.next += 1;
        self.enter(sign.at)?;
        let value = self.operand(&sign.token, sign.at, Self::unary)?;
        self.leave();
        Ok(if sign.token == Token::Minus {
            -value
        } else {
            value
        })
    }

    fn power(&mut self) -> Result<f64, CalcError> {
        let base = self.primary()?;
        if self.peek_token() != Some(&Token::Caret) {
            return Ok(base);
        }
        let at = self.bump().map_or(0, |s| s.at);
        self.enter(at)?;
        let exponent = self.operand(&Token::Caret, at, Self::unary)?;
        self.leave();
        let result = base.powf(exponent);
        if result.is_finite() || !base.is_finite() || !exponent.is_finite() {
            return Ok(result);
        }
        Ok(if base == 0.0 && exponent < 0.0 {
            self.math_problem("division by zero (zero to a negative power)".to_owned(), at)
        } else if result.is_nan() {
            self.math_problem(
                "a negative number to a fractional power has no real value".to_owned(),
                at,
            )
        } else {
            self.finite(result, &[base, exponent], at)
        })
    }

    /// Parses the operand after operator `op`, with a clear message if it is missing.
    fn operand(
        &mut self,
        op: &Token,
        at: usize,
        parse: fn(&mut Self) -> Result<f64, CalcError>,
    ) -> Result<f64, CalcError> {
        match self.peek_token() {
            None | Some(Token::RParen | Token::Comma) => {
                let hint = if *op == Token::Percent {
                    " (`%` is the remainder operator; write a percentage as e.g. 15/100*80)"
                } else {
                    ""
                };
                Err(CalcError::at(
                    format!("{} is missing its right-hand operand{hint}", op.describe()),
                    at,
                ))
            }
            Some(_) => parse(self),
        }
    }

    fn primary(&mut self) -> Result<f64, CalcError> {
        let Some(Spanned { token, at }) = self.bump() else {
            return Err(CalcError::at(
                "unexpected end of expression; expected a number, a name or `(`",
                self.end_position(),
            ));
        };
        match token {
            Token::Number(value) => Ok(value),
            Token::LParen => {
                self.enter(at)?;
                let value = self.sum()?;
                self.expect_close(at, "`(`")?;
                self.leave();
                Ok(value)
            }
            Token::Name(name) => self.named(name, at),
            other => Err(CalcError::at(
                format!(
                    "unexpected {}; expected a number, a name or `(`",
                    other.describe()
                ),
                at,
            )),
        }
    }

    fn named(&mut self, name: String, at: usize) -> Result<f64, CalcError> {
        let called = self.peek_token() == Some(&Token::LParen);
        if let Some(value) = functions::constant(&name) {
            if called {
                return Err(CalcError::at(
                    format!("`{name}` is a constant, not a function"),
                    at,
                ));
            }
            return Ok(value);
        }
        if !functions::is_function(&name) {
            return Err(CalcError::at(
                format!(
                    "unknown name `{name}`; constants: {}; functions: {}",
                    CONSTANTS.join(", "),
                    FUNCTIONS.join(", ")
                ),
                at,
            ));
        }
        if !called {
            return Err(CalcError::at(
                format!("function `{name}` needs its arguments in parentheses, e.g. {name}(2)"),
                at,
            ));
        }
        self.bump();
        self.enter(at)?;
        let args = self.arguments()?;
        self.expect_close(at, &format!("`{name}(`"))?;
        self.leave();
        functions::check_arity(&name, args.len()).map_err(|msg| CalcError::at(msg, at))?;
        if args.iter().any(|x| !x.is_finite()) {
            // An earlier problem is already recorded.
            return Ok(f64::NAN);
        }
        match functions::apply(&name, &args) {
            Ok(value) => Ok(self.finite(value, &args, at)),
            Err(message) => Ok(self.math_problem(message, at)),
        }
    }

    /// Comma-separated arguments up to, not including, the closing `)`.
    fn arguments(&mut self) -> Result<Vec<f64>, CalcError> {
        let mut args = Vec::new();
        if self.peek_token() == Some(&Token::RParen) {
            return Ok(args);
        }
        loop {
            args.push(self.sum()?);
            if self.peek_token() != Some(&Token::Comma) {
                return Ok(args);
            }
            self.bump();
        }
    }

    fn expect_close(&mut self, opened_at: usize, opener: &str) -> Result<(), CalcError> {
        match self.bump() {
            Some(Spanned {
                token: Token::RParen,
                ..
            }) => Ok(()),
            Some(Spanned {
                token: Token::Comma,
                at,
            }) => Err(CalcError::at(
                "unexpected `,` (commas only separate function arguments)",
                at,
            )),
            Some(other) => Err(self.trailing(&other)),
            None => Err(CalcError::at(
                format!("{opener} opened at position {opened_at} is never closed"),
                self.end_position(),
            )),
        }
    }

    /// Error for a token that cannot follow a complete operand.
    fn trailing(&self, extra: &Spanned) -> CalcError {
        let message = match &extra.token {
            Token::RParen => "unmatched `)`".to_owned(),
            Token::Comma => "unexpected `,` (commas only separate function arguments)".to_owned(),
            Token::Number(_) | Token::Name(_) | Token::LParen => format!(
                "missing operator before {} (write multiplication explicitly, e.g. 2*x)",
                extra.token.describe()
            ),
            other => format!("unexpected {}", other.describe()),
        };
        CalcError::at(message, extra.at)
    }
}
