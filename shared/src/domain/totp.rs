//! What an authenticator app is given to set up two-step verification (rule 14).

/// The issuer authenticator apps show above the code.
pub const ISSUER: &str = "VeloConnect";

/// The key URI an authenticator app reads from the QR code (the `otpauth://totp/` format
/// Google Authenticator defined and the others follow): the issuer and the account label,
/// then Cognito's base32 secret. SHA-1, 6 digits and 30 seconds are the format's defaults,
/// and Cognito's.
pub fn otpauth_uri(account: &str, secret: &str) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}",
        escape(ISSUER),
        escape(account),
        escape(secret),
        escape(ISSUER)
    )
}

/// Everything but the URI's unreserved characters percent-encoded: an address's `+`, `:` or
/// `&` would otherwise change what the app reads.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uri_names_the_issuer_and_the_account_and_carries_the_secret() {
        assert_eq!(
            otpauth_uri("ada@acme.test", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/VeloConnect:ada%40acme.test?secret=JBSWY3DPEHPK3PXP&issuer=VeloConnect"
        );
    }

    #[test]
    fn an_address_cannot_add_parameters_or_change_the_label() {
        let uri = otpauth_uri("a+b&secret=X:y@acme.test", "S");
        assert!(uri.contains("VeloConnect:a%2Bb%26secret%3DX%3Ay%40acme.test?"));
        assert_eq!(uri.matches('&').count(), 1);
        assert_eq!(uri.matches("secret=").count(), 1);
    }
}
