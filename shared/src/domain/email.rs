use std::fmt;

/// An email address that passed validation. `normalized()` is the identity used for
/// uniqueness (trimmed, lower-cased); `as_str()` keeps what the admin typed, trimmed.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    display: String,
    normalized: String,
}

const FORBIDDEN_LOCAL: &[char] = &['<', '>', '(', ')', '[', ']', '\\', ',', ';', ':', '"', '@'];

impl Email {
    pub fn parse(raw: &str) -> Result<Email, &'static str> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("is required");
        }
        if s.len() > 254 {
            return Err("must be at most 254 characters");
        }
        if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("must not contain spaces or control characters");
        }
        let (local, domain) = s.rsplit_once('@').ok_or("must contain '@'")?;
        if local.is_empty() || local.len() > 64 {
            return Err("must have 1 to 64 characters before '@'");
        }
        if local.contains(FORBIDDEN_LOCAL)
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
        {
            return Err("has characters that are not allowed before '@'");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err("must have a domain with a dot after '@'");
        }
        for label in &labels {
            let ok = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !ok {
                return Err("has an invalid domain after '@'");
            }
        }
        let tld = labels[labels.len() - 1];
        if tld.len() < 2 || !tld.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err("has an invalid domain after '@'");
        }
        if !local.is_ascii() {
            return Err("must use plain ASCII characters before '@'");
        }
        Ok(Email {
            display: s.to_string(),
            normalized: s.to_ascii_lowercase(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.display
    }

    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

/// Written as the address typed (the display form), as every answer and snapshot shows it.
impl serde::Serialize for Email {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.display)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.display)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_surrounding_space_do_not_make_a_different_address() {
        let a = Email::parse("  Jane.Doe@Example.COM ").unwrap();
        let b = Email::parse("jane.doe@example.com").unwrap();
        assert_eq!(a.normalized(), b.normalized());
        assert_eq!(a.as_str(), "Jane.Doe@Example.COM");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "   ",
            "jane",
            "jane@",
            "@example.com",
            "jane@example",
            "jane@@example.com",
            "ja ne@example.com",
            "jane@exa_mple.com",
            "jane@-example.com",
            "jane@example.c0m",
            "jane\r\nBcc: x@y.com@example.com",
            "<jane>@example.com",
            ".jane@example.com",
            "ja..ne@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn ordinary_addresses_are_accepted() {
        for good in [
            "a@b.co",
            "jane+sales@mail.example.org",
            "o'brien@example.ie",
        ] {
            assert!(Email::parse(good).is_ok(), "{good:?} should be accepted");
        }
    }
}
