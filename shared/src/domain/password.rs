//! The password policy the Cognito pool enforces (infra/template.yaml sets the same numbers),
//! checked here first so a weak password gets every broken rule named in one answer.

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 256;

pub fn problems(pw: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let n = pw.chars().count();
    if n < MIN_LENGTH {
        out.push("must be at least 12 characters");
    }
    if n > MAX_LENGTH {
        out.push("must be at most 256 characters");
    }
    if !pw.chars().any(|c| c.is_ascii_lowercase()) {
        out.push("must contain a lower-case letter");
    }
    if !pw.chars().any(|c| c.is_ascii_uppercase()) {
        out.push("must contain an upper-case letter");
    }
    if !pw.chars().any(|c| c.is_ascii_digit()) {
        out.push("must contain a digit");
    }
    if !pw.chars().any(|c| c.is_ascii_punctuation()) {
        out.push("must contain a symbol");
    }
    if pw.chars().next().is_some_and(char::is_whitespace)
        || pw.chars().last().is_some_and(char::is_whitespace)
    {
        // Cognito refuses leading and trailing spaces.
        out.push("must not start or end with a space");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strong_password_passes() {
        assert!(problems("Correct-Horse-42").is_empty());
    }

    #[test]
    fn every_broken_rule_is_named() {
        let p = problems("short");
        assert!(p.contains(&"must be at least 12 characters"));
        assert!(p.contains(&"must contain an upper-case letter"));
        assert!(p.contains(&"must contain a digit"));
        assert!(p.contains(&"must contain a symbol"));
        assert!(!p.contains(&"must contain a lower-case letter"));
        assert!(problems(" Correct-Horse-42").contains(&"must not start or end with a space"));
    }
}
