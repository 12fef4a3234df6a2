//! Authenticator codes as an app computes them (RFC 6238: HMAC-SHA-1, 30-second steps, six
//! digits), from the base32 secret Cognito hands out, so tests sign in with real codes.
//! Moto gives every user one fixed secret (`MOTO_SECRET`) and checks the code of the current
//! step only; Cognito also accepts the step before.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The secret moto's AssociateSoftwareToken answers for everyone.
pub const MOTO_SECRET: &str = "asdfasdfasdf";

/// The six-digit code of `secret` (base32, any case, padding optional) at `unix` seconds.
pub fn code_at(secret: &str, unix: u64) -> String {
    let key = base32(secret);
    let mac = hmac_sha1(&key, &(unix / 30).to_be_bytes());
    let at = (mac[19] & 0x0f) as usize;
    let n = u32::from_be_bytes([mac[at] & 0x7f, mac[at + 1], mac[at + 2], mac[at + 3]]);
    format!("{:06}", n % 1_000_000)
}

/// A code that stays the current one for a few seconds: near the end of a step this waits
/// for the next, since moto accepts only the current step's code.
pub async fn fresh_code(secret: &str) -> String {
    let now = unix_now();
    if now % 30 >= 26 {
        tokio::time::sleep(Duration::from_secs(30 - now % 30)).await;
    }
    code_at(secret, unix_now())
}

/// A code that is not the current one (nor the step's neighbours): what a wrong guess is.
pub fn wrong_code(secret: &str) -> String {
    let now = unix_now();
    let near: Vec<String> = (0..3).map(|i| code_at(secret, now - 30 + i * 30)).collect();
    (0..1_000_000u32)
        .map(|n| format!("{:06}", (n * 7919 + 123_457) % 1_000_000))
        .find(|c| !near.contains(c))
        .unwrap_or_else(|| "000000".into())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn base32(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .unwrap_or_else(|| panic!("{c:?} is not base32")) as u32;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn hmac_sha1(key: &[u8], msg: &[u8]) -> [u8; 20] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..20].copy_from_slice(&sha1(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    inner.extend_from_slice(msg);
    let mut outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    outer.extend_from_slice(&sha1(&inner));
    sha1(&outer)
}

fn sha1(msg: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut m = msg.to_vec();
    m.push(0x80);
    while m.len() % 64 != 56 {
        m.push(0);
    }
    m.extend_from_slice(&((msg.len() as u64) * 8).to_be_bytes());
    for block in m.chunks(64) {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                block[4 * i],
                block[4 * i + 1],
                block[4 * i + 2],
                block[4 * i + 3],
            ]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238s_sha1_vectors() {
        // The RFC's key is the ASCII "12345678901234567890"; its 8-digit codes end in these six.
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(code_at(secret, 59), "287082");
        assert_eq!(code_at(secret, 1111111109), "081804");
        assert_eq!(code_at(secret, 1234567890), "005924");
        assert_eq!(code_at(secret, 2000000000), "279037");
    }

    #[test]
    fn sha1_of_abc() {
        let d = sha1(b"abc");
        assert_eq!(d[..4], [0xa9, 0x99, 0x3e, 0x36]);
    }
}
