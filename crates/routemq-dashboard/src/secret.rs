//! Secrets: random tokens from the operating system, and comparisons that take
//! the same time whatever the guess (both sides are hashed first, so neither
//! their contents nor their lengths show in the timing).

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A SHA-256 digest.
pub(crate) type Digest32 = [u8; 32];

/// 32 random bytes from the operating system, as 64 lowercase hex digits.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of `text`.
pub(crate) fn digest(text: &[u8]) -> Digest32 {
    Sha256::digest(text).into()
}

/// True when `given` hashes to `expected`, compared in constant time.
pub(crate) fn matches(given: &[u8], expected: &Digest32) -> bool {
    digest(given).ct_eq(expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hex() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn matches_compares_the_whole_value() {
        let d = digest(b"secret");
        assert!(matches(b"secret", &d));
        assert!(!matches(b"secre", &d));
        assert!(!matches(b"secret2", &d));
        assert!(!matches(b"", &d));
    }
}
