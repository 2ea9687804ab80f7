//! A tiny deterministic pseudo-random generator (SplitMix64) and a stable string hash (FNV-1a).
//!
//! Determinism matters more than quality here: a generated fleet must be the same for the same
//! seed, and a PBX's incidental numbers (disk usage, IPs, latency draws) must not change between
//! runs. Secrets and tokens use `ring`'s system random instead.

/// SplitMix64: small, fast and good enough for simulated data.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `low..=high` (returns `low` when the range is empty).
    pub(crate) fn range(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        let span = high - low;
        if span == u64::MAX {
            return self.next_u64();
        }
        low + self.next_u64() % (span + 1)
    }

    /// True with the given probability in percent (0–100, fractions allowed).
    pub(crate) fn chance(&mut self, percent: f64) -> bool {
        // 53 random bits give a uniform float in [0, 1).
        #[allow(
            clippy::cast_precision_loss,
            reason = "53 bits fit an f64 mantissa exactly"
        )]
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit * 100.0 < percent
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let last = items.len().saturating_sub(1) as u64;
        let index = usize::try_from(self.range(0, last)).unwrap_or(0);
        &items[index]
    }
}

/// FNV-1a, a stable 64-bit hash of a string (Rust's `DefaultHasher` is not stable across
/// releases).
pub(crate) fn stable_hash(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_sequence() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn range_stays_inside_bounds() {
        let mut rng = SplitMix64::new(1);
        for _ in 0..1000 {
            let n = rng.range(20, 200);
            assert!((20..=200).contains(&n));
        }
        assert_eq!(rng.range(5, 5), 5);
    }
}
