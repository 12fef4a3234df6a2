//! Opaque ids: 128 random bits, lower-case hex. Path ids from clients are checked for shape
//! first so that junk never reaches a key expression.

pub fn new_id() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS random source is available");
    hex(&b)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Whether `s` could be an id this system issued (ours, or a Cognito `sub`).
pub fn looks_like_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_distinct_32_hex_chars() {
        let a = new_id();
        assert_eq!(a.len(), 32);
        assert!(looks_like_id(&a));
        assert_ne!(a, new_id());
    }

    #[test]
    fn path_junk_is_not_an_id() {
        for bad in ["", "a#b", "../x", "a b", &"x".repeat(65)] {
            assert!(!looks_like_id(bad));
        }
        assert!(looks_like_id("0f6c2f3a-7e1d-4c2b-9a55-1f2e3d4c5b6a"));
    }
}
