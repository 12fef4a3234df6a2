//! Opaque ids: 128 random bits, lower-case hex (a user's id is its Cognito `sub`). Each kind
//! of id has its own type, so a user id can't be passed where an invite or tenant id is meant
//! (`Store::user_and_invite(user, invite)` once took two `&str`s). An id from outside (a path,
//! a body, a token, a Cognito answer, a stored row) becomes one only through `parse`, which
//! checks its shape, so junk never reaches a key expression.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// `None` unless `s` has the shape of an id this system issued (`looks_like_id`).
            pub fn parse(s: &str) -> Option<$name> {
                looks_like_id(s).then(|| $name(s.to_string()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// Out to a key or attribute value; in only through `parse`.
        impl From<&$name> for String {
            fn from(id: &$name) -> String {
                id.0.clone()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        /// Unit tests name ids by hand ("u1"); outside them an id is parsed or made new.
        #[cfg(test)]
        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                $name::parse(s).expect("a test id has an id's shape")
            }
        }
    };
}

id_type!(
    /// A user: the Cognito `sub` of their sign-in identity.
    UserId
);
id_type!(
    /// An invite; also the first half of its token.
    InviteId
);
id_type!(
    /// A company (tenant).
    TenantId
);
id_type!(
    /// An integration token's record; also the first half of its secret text.
    IntegrationId
);

impl InviteId {
    pub fn generate() -> InviteId {
        InviteId(new_id())
    }
}

impl TenantId {
    pub fn generate() -> TenantId {
        TenantId(new_id())
    }
}

impl IntegrationId {
    pub fn generate() -> IntegrationId {
        IntegrationId(new_id())
    }
}

id_type!(
    /// A directory group (rule 22): the identity provider's group as it pushed it.
    GroupId
);

impl GroupId {
    pub fn generate() -> GroupId {
        GroupId(new_id())
    }
}

#[allow(
    clippy::expect_used,
    reason = "without the OS random source no id or token can be safe; Lambda always has it"
)]
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

    #[test]
    fn typed_ids_take_only_an_ids_shape_and_serialise_as_plain_strings() {
        for bad in ["", "a#b", "../x", "a b", &"x".repeat(65)] {
            assert_eq!(UserId::parse(bad), None);
            assert_eq!(InviteId::parse(bad), None);
            assert_eq!(TenantId::parse(bad), None);
        }
        let u = UserId::parse("0f6c2f3a-7e1d-4c2b-9a55-1f2e3d4c5b6a").unwrap();
        assert_eq!(u.as_str(), "0f6c2f3a-7e1d-4c2b-9a55-1f2e3d4c5b6a");
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            "\"0f6c2f3a-7e1d-4c2b-9a55-1f2e3d4c5b6a\""
        );
        let i = InviteId::generate();
        assert_eq!(InviteId::parse(i.as_str()), Some(i.clone()));
        assert_ne!(i, InviteId::generate());
        assert_ne!(TenantId::generate(), TenantId::generate());
    }
}
