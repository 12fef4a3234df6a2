use argon2::password_hash::{Output, PasswordHash, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::fmt;

/// Cost of the argon2id hash of a token secret. Not the password baseline (19 MiB, 2 passes):
/// slow hashing protects low-entropy secrets from guessing, and this secret is 256 uniformly
/// random bits, which no guessing finishes at any hash speed. The baseline would only cost
/// 5× the CPU on every invite and accept, on Lambdas that get a fraction of a core, and
/// 19 MiB per concurrent hash. Still argon2id, salted, so a leaked table gives nothing usable.
pub const HASH_MEMORY_KIB: u32 = 4096;
pub const HASH_PASSES: u32 = 1;

#[allow(
    clippy::expect_used,
    reason = "constant parameters inside argon2's bounds (every token test builds them)"
)]
fn hash_params() -> Params {
    Params::new(HASH_MEMORY_KIB, HASH_PASSES, 1, Some(32))
        .expect("the constants are within argon2's limits")
}

/// One hash's working memory ([`HASH_MEMORY_KIB`]). A bulk invite's worker hashes all its
/// tokens in one, instead of asking the allocator for 4 MiB per token: freed blocks that
/// large get split by small allocations in between, and the heap grew by most of a block
/// per hash (73 MB peak for 25 rows before; see docs/benchmarks.md).
pub struct HashMemory(Vec<Block>);

impl HashMemory {
    pub fn new() -> HashMemory {
        HashMemory(vec![Block::default(); HASH_MEMORY_KIB as usize])
    }
}

impl Default for HashMemory {
    fn default() -> Self {
        Self::new()
    }
}

/// What a link token names before its secret: the record it opens, found in one read. Only
/// ids of the directory's own shape (`domain::ids`) are.
pub trait LinkId: Clone + fmt::Display {
    fn parse_id(s: &str) -> Option<Self>;
}

impl LinkId for super::InviteId {
    fn parse_id(s: &str) -> Option<Self> {
        super::InviteId::parse(s)
    }
}

impl LinkId for super::ids::IntegrationId {
    fn parse_id(s: &str) -> Option<Self> {
        super::ids::IntegrationId::parse(s)
    }
}

impl LinkId for super::UserId {
    fn parse_id(s: &str) -> Option<Self> {
        super::UserId::parse(s)
    }
}

/// A one-time link's token: the id of the record it opens (to find it in one read) and 256
/// random bits (the secret, stored only as an argon2id hash). Shown once, in the email link's
/// fragment. An invite link names its invite ([`InviteToken`]); a password-reset link names
/// its user, whose one reset record it opens ([`ResetToken`]).
#[derive(Clone)]
pub struct LinkToken<I> {
    id: I,
    secret: [u8; 32],
}

/// An invite link's token (docs/rules.md, rule 4).
pub type InviteToken = LinkToken<super::InviteId>;
/// A password-reset link's token (docs/rules.md, rule 13).
pub type ResetToken = LinkToken<super::UserId>;

impl<I: LinkId> LinkToken<I> {
    #[allow(
        clippy::expect_used,
        reason = "without the OS random source no token can be safe; Lambda always has it"
    )]
    pub fn generate(id: &I) -> LinkToken<I> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("the OS random source is available");
        LinkToken {
            id: id.clone(),
            secret,
        }
    }

    /// Any string a client sends; `None` unless it has the shape of a token we issued.
    pub fn parse(raw: &str) -> Option<LinkToken<I>> {
        let (id, secret) = raw.trim().split_once('.')?;
        let id = I::parse_id(id)?;
        if secret.len() != 43 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(secret).ok()?;
        let secret: [u8; 32] = bytes.try_into().ok()?;
        Some(LinkToken { id, secret })
    }

    /// The record the link opens.
    pub fn id(&self) -> &I {
        &self.id
    }

    /// The one place the secret is rendered: for the email link, never for a log.
    pub fn expose(&self) -> String {
        format!("{}.{}", self.id, URL_SAFE_NO_PAD.encode(self.secret))
    }

    /// argon2id with a random salt, at [`HASH_MEMORY_KIB`] and [`HASH_PASSES`].
    pub fn hash(&self) -> String {
        self.hash_in(&mut HashMemory::new())
    }

    /// As [`hash`](Self::hash), in working memory the caller reuses across tokens.
    pub fn hash_in(&self, memory: &mut HashMemory) -> String {
        hash_secret_in(&self.secret, memory)
    }

    /// Checks against a stored PHC string, with the parameters recorded in it (so hashes made
    /// with other parameters keep verifying).
    pub fn verify(&self, phc: &str) -> bool {
        verify_secret(&self.secret, phc)
    }
}

impl InviteToken {
    pub fn invite_id(&self) -> &super::InviteId {
        &self.id
    }
}

