//! Property tests: the calculator never panics, and on small integer
//! expressions it agrees with an exact reference evaluation done here.

use proptest::prelude::*;

use super::evaluate;

/// Largest magnitude at which integer arithmetic in `f64` stays exact.
const EXACT: i128 = 1 << 53;

#[derive(Debug, Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Rem,
    Pow,
}

#[derive(Debug, Clone)]
enum Expr {
    Num(i64),
    Neg(Box<Expr>),
    /// Parentheses the renderer would not need.
    Group(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
}

/// Why the reference gave no exact integer.
#[derive(Debug, PartialEq)]
enum Skip {
    /// `x % 0`: the calculator must report an error.
    ZeroDivisor,
    /// Too large, or a negative exponent: no exact comparison possible.
    Inexact,
}

fn in_range(v: Option<i128>) -> Result<i128, Skip> {
    v.filter(|v| v.abs() <= EXACT).ok_or(Skip::Inexact)
}

/// Exact evaluation with checked integer arithmetic.
fn reference(e: &Expr) -> Result<i128, Skip> {
    match e {
        Expr::Num(n) => Ok(i128::from(*n)),
        Expr::Neg(inner) => Ok(-reference(inner)?),
        Expr::Group(inner) => reference(inner),
        Expr::Bin(op, l, r) => {
            let (l, r) = (reference(l)?, reference(r)?);
            match op {
                Op::Add => in_range(l.checked_add(r)),
                Op::Sub => in_range(l.checked_sub(r)),
                Op::Mul => in_range(l.checked_mul(r)),
                Op::Rem if r == 0 => Err(Skip::ZeroDivisor),
                // Truncating remainder, the same convention as the calculator.
                Op::Rem => Ok(l % r),
                Op::Pow => {
                    let exp = u32::try_from(r).map_err(|_| Skip::Inexact)?;
                    if exp > 64 {
                        return Err(Skip::Inexact);
                    }
                    in_range(l.checked_pow(exp))
                }
            }
        }
    }
}

/// Binding strength: sum 1, product 2, sign 3, power 4, atom 5.
fn precedence(e: &Expr) -> u8 {
    match e {
        Expr::Num(_) | Expr::Group(_) => 5,
        Expr::Neg(_) => 3,
        Expr::Bin(Op::Add | Op::Sub, ..) => 1,
        Expr::Bin(Op::Mul | Op::Rem, ..) => 2,
        Expr::Bin(Op::Pow, ..) => 4,
    }
}

/// Writes `e` with only the parentheses its tree shape requires (plus
/// the `Group` ones), so precedence and associativity are exercised.
fn render(e: &Expr, space: &str) -> String {
    let child = |c: &Expr, min: u8| {
        let text = render(c, space);
        if precedence(c) >= min {
            text
        } else {
            format!("({text})")
        }
    };
    match e {
        Expr::Num(n) => n.to_string(),
        Expr::Group(inner) => format!("({})", render(inner, space)),
        Expr::Neg(inner) => format!("-{}", child(inner, 3)),
        Expr::Bin(op, l, r) => {
            // Left-associative operators need a tighter right operand;
            // power is right-associative and takes only an atom on its left.
            let (symbol, left_min, right_min) = match op {
                Op::Add => ("+", 1, 2),
                Op::Sub => ("-", 1, 2),
                Op::Mul => ("*", 2, 3),
                Op::Rem => ("%", 2, 3),
                Op::Pow => ("^", 5, 3),
            };
            format!(
                "{}{space}{symbol}{space}{}",
                child(l, left_min),
                child(r, right_min)
            )
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Add),
        Just(Op::Sub),
        Just(Op::Mul),
        Just(Op::Rem),
        Just(Op::Pow),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = (0i64..=20).prop_map(Expr::Num);
    leaf.prop_recursive(5, 32, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Neg(Box::new(e))),
            inner.clone().prop_map(|e| Expr::Group(Box::new(e))),
            (op(), inner.clone(), inner).prop_map(|(op, l, r)| Expr::Bin(
                op,
                Box::new(l),
                Box::new(r)
            )),
        ]
    })
}

/// Characters the grammar knows, plus a few it does not, so random strings
/// get past the lexer often enough to reach the parser.
const ALPHABET: &[char] = &[
    '0', '1', '2', '9', '.', 'e', 'E', '+', '-', '*', '/', '%', '^', '(', ')', ',', ' ', 'p', 'i',
    's', 'q', 'r', 't', 'm', 'a', 'x', 'n', 'l', 'o', 'g', '×', '−', 'é', '\u{0}',
];

fn grammar_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..120)
        .prop_map(|chars| chars.into_iter().collect())
}

fn check_no_panic(input: &str) -> Result<(), TestCaseError> {
    if let Ok(value) = evaluate(input) {
        prop_assert!(value.is_finite(), "{input:?} gave {value}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_any_string(input in any::<String>()) {
        check_no_panic(&input)?;
    }

    #[test]
    fn never_panics_on_grammar_soup(input in grammar_soup()) {
        check_no_panic(&input)?;
    }

    #[test]
    fn matches_exact_integer_reference(e in expr(), spaced in any::<bool>()) {
        let text = render(&e, if spaced { " " } else { "" });
        match reference(&e) {
            Ok(expected) => {
                let got = evaluate(&text);
                // Every intermediate is an integer below 2^53, so f64 is exact.
                prop_assert_eq!(got, Ok(expected as f64), "{} from {:?}", text, e);
            }
            Err(Skip::ZeroDivisor) => {
                let got = evaluate(&text);
                prop_assert!(got.is_err(), "{} gave {:?}", text, got);
            }
            Err(Skip::Inexact) => check_no_panic(&text)?,
        }
    }
}

#[test]
fn renderer_uses_only_needed_parentheses() {
    use Expr::*;
    let n = |v| Box::new(Num(v));
    let pow = Bin(Op::Pow, n(2), Box::new(Bin(Op::Pow, n(3), n(2))));
    assert_eq!(render(&pow, ""), "2^3^2");
    assert_eq!(reference(&pow), Ok(512));
    let left_pow = Bin(Op::Pow, Box::new(Bin(Op::Pow, n(2), n(3))), n(2));
    assert_eq!(render(&left_pow, ""), "(2^3)^2");
    let neg_base = Bin(Op::Pow, Box::new(Neg(n(2))), n(2));
    assert_eq!(render(&neg_base, ""), "(-2)^2");
    let sub = Bin(Op::Sub, n(1), Box::new(Bin(Op::Sub, n(2), n(3))));
    assert_eq!(render(&sub, " "), "1 - (2 - 3)");
    assert_eq!(reference(&Bin(Op::Rem, n(1), n(0))), Err(Skip::ZeroDivisor));
}
