//! The password policy the Cognito pool enforces (infra/template.yaml sets the same numbers),
//! checked here first so a weak password gets every broken rule named in one answer.

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 256;

/// A rule: the id the accept page checks live, the words the API answers with, and the check
/// (true when the password breaks it).
pub type Rule = (&'static str, &'static str, fn(&str) -> bool);

pub const RULES: &[Rule] = &[
    ("minLength", "must be at least 12 characters", |pw| {
        pw.chars().count() < MIN_LENGTH
    }),
    ("maxLength", "must be at most 256 characters", |pw| {
        pw.chars().count() > MAX_LENGTH
    }),
    ("lowercase", "must contain a lower-case letter", |pw| {
        !pw.chars().any(|c| c.is_ascii_lowercase())
    }),
    ("uppercase", "must contain an upper-case letter", |pw| {
        !pw.chars().any(|c| c.is_ascii_uppercase())
    }),
    ("digit", "must contain a digit", |pw| {
        !pw.chars().any(|c| c.is_ascii_digit())
    }),
    ("symbol", "must contain a symbol", |pw| {
        !pw.chars().any(|c| c.is_ascii_punctuation())
    }),
    // Cognito refuses leading and trailing spaces.
    ("noEdgeSpace", "must not start or end with a space", |pw| {
        pw.chars().next().is_some_and(char::is_whitespace)
            || pw.chars().last().is_some_and(char::is_whitespace)
    }),
];

pub fn problems(pw: &str) -> Vec<&'static str> {
    RULES
        .iter()
        .filter(|(_, _, broken)| broken(pw))
        .map(|(_, message, _)| *message)
        .collect()
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
