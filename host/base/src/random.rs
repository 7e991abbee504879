//! Randomness, injectable: execution names, request ids and retry jitter come from a
//! [`Random`], so a test (or a replay) can make them repeatable.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};

/// A source of random numbers.
pub trait Random: Send + Sync + Debug {
    /// 64 random bits.
    fn next_u64(&self) -> u64;

    /// A number in `[0, 1)`.
    fn unit(&self) -> f64 {
        // 53 bits: every value is exactly representable.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A random (version 4) UUID, hyphenated lower case.
    fn uuid(&self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }
}

/// The operating system's randomness.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemRandom;

impl Random for SystemRandom {
    fn next_u64(&self) -> u64 {
        // A v4 UUID is 122 bits from the OS's generator; take 64 of them.
        let bytes = uuid::Uuid::new_v4().into_bytes();
        u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"))
    }

    // One draw instead of the default's two: execution names are on the start path.
    fn uuid(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// A repeatable sequence (SplitMix64) from a seed, for tests and benchmarks.
#[derive(Debug, Default)]
pub struct SeededRandom(AtomicU64);

impl SeededRandom {
    /// The sequence that starts from `seed`.
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom(AtomicU64::new(seed))
    }
}

impl Random for SeededRandom {
    fn next_u64(&self) -> u64 {
        // SplitMix64 (Steele, Lea, Flood 2014): one add, then a bijective mix.
        let mut z = self
            .0
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_sequence_and_valid_uuids() {
        let (a, b) = (SeededRandom::new(42), SeededRandom::new(42));
        assert_eq!(a.uuid(), b.uuid());
        let id = a.uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4", "version 4: {id}");
        assert_ne!(
            SeededRandom::new(1).next_u64(),
            SeededRandom::new(2).next_u64()
        );
        let u = a.unit();
        assert!((0.0..1.0).contains(&u), "{u}");
    }

    #[test]
    fn the_system_source_differs_between_calls() {
        assert_ne!(SystemRandom.uuid(), SystemRandom.uuid());
    }
}
