//! Canonical usage and cost.
//!
//! Token fields never overlap: `input` excludes tokens read from or written to the cache on
//! every API, and `total_tokens` is the sum of the four. Cost is USD from the model's prices.

use serde::{Deserialize, Serialize};

/// USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    #[serde(default)]
    pub cache_read: f64,
    #[serde(default)]
    pub cache_write: f64,
}

/// The price of a request whose prompt (input, cache reads and cache writes together) is
/// larger than `context_over` tokens: models.dev's `context_over_200k` and `[[cost.tiers]]`.
/// Providers bill the whole request at the tier's rates once the prompt crosses it, not
/// only the tokens past the boundary.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTier {
    pub context_over: u64,
    pub price: Price,
}

/// The price that applies to a request of `prompt_tokens`: the largest tier it exceeds,
/// else the base price. Tiers may come in any order.
#[must_use]
pub fn price_for_prompt<'a>(base: &'a Price, tiers: &'a [PriceTier], prompt_tokens: u64) -> &'a Price {
    tiers.iter().filter(|t| prompt_tokens > t.context_over).max_by_key(|t| t.context_over).map_or(base, |t| &t.price)
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
    pub cache_write: f64,
    pub total: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub total_tokens: u64,
    pub cost: Cost,
}

/// Token counts as a wire API reports them, already split so they do not overlap.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TokenCounts {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    /// A charge in USD the provider reported itself (OpenRouter's `usage.cost`).
    pub reported_cost: Option<f64>,
}

impl TokenCounts {
    /// Split an OpenAI-style `prompt_tokens` (which includes cached tokens) into
    /// non-overlapping counts; saturating, since some servers report cached > prompt.
    #[must_use]
    pub fn from_inclusive_prompt(prompt: u64, cache_read: u64, cache_write: u64, output: u64) -> Self {
        Self {
            input: prompt.saturating_sub(cache_read).saturating_sub(cache_write),
            output,
            cache_read,
            cache_write,
            reported_cost: None,
        }
    }
}

/// No real count comes near this, but a server may send any number: clamping to it keeps
/// the sum of the four exact in `u64` and each count exact as an `f64`.
const MAX_TOKENS: u64 = 1 << 52;

impl Usage {
    /// Canonical usage with cost from `price`. A provider-reported total wins over the
    /// computed one; the caller marks the message's `cost_source` accordingly.
    #[must_use]
    pub fn from_counts(counts: TokenCounts, price: &Price) -> Self {
        let counts = TokenCounts {
            input: counts.input.min(MAX_TOKENS),
            output: counts.output.min(MAX_TOKENS),
            cache_read: counts.cache_read.min(MAX_TOKENS),
            cache_write: counts.cache_write.min(MAX_TOKENS),
            reported_cost: counts.reported_cost,
        };
        Self::priced(counts, price)
    }

    /// Canonical usage priced by the tier the request's prompt falls in.
    #[must_use]
    pub fn from_counts_tiered(counts: TokenCounts, price: &Price, tiers: &[PriceTier]) -> Self {
        let prompt = counts.input.saturating_add(counts.cache_read).saturating_add(counts.cache_write);
        Self::from_counts(counts, price_for_prompt(price, tiers, prompt))
    }

