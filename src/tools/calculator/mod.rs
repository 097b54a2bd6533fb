//! The `calculator` tool: a small arithmetic language parsed by hand, never
//! handed to an interpreter.

mod functions;
mod lexer;
mod parser;
#[cfg(test)]
mod proptests;

use std::fmt;

use serde_json::{Value, json};

use super::error::ToolError;
use super::spec::{Tool, ToolSpec, required_str};

/// Longest expression accepted, in characters.
pub const MAX_EXPRESSION_CHARS: usize = 1_000;

/// Largest magnitude below which every integer is exact in an `f64`.
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalcError {
    message: String,
    /// 1-based character position the problem was found at, if any.
    position: Option<usize>,
}

impl CalcError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            position: None,
        }
    }

    fn at(message: impl Into<String>, position: usize) -> Self {
        Self {
            message: message.into(),
            position: Some(position),
        }
    }

    /// 1-based character position of the problem, when it has one.
    pub fn position(&self) -> Option<usize> {
        self.position
    }
}

impl fmt::Display for CalcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(at) => write!(f, "{} at position {at}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for CalcError {}

/// Evaluates an arithmetic expression to a finite `f64`.
///
/// Supports `+ - * / %` (remainder, sign of the left operand), `^` or `**`
/// (power, right-associative, binding tighter than unary minus), unary
/// signs, parentheses, decimal and scientific literals, the constants `pi`
/// and `e`, and the functions listed in the tool description. Names are
/// case-insensitive; trigonometry is in radians. Expressions are limited to
/// [`MAX_EXPRESSION_CHARS`] characters and 64 levels of nesting.
pub fn evaluate(expression: &str) -> Result<f64, CalcError> {
    let length = expression.chars().count();
    if length > MAX_EXPRESSION_CHARS {
        return Err(CalcError::new(format!(
            "expression is {length} characters long; the limit is {MAX_EXPRESSION_CHARS}"
        )));
    }
    let tokens = lexer::tokenize(expression)?;
    if tokens.is_empty() {
        return Err(CalcError::new("expression is empty"));
    }
    parser::evaluate(&tokens)
}

/// A finite `f64` as a JSON number, written as an integer when it is one
/// exactly and small enough to be exact.
pub fn json_number(value: f64) -> Option<Value> {
    if value == 0.0 {
        // Also folds -0 into 0.
        return Some(json!(0));
    }
    if value.fract() == 0.0 && value.abs() <= EXACT_INTEGER_LIMIT {
        return Some(json!(value as i64));
    }
    serde_json::Number::from_f64(value).map(Value::Number)
}

/// The `calculator` tool.
#[derive(Debug, Clone)]
pub struct Calculator {
    spec: ToolSpec,
}

impl Calculator {
    /// Creates the tool with its spec.
    pub fn new() -> Self {
        let spec = ToolSpec::new(
            "calculator",
            "Evaluates an arithmetic expression and returns its exact numeric value. \
             Use it instead of doing arithmetic yourself. Supports + - * / % (remainder) \
             and ^ (power), parentheses, unary minus, numbers like 2.5 or 1.2e-3, the \
             constants pi and e, and the functions sqrt, abs, ln, log10, sin, cos, tan \
             (radians), exp, round(x) or round(x, digits), floor, ceil, min(a, b, ...) \
             and max(a, b, ...). Write multiplication explicitly (2*pi, not 2pi).",
            json!({
                "type": "object",
                "properties": {
                    "expression": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": MAX_EXPRESSION_CHARS,
                        "description": "The expression, e.g. \"(3 + 4.5) * 2^10 / sqrt(2)\""
                    }
                },
                "required": ["expression"],
                "additionalProperties": false
            }),
        );
        Self { spec }
    }
}

impl Default for Calculator {
    fn default() -> Self {
        Self::new()
    }
}

impl Tool for Calculator {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn call(&self, args: &Value) -> Result<Value, ToolError> {
        let expression = required_str(args, "expression")?;
        let value = evaluate(expression)
            .map_err(|err| ToolError::failed(format!("cannot evaluate expression: {err}")))?;
        let value = json_number(value)
            .ok_or_else(|| ToolError::failed("the result is not a finite number"))?;
        Ok(json!({ "expression": expression, "value": value }))
    }
}

#[cfg(test)]
mod tests;