/// argon2id of any secret with a random salt, at [`HASH_MEMORY_KIB`] and [`HASH_PASSES`], as
/// a PHC string. Also what a public route's idempotency fingerprint is stored as, since the
/// request it prints holds a token and a password (`domain::idempotency`).
#[allow(
    clippy::expect_used,
    reason = "fixed salt and output sizes and constant parameters, all inside argon2's bounds"
)]
pub fn hash_secret_in(secret: &[u8], memory: &mut HashMemory) -> String {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the OS random source is available");
    let params = hash_params();
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(secret, &salt, &mut out, &mut memory.0[..])
        .expect("argon2 cannot fail with valid parameters");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt");
    PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: (&params)
            .try_into()
            .expect("the constants fit a PHC string"),
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).expect("32 bytes is a valid output")),
    }
    .to_string()
}

/// Whether `secret` hashes to the stored PHC string `phc` (its own parameters).
pub fn verify_secret(secret: &[u8], phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(secret, &parsed).is_ok(),
        Err(_) => false,
    }
}

impl<I: fmt::Display> fmt::Debug for LinkToken<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LinkToken({}.<redacted>)", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher;

    #[test]
    fn a_token_round_trips_through_its_link_form_and_verifies_against_its_hash() {
        let t = InviteToken::generate(&"abc123".into());
        let hash = t.hash();
        assert!(hash.starts_with("$argon2id$"));
        let back = InviteToken::parse(&t.expose()).unwrap();
        assert_eq!(back.invite_id(), "abc123");
        assert!(back.verify(&hash));
    }

    #[test]
    fn hashes_record_their_parameters_and_older_parameters_still_verify() {
        let t = InviteToken::generate(&"abc123".into());
        assert!(t.hash().contains("$m=4096,t=1,p=1$"));
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let baseline = Argon2::default()
            .hash_password(&t.secret, &salt)
            .unwrap()
            .to_string();
        assert!(baseline.contains("$m=19456,t=2,p=1$"));
        assert!(t.verify(&baseline));
        assert!(!InviteToken::generate(&"abc123".into()).verify(&baseline));
    }

    #[test]
    fn hashes_made_in_reused_memory_verify_and_are_what_the_standard_api_makes() {
        let mut memory = HashMemory::new();
        let a = InviteToken::generate(&"abc123".into());
        let b = InviteToken::generate(&"def456".into());
        let (ha, hb) = (a.hash_in(&mut memory), b.hash_in(&mut memory));
        assert!(a.verify(&ha) && b.verify(&hb));
        assert!(!a.verify(&hb) && !b.verify(&ha));
        // Same salt through argon2's own PHC path gives the same string.
        let parsed = PasswordHash::new(&ha).unwrap();
        let salt = parsed.salt.unwrap();
        let standard = Argon2::new(Algorithm::Argon2id, Version::V0x13, hash_params())
            .hash_password(&a.secret, salt)
            .unwrap()
            .to_string();
        assert_eq!(ha, standard);
    }

    #[test]
    fn another_token_for_the_same_invite_does_not_verify() {
        let old = InviteToken::generate(&"abc123".into());
        let new = InviteToken::generate(&"abc123".into());
        assert!(!old.verify(&new.hash()));
    }

    #[test]
    fn the_secret_carries_256_bits_and_is_never_in_debug_output() {
        let t = InviteToken::generate(&"abc123".into());
        let exposed = t.expose();
        let secret = exposed.split_once('.').unwrap().1;
        assert_eq!(URL_SAFE_NO_PAD.decode(secret).unwrap().len(), 32);
        assert!(!format!("{t:?}").contains(secret));
    }

    #[test]
    fn a_reset_token_names_its_user_and_an_invite_token_is_not_one() {
        let t = ResetToken::generate(&"u-1".into());
        let back = ResetToken::parse(&t.expose()).unwrap();
        assert_eq!(back.id(), "u-1");
        assert!(back.verify(&t.hash()));
        assert!(format!("{t:?}").contains("<redacted>"));
        let invite = InviteToken::generate(&"abc123".into());
        // Same shape, other record: the id names a user that has no reset of this secret.
        let as_reset = ResetToken::parse(&invite.expose()).unwrap();
        assert!(!as_reset.verify(&t.hash()));
    }

    #[test]
    fn malformed_tokens_do_not_parse_and_bad_hashes_do_not_verify() {
        for bad in ["", "abc", "abc.", ".xyz", "a#b.AAAA", "abc.short"] {
            assert!(InviteToken::parse(bad).is_none(), "{bad}");
        }
        let t = InviteToken::generate(&"abc".into());
        assert!(!t.verify("not a hash"));
        assert!(!t.verify(""));
    }
}
