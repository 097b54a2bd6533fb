//! Money: exact decimal USD for prices and costs, stored as integer picodollars.

use std::str::FromStr;

use rust_decimal::{Decimal, prelude::ToPrimitive};
use serde::Serialize;

use crate::wire::Usage;

/// An amount in US dollars, exact (never a float).
pub type Usd = Decimal;

/// Picodollars (10⁻¹² USD) in one dollar.
const PICO: i64 = 1_000_000_000_000;

/// `usd` as whole picodollars, the unit sums are stored in (saturating; rounds half away from zero).
pub fn to_pico(usd: Usd) -> i64 {
    (usd * Decimal::from(PICO))
        .round()
        .to_i64()
        .unwrap_or(if usd.is_sign_negative() {
            i64::MIN
        } else {
            i64::MAX
        })
}

/// Picodollars back as dollars.
pub fn from_pico(pico: i64) -> Usd {
    Decimal::from_i128_with_scale(i128::from(pico), 12).normalize()
}

/// A configured price (a TOML float such as `0.15`) as an exact decimal: the float's shortest
/// decimal spelling, so `0.15` is 0.15 and not 0.1499999….
pub fn from_config(value: f64) -> Option<Usd> {
    if !value.is_finite() {
        return None;
    }
    Decimal::from_str(&format!("{value}")).ok()
}

/// For JSON and logs, where a number is expected (the exact value is kept in the ledger).
pub fn to_f64(usd: Usd) -> f64 {
    usd.to_f64().unwrap_or(0.0)
}

/// A model's prices in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Prices {
    /// Input tokens not read from the provider's prompt cache.
    pub input: Usd,
    /// Input tokens read from the provider's prompt cache.
    pub cached_input: Usd,
    /// Input tokens written to the provider's prompt cache (Anthropic).
    pub cache_write: Usd,
    /// Output tokens.
    pub output: Usd,
}

impl Prices {
    /// The cost of `usage`: cached and cache-write tokens at their own rates, the rest of the
    /// input at the input rate (each input token is priced once).
    pub fn cost(&self, usage: &Usage) -> Usd {
        let cached = usage.cached_tokens();
        let written = usage.cache_write_tokens();
        let plain = usage
            .prompt_tokens
            .saturating_sub(cached)
            .saturating_sub(written);
        let mtok = Decimal::from(1_000_000u32);
        (Decimal::from(plain) * self.input
            + Decimal::from(cached) * self.cached_input
            + Decimal::from(written) * self.cache_write
            + Decimal::from(usage.completion_tokens) * self.output)
            / mtok
    }

    /// Input plus output price, for ranking models by cost.
    pub fn weight(&self) -> Usd {
        self.input + self.output
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::wire::PromptTokensDetails;

    fn d(s: &str) -> Usd {
        Decimal::from_str(s).unwrap()
    }

    fn prices(i: &str, c: &str, w: &str, o: &str) -> Prices {
        Prices {
            input: d(i),
            cached_input: d(c),
            cache_write: d(w),
            output: d(o),
        }
    }

    #[test]
    fn plain_usage_is_priced_per_million() {
        // 1,000 in + 500 out at $2.50 / $10.00 per million.
        let p = prices("2.5", "1.25", "2.5", "10");
        assert_eq!(p.cost(&Usage::new(1000, 500)), d("0.0075"));
        assert_eq!(p.cost(&Usage::new(0, 0)), Decimal::ZERO);
    }

    #[test]
    fn cached_tokens_are_priced_once_at_their_own_rate() {
        // OpenAI: 1,000 prompt tokens of which 800 were cached.
        let p = prices("2.5", "1.25", "2.5", "10");
        let mut u = Usage::new(1000, 0);
        u.prompt_tokens_details = Some(PromptTokensDetails {
            cached_tokens: 800,
            cache_write_tokens: 0,
        });
        // 200 × 2.5 + 800 × 1.25 = 1500 → $0.0015
        assert_eq!(p.cost(&u), d("0.0015"));
        // Anthropic: 100 plain, 300 read, 600 written, at $3 / $0.30 / $3.75 / $15.
        let p = prices("3", "0.3", "3.75", "15");
        let mut u = Usage::new(1000, 10);
        u.prompt_tokens_details = Some(PromptTokensDetails {
            cached_tokens: 300,
            cache_write_tokens: 600,
        });
        // 300 + 90 + 2250 + 150 = 2790 micro → $0.00279
        assert_eq!(p.cost(&u), d("0.00279"));
    }

    #[test]
    fn sums_are_exact_where_floats_drift() {
        let p = prices("0.1", "0.1", "0.1", "0.2");
        let one = p.cost(&Usage::new(1, 1));
        let mut total = Decimal::ZERO;
        let mut float = 0.0f64;
        for _ in 0..10_000 {
            total += one;
            float += to_f64(one);
        }
        assert_eq!(total, d("0.003"));
        assert_ne!(
            float, 0.003,
            "the float sum drifts, which is why money is decimal"
        );
        assert_eq!(from_pico(to_pico(total)), total);
    }

    #[test]
    fn config_floats_keep_their_decimal_spelling() {
        assert_eq!(from_config(0.15), Some(d("0.15")));
        assert_eq!(from_config(0.0375), Some(d("0.0375")));
        assert_eq!(from_config(f64::NAN), None);
        assert_eq!(to_pico(d("0.0000375")), 37_500_000);
    }
}
