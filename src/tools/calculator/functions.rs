//! Named constants and functions the calculator understands.

/// Constant names, for error messages.
pub(super) const CONSTANTS: &[&str] = &["pi", "e"];

/// Function names, for error messages.
pub(super) const FUNCTIONS: &[&str] = &[
    "sqrt", "abs", "ln", "log10", "sin", "cos", "tan", "exp", "round", "floor", "ceil", "min",
    "max",
];

/// Largest number of decimal digits `round` accepts, either way.
const MAX_ROUND_DIGITS: f64 = 15.0;

/// Value of a named constant.
pub(super) fn constant(name: &str) -> Option<f64> {
    match name {
        "pi" => Some(std::f64::consts::PI),
        "e" => Some(std::f64::consts::E),
        _ => None,
    }
}

/// Whether `name` is a known function.
pub(super) fn is_function(name: &str) -> bool {
    FUNCTIONS.contains(&name)
}

/// Checks the argument count for a function; the message says what it takes.
pub(super) fn check_arity(name: &str, given: usize) -> Result<(), String> {
    let (min, max, wording) = match name {
        "min" | "max" => (1, usize::MAX, "at least 1 argument"),
        "round" => (1, 2, "1 or 2 arguments (value, optional decimal digits)"),
        _ => (1, 1, "exactly 1 argument"),
    };
    if (min..=max).contains(&given) {
        Ok(())
    } else {
        Err(format!("`{name}` takes {wording}, got {given}"))
    }
}

/// Applies a known function to arguments of a checked count. A domain
/// error comes back as `Err` with a message; overflow is left for the
/// caller to notice as a non-finite value.
pub(super) fn apply(name: &str, args: &[f64]) -> Result<f64, String> {
    let x = args.first().copied().unwrap_or(f64::NAN);
    let value = match name {
        "sqrt" if x < 0.0 => return Err(format!("sqrt of a negative number ({x})")),
        "sqrt" => x.sqrt(),
        "ln" | "log10" if x <= 0.0 => {
            return Err(format!(
                "{name} is only defined for positive numbers, got {x}"
            ));
        }
        "ln" => x.ln(),
        "log10" => x.log10(),
        "abs" => x.abs(),
        "sin" => x.sin(),
        "cos" => x.cos(),
        "tan" => x.tan(),
        "exp" => x.exp(),
        "floor" => x.floor(),
        "ceil" => x.ceil(),
        "round" => round(x, args.get(1).copied())?,
        "min" => args.iter().copied().fold(f64::INFINITY, f64::min),
        "max" => args.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        _ => return Err(format!("unknown function `{name}`")),
    };
    Ok(value)
}

/// Rounds half away from zero, optionally to a number of decimal digits
/// (negative digits round to tens, hundreds, ...).
fn round(x: f64, digits: Option<f64>) -> Result<f64, String> {
    let Some(digits) = digits else {
        return Ok(x.round());
    };
    if digits.fract() != 0.0 || digits.abs() > MAX_ROUND_DIGITS {
        return Err(format!(
            "round's digits must be a whole number from -15 to 15, got {digits}"
        ));
    }
    let scale = 10f64.powf(digits);
    let scaled = x * scale;
    if !scaled.is_finite() {
        // Already whole at this precision.
        return Ok(x);
    }
    Ok(scaled.round() / scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arity_messages() {
        assert_eq!(check_arity("sqrt", 1), Ok(()));
        assert_eq!(
            check_arity("sqrt", 2),
            Err("`sqrt` takes exactly 1 argument, got 2".to_owned())
        );
        assert_eq!(check_arity("max", 5), Ok(()));
        assert!(check_arity("min", 0).is_err());
        assert_eq!(check_arity("round", 2), Ok(()));
        assert!(check_arity("round", 3).is_err());
    }

    #[test]
    fn rounding() {
        assert_eq!(round(2.5, None), Ok(3.0));
        assert_eq!(round(-2.5, None), Ok(-3.0));
        assert_eq!(round(1.23456, Some(2.0)), Ok(1.23));
        assert_eq!(round(1.235, Some(1.0)), Ok(1.2));
        assert_eq!(round(1234.0, Some(-2.0)), Ok(1200.0));
        assert_eq!(round(1e300, Some(15.0)), Ok(1e300));
        assert!(round(1.0, Some(0.5)).is_err());
        assert!(round(1.0, Some(16.0)).is_err());
    }

    #[test]
    fn domains() {
        assert!(apply("sqrt", &[-1.0]).is_err());
        assert_eq!(apply("sqrt", &[0.0]), Ok(0.0));
        assert!(apply("ln", &[0.0]).is_err());
        assert!(apply("log10", &[-3.0]).is_err());
        assert_eq!(apply("log10", &[1000.0]), Ok(3.0));
        assert_eq!(apply("min", &[3.0, -1.0, 2.0]), Ok(-1.0));
        assert_eq!(apply("max", &[3.0, -1.0, 2.0]), Ok(3.0));
        assert!(apply("nope", &[1.0]).is_err());
    }
}
