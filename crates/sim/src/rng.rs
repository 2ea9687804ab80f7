//! The simulator's deterministic randomness: a seeded generator and a stable string hash
//! (FNV-1a).
//!
//! Determinism matters more than quality here: a generated fleet must be the same for the same
//! seed, and a PBX's incidental numbers (disk usage, IPs, latency draws) must not change between
//! runs. Secrets and tokens use `ring`'s system random instead.

use rand::SeedableRng as _;

/// The generator behind every simulated number. rand's Xoshiro256++ is one of its "named
/// portable" generators: its stream for a seed does not change between releases or platforms
/// (`StdRng` makes no such promise).
pub(crate) type SimRng = rand::rngs::Xoshiro256PlusPlus;

/// A generator seeded with `seed`.
pub(crate) fn seeded(seed: u64) -> SimRng {
    SimRng::seed_from_u64(seed)
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
    fn stable_hash_is_fnv_1a() {
        // Reference values of 64-bit FNV-1a.
        assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(stable_hash("foobar"), 0x8594_4171_f739_67e8);
    }
}