    #[allow(clippy::cast_precision_loss)] // counts are clamped to 2^52
    fn priced(counts: TokenCounts, price: &Price) -> Self {
        let per = |tokens: u64, usd_per_million: f64| tokens as f64 * usd_per_million / 1_000_000.0;
        let input = per(counts.input, price.input);
        let output = per(counts.output, price.output);
        let cache_read = per(counts.cache_read, price.cache_read);
        let cache_write = per(counts.cache_write, price.cache_write);
        let computed = input + output + cache_read + cache_write;
        let total = match counts.reported_cost {
            Some(c) if c.is_finite() && c >= 0.0 => c,
            _ => computed,
        };
        Self {
            input: counts.input,
            output: counts.output,
            cache_read: counts.cache_read,
            cache_write: counts.cache_write,
            total_tokens: counts.input + counts.output + counts.cache_read + counts.cache_write,
            cost: Cost { input, output, cache_read, cache_write, total },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_uses_every_price() {
        let price = Price { input: 3.0, output: 15.0, cache_read: 0.3, cache_write: 3.75 };
        let counts =
            TokenCounts { input: 1_000, output: 2_000, cache_read: 100_000, cache_write: 10_000, reported_cost: None };
        let u = Usage::from_counts(counts, &price);
        assert_eq!(u.total_tokens, 113_000);
        assert!((u.cost.input - 0.003).abs() < 1e-12);
        assert!((u.cost.output - 0.03).abs() < 1e-12);
        assert!((u.cost.cache_read - 0.03).abs() < 1e-12);
        assert!((u.cost.cache_write - 0.0375).abs() < 1e-12);
        assert!((u.cost.total - 0.1005).abs() < 1e-12);
    }

    /// Claude Opus 4.6's sheet: $5/$25 per million, $10/$37.50 above 200k prompt tokens.
    const OPUS: Price = Price { input: 5.0, output: 25.0, cache_read: 0.5, cache_write: 6.25 };
    const OPUS_LONG: Price = Price { input: 10.0, output: 37.5, cache_read: 1.0, cache_write: 12.5 };

    #[test]
    fn a_prompt_at_the_boundary_keeps_the_base_price_and_one_token_more_crosses_it() {
        let tiers = [PriceTier { context_over: 200_000, price: OPUS_LONG }];
        let at = TokenCounts { input: 150_000, cache_read: 50_000, output: 1_000, ..Default::default() };
        let u = Usage::from_counts_tiered(at, &OPUS, &tiers);
        // 150k * $5 + 50k * $0.50 + 1k * $25 per million = 0.75 + 0.025 + 0.025
        assert_eq!(format!("{:.5}", u.cost.total), "0.80000");
        let over = TokenCounts { input: 150_001, ..at };
        let u = Usage::from_counts_tiered(over, &OPUS, &tiers);
        // the whole request at the long-context rates: 1.50001 + 0.05 + 0.0375
        assert_eq!(format!("{:.5}", u.cost.total), "1.58751");
        assert_eq!(format!("{:.5}", u.cost.cache_read), "0.05000");
    }

    #[test]
    fn cache_writes_count_toward_the_prompt_and_the_largest_crossed_tier_wins() {
        let mid = Price { input: 2.0, output: 4.0, cache_read: 0.2, cache_write: 2.5 };
        let top = Price { input: 3.0, output: 6.0, cache_read: 0.3, cache_write: 3.75 };
        // Out of order on purpose: nothing may rely on the registry sorting them.
        let tiers = [PriceTier { context_over: 500_000, price: top }, PriceTier { context_over: 128_000, price: mid }];
        let base = Price { input: 1.0, output: 2.0, cache_read: 0.1, cache_write: 1.25 };
        let c = TokenCounts { input: 100_000, cache_write: 28_001, output: 10, ..Default::default() };
        assert_eq!(price_for_prompt(&base, &tiers, 128_001), &mid);
        let u = Usage::from_counts_tiered(c, &base, &tiers);
        assert_eq!(format!("{:.5}", u.cost.total), format!("{:.5}", 0.2 + 28_001.0 * 2.5 / 1e6 + 10.0 * 4.0 / 1e6));
        assert_eq!(price_for_prompt(&base, &tiers, 500_001), &top);
        assert_eq!(price_for_prompt(&base, &tiers, 500_000), &mid);
        assert_eq!(price_for_prompt(&base, &tiers, 0), &base);
        assert_eq!(price_for_prompt(&base, &[], u64::MAX), &base);
    }

    #[test]
    fn reported_cost_wins() {
        let price = Price { input: 1.0, output: 1.0, cache_read: 0.0, cache_write: 0.0 };
        let counts = TokenCounts { input: 10, output: 10, reported_cost: Some(0.5), ..Default::default() };
        assert!((Usage::from_counts(counts, &price).cost.total - 0.5).abs() < 1e-12);
    }

    #[test]
    fn absurd_counts_are_clamped_so_the_total_stays_their_sum() {
        let price = Price { input: 1.0, output: 1.0, cache_read: 1.0, cache_write: 1.0 };
        let counts = TokenCounts { input: u64::MAX, output: u64::MAX, cache_read: 7, ..Default::default() };
        let u = Usage::from_counts(counts, &price);
        assert_eq!((u.input, u.output, u.cache_read), (MAX_TOKENS, MAX_TOKENS, 7));
        assert_eq!(u.total_tokens, u.input + u.output + u.cache_read + u.cache_write);
        assert!(u.cost.total.is_finite());
    }

    #[test]
    fn inclusive_prompt_is_split_without_overlap() {
        let c = TokenCounts::from_inclusive_prompt(1000, 800, 50, 7);
        assert_eq!((c.input, c.cache_read, c.cache_write, c.output), (150, 800, 50, 7));
        let c = TokenCounts::from_inclusive_prompt(10, 800, 0, 0);
        assert_eq!(c.input, 0);
    }
}
