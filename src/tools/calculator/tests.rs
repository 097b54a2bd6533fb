//! Unit tests for the calculator.

#![allow(clippy::unwrap_used, clippy::panic)]

use super::*;
use std::f64::consts::{E, PI};

fn eval(expression: &str) -> f64 {
    match evaluate(expression) {
        Ok(v) => v,
        Err(e) => panic!("{expression:?} failed: {e}"),
    }
}

fn fails(expression: &str) -> String {
    match evaluate(expression) {
        Ok(v) => panic!("{expression:?} evaluated to {v}"),
        Err(e) => e.to_string(),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn precedence() {
    assert_eq!(eval("1 + 2 * 3"), 7.0);
    assert_eq!(eval("(1 + 2) * 3"), 9.0);
    assert_eq!(eval("10 - 4 / 2"), 8.0);
    assert_eq!(eval("2 * 3 ^ 2"), 18.0);
    assert_eq!(eval("7 + 10 % 4"), 9.0);
    assert_eq!(eval("2 + 3 * 4 ^ 2 / 8 - 1"), 7.0);
}

#[test]
fn associativity() {
    assert_eq!(eval("10 - 4 - 3"), 3.0);
    assert_eq!(eval("64 / 4 / 2"), 8.0);
    assert_eq!(eval("100 % 7 % 3"), 2.0);
    assert_eq!(eval("2 ^ 3 ^ 2"), 512.0);
    assert_eq!(eval("2 ** 3 ** 2"), 512.0);
    assert_eq!(eval("(2 ^ 3) ^ 2"), 64.0);
}

#[test]
fn unary_signs() {
    assert_eq!(eval("-3"), -3.0);
    assert_eq!(eval("+3"), 3.0);
    assert_eq!(eval("--3"), 3.0);
    assert_eq!(eval("2 - -3"), 5.0);
    assert_eq!(eval("2 * -3"), -6.0);
    assert_eq!(eval("-2 ^ 2"), -4.0);
    assert_eq!(eval("(-2) ^ 2"), 4.0);
    assert_eq!(eval("2 ^ -1"), 0.5);
    assert_eq!(eval("-2 ^ -2"), -0.25);
    assert_eq!(eval("-(3 + 4)"), -7.0);
    assert_eq!(eval("+-+-1"), 1.0);
}

#[test]
fn remainder_follows_the_dividend_sign() {
    assert_eq!(eval("7 % 3"), 1.0);
    assert_eq!(eval("-7 % 3"), -1.0);
    assert_eq!(eval("7 % -3"), 1.0);
    assert_eq!(eval("5.5 % 2"), 1.5);
}

#[test]
fn literals() {
    assert_eq!(eval("0.1 + 0.2"), 0.1 + 0.2);
    assert_eq!(eval("1.5e3"), 1500.0);
    assert_eq!(eval("1E-3 * 1000"), 1.0);
    assert_eq!(eval(".5 + 5."), 5.5);
    assert_eq!(eval("  42\t\n"), 42.0);
    assert_eq!(eval("1e308"), 1e308);
}

#[test]
fn constants_and_functions() {
    assert_eq!(eval("pi"), PI);
    assert_eq!(eval("E"), E);
    assert_eq!(eval("2*pi"), 2.0 * PI);
    assert_eq!(eval("sqrt(16)"), 4.0);
    assert_eq!(eval("SQRT(2) ^ 2").round(), 2.0);
    assert_eq!(eval("abs(-3.5)"), 3.5);
    assert!(close(eval("ln(e ^ 3)"), 3.0));
    assert_eq!(eval("log10(1e-4)"), -4.0);
    assert!(close(eval("sin(pi / 2)"), 1.0));
    assert!(close(eval("cos(pi)"), -1.0));
    assert!(close(eval("tan(pi / 4)"), 1.0));
    assert!(close(eval("exp(1)"), E));
    assert_eq!(eval("round(2.5)"), 3.0);
    assert_eq!(eval("round(-2.5)"), -3.0);
    assert_eq!(eval("round(pi * 100, 3)"), 314.159);
    assert_eq!(eval("floor(-1.5)"), -2.0);
    assert_eq!(eval("ceil(-1.5)"), -1.0);
    assert_eq!(eval("min(3, 1, 2)"), 1.0);
    assert_eq!(eval("max(3, 1 + 5, 2)"), 6.0);
    assert_eq!(eval("max(7)"), 7.0);
    assert_eq!(eval("sqrt(max(9, 4) + min(16, 25, 7))"), 4.0);
}

#[test]
fn arithmetic_errors_are_clear() {
    assert_eq!(fails("1 / 0"), "division by zero at position 3");
    assert_eq!(fails("1 / (2 - 2)"), "division by zero at position 3");
    assert!(fails("5 % 0").starts_with("remainder by zero"));
    assert!(fails("0 ^ -1").starts_with("division by zero (zero to a negative power)"));
    assert!(fails("(-8) ^ (1/3)").contains("fractional power"));
    assert!(fails("10 ^ 400").starts_with("overflow"));
    assert!(fails("1e308 * 10").starts_with("overflow"));
    assert!(fails("-1e308 - 1e308").starts_with("overflow"));
    assert!(fails("exp(1000)").starts_with("overflow"));
    assert!(fails("sqrt(-4)").starts_with("sqrt of a negative number"));
    assert!(fails("ln(0)").starts_with("ln is only defined for positive numbers"));
    assert!(fails("log10(-1)").contains("positive numbers"));
    assert!(fails("round(1, 0.5)").contains("whole number"));
    // The first problem is the one reported.
    assert_eq!(fails("1/0 + sqrt(-1)"), "division by zero at position 2");
}

#[test]
fn syntax_errors_win_over_arithmetic_errors() {
    assert_eq!(
        fails("1/0 +"),
        "`+` is missing its right-hand operand at position 5"
    );
}

#[test]
fn syntax_errors_are_clear() {
    assert_eq!(fails(""), "expression is empty");
    assert_eq!(fails("   "), "expression is empty");
    assert_eq!(
        fails("1 +"),
        "`+` is missing its right-hand operand at position 3"
    );
    assert!(fails("50 %").contains("write a percentage as e.g. 15/100*80"));
    assert_eq!(
        fails("(1 + 2"),
        "`(` opened at position 1 is never closed at position 7"
    );
    assert_eq!(fails("1 + 2)"), "unmatched `)` at position 6");
    assert_eq!(
        fails("()"),
        "unexpected `)`; expected a number, a name or `(` at position 2"
    );
    assert!(fails("2 pi").starts_with("missing operator before name `pi`"));
    assert!(fails("2(3)").starts_with("missing operator before `(`"));
    assert!(fails("3 4").starts_with("missing operator before number 4"));
    assert!(fails("* 3").starts_with("unexpected `*`"));
    assert!(fails("1 ** * 2").starts_with("unexpected `*`"));
    assert!(fails("1, 2").starts_with("unexpected `,`"));
    assert!(fails("(1, 2)").starts_with("unexpected `,`"));
    assert!(fails("max(1,)").starts_with("unexpected `)`"));
    assert!(fails("max(,1)").starts_with("unexpected `,`"));
    assert!(fails("max(1 2)").starts_with("missing operator"));
    assert_eq!(
        fails("sqrt(1, 2)"),
        "`sqrt` takes exactly 1 argument, got 2 at position 1"
    );
    assert!(fails("sqrt()").contains("got 0"));
    assert!(fails("min()").contains("at least 1 argument"));
    assert!(fails("sqrt 4").contains("needs its arguments in parentheses"));
    assert!(fails("pi(2)").contains("is a constant, not a function"));
    let unknown = fails("foo(1)");
    assert!(unknown.starts_with("unknown name `foo`; constants: pi, e; functions: sqrt"));
    assert!(fails("x + 1").starts_with("unknown name `x`"));
    assert!(fails("sqrt(4").contains("`sqrt(` opened at position 1 is never closed"));
}

#[test]
fn refuses_code_and_unicode_garbage() {
    for input in [
        "__import__('os').system('ls')",
        "1; drop table",
        "a = 1",
        "\"1+1\"",
        "1 + 1 # comment",
        "２＋２",
        "\u{202e}1+1",
        "1\u{0}+1",
        "🦀 * 2",
        "√4",
        "1 ≤ 2",
    ] {
        assert!(evaluate(input).is_err(), "{input:?} was accepted");
    }
}

#[test]
fn typographic_operators_work() {
    assert_eq!(eval("6 × 7"), 42.0);
    assert_eq!(eval("84 ÷ 2"), 42.0);
    assert_eq!(eval("50 − 8"), 42.0);
}

#[test]
fn huge_and_tiny_numbers() {
    assert_eq!(eval("1.7976931348623157e308"), f64::MAX);
    assert!(fails("1.8e308").contains("too large"));
    assert!(fails(&"9".repeat(400)).contains("too large"));
    assert_eq!(eval("1e-400"), 0.0);
    assert_eq!(eval("2 ^ 1023 * 1.5"), 2f64.powi(1023) * 1.5);
    assert_eq!(eval("9007199254740993"), 9_007_199_254_740_992.0);
}

#[test]
fn length_limit() {
    let ok = format!("1{}", "+1".repeat((MAX_EXPRESSION_CHARS - 1) / 2));
    assert_eq!(ok.chars().count(), MAX_EXPRESSION_CHARS - 1);
    assert_eq!(eval(&ok), 500.0);
    let too_long = format!("{ok}+1");
    assert_eq!(
        fails(&too_long),
        "expression is 1001 characters long; the limit is 1000"
    );
    // Counted in characters, not bytes.
    let wide = format!("1{}", " ".repeat(400)).replace(' ', "\u{3000}");
    assert_eq!(eval(&wide), 1.0);
}

#[test]
fn depth_limit_holds_without_overflowing_the_stack() {
    let nested = |n: usize| format!("{}1{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(eval(&nested(parser::MAX_DEPTH)), 1.0);
    assert_eq!(
        fails(&nested(parser::MAX_DEPTH + 1)),
        "expression nests more than 64 levels deep at position 65"
    );
    assert!(fails(&"(".repeat(999)).contains("nests more than 64 levels"));
    assert!(fails(&"-".repeat(999)).contains("nests more than 64 levels"));
    assert!(fails(&format!("{}1", "sqrt(".repeat(150))).contains("nests more than"));
    assert!(fails(&"2^".repeat(300)).contains("nests more than"));
    assert_eq!(eval(&format!("{}1", "-".repeat(64))), 1.0);
}

#[test]
fn json_numbers() {
    assert_eq!(json_number(4.0), Some(json!(4)));
    assert_eq!(json_number(-0.0), Some(json!(0)));
    assert_eq!(json_number(0.5), Some(json!(0.5)));
    assert_eq!(json_number(-12.0), Some(json!(-12)));
    assert_eq!(
        json_number(9_007_199_254_740_992.0),
        Some(json!(9_007_199_254_740_992_i64))
    );
    assert_eq!(json_number(1e20), Some(json!(1e20)));
    assert_eq!(json_number(f64::NAN), None);
    assert_eq!(json_number(f64::INFINITY), None);
    assert_eq!(json_number(1e20).and_then(|v| v.as_f64()), Some(1e20));
    assert_eq!(json_number(2.5e-7).and_then(|v| v.as_f64()), Some(2.5e-7));
}

#[test]
fn tool_call_shapes_the_result() {
    let tool = Calculator::new();
    assert_eq!(tool.spec().name, "calculator");
    assert_eq!(
        tool.call(&json!({"expression": "6 * 7"})),
        Ok(json!({"expression": "6 * 7", "value": 42}))
    );
    assert_eq!(
        tool.call(&json!({"expression": "1/4"})),
        Ok(json!({"expression": "1/4", "value": 0.25}))
    );
    assert_eq!(
        tool.call(&json!({"expression": "1/0"})),
        Err(ToolError::failed(
            "cannot evaluate expression: division by zero at position 2"
        ))
    );
    assert!(tool.call(&json!({"expr": "1"})).is_err());
}

#[test]
fn registry_checks_calculator_arguments() {
    let mut registry = crate::tools::ToolRegistry::new();
    registry.register(Calculator::new()).unwrap();
    assert!(
        registry
            .validate("calculator", r#"{"expression": "1+1"}"#)
            .is_ok()
    );
    let long = format!(r#"{{"expression": "{}"}}"#, "1".repeat(1001));
    let err = registry
        .validate("calculator", &long)
        .unwrap_err()
        .to_string();
    assert!(err.contains("at /expression: "), "{err}");
    let err = registry
        .validate("calculator", r#"{"expression": ""}"#)
        .unwrap_err();
    assert!(err.to_string().contains("at /expression: "), "{err}");
}
