//! Integration tokens (docs/rules.md rule 21): how a customer's own system, not a person,
//! reads the company's events. A named token with scopes, made by an admin and shown once:
//! `vc_<id>.<secret>`, the id finding its record in one read, the secret 256 random bits kept
//! only as an argon2id hash (as invite links are: `domain::token`). A revoked token is refused
//! on its next request: every request reads the record.

use super::audit::Actor;
use super::error::{ApiError, FieldError};
use super::ids::IntegrationId;
use super::token::LinkToken;
use super::TenantId;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

/// What every integration token's text starts with: a token pasted into the wrong place (a log,
/// a ticket) is recognisable, and no Cognito access token (a JWT) ever starts so.
pub const PREFIX: &str = "vc_";

pub const MAX_NAME: usize = 64;

/// How stale `lastUsedAt` may be: a token in steady use writes it at most once per 5 minutes
/// (as a person's last activity, rule 5).
pub const LAST_USED_GRAIN: time::Duration = time::Duration::minutes(5);

/// What a token may do: read the events (rule 20), or provision people through directory
/// sync (SCIM, rule 22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Scope {
    #[serde(rename = "events:read")]
    EventsRead,
    #[serde(rename = "scim")]
    Scim,
}

impl Scope {
    pub const ALL: [Scope; 2] = [Scope::EventsRead, Scope::Scim];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::EventsRead => "events:read",
            Scope::Scim => "scim",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// An integration token's secret text, as the admin copies it once.
pub type IntegrationToken = LinkToken<IntegrationId>;

/// `vc_<id>.<secret>`: the one place the secret is rendered (the create answer).
pub fn expose(token: &IntegrationToken) -> String {
    format!("{PREFIX}{}", token.expose())
}

/// Any bearer value; `None` unless it has the shape of a token we issued.
pub fn parse(raw: &str) -> Option<IntegrationToken> {
    raw.strip_prefix(PREFIX).and_then(LinkToken::parse)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Maker {
    pub id: String,
    pub name: Option<String>,
}

impl From<&Actor> for Maker {
    fn from(a: &Actor) -> Maker {
        Maker {
            id: a.id.clone(),
            name: a.name.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    pub id: IntegrationId,
    pub tenant_id: TenantId,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// argon2id PHC string of the secret (never leaves the store).
    pub token_hash: String,
    pub created_at: OffsetDateTime,
    pub created_by: Maker,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_by: Option<Maker>,
}

impl Integration {
    pub fn allows(&self, scope: Scope) -> bool {
        self.revoked_at.is_none() && self.scopes.contains(&scope)
    }

    /// `active` or `revoked`: what the list and the audit log say of it.
    pub fn status(&self) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else {
            "active"
        }
    }

    /// Whether a request at `now` should record itself as the token's last use.
    pub fn use_is_news(&self, now: OffsetDateTime) -> bool {
        self.last_used_at.is_none_or(|t| now - t >= LAST_USED_GRAIN)
    }
}

/// What `POST /integrations` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntegration {
    pub name: String,
    pub scopes: Vec<Scope>,
}

pub fn new_integration(body: &Value) -> Result<NewIntegration, ApiError> {
    use super::validation::{object, required_text};
    let mut errs = Vec::new();
    let obj = object(body, &["name", "scopes"], "", &mut errs);
    let name = obj.and_then(|o| required_text(o, "name", MAX_NAME, "", &mut errs));
    let mut scopes = Vec::new();
    match obj.map(|o| o.get("scopes")) {
        None => {}
        Some(None | Some(Value::Null)) => errs.push(FieldError::new("scopes", "is required")),
        Some(Some(Value::Array(list))) if list.is_empty() => {
            errs.push(FieldError::new("scopes", "must name at least one scope"))
        }
        Some(Some(Value::Array(list))) => {
            for (i, v) in list.iter().enumerate() {
                match v.as_str().and_then(Scope::parse) {
                    Some(s) => scopes.push(s),
                    None => errs.push(FieldError::new(
                        format!("scopes/{i}"),
                        format!(
                            "must be one of: {}",
                            Scope::ALL.map(Scope::as_str).join(", ")
                        ),
                    )),
                }
            }
        }
        Some(Some(_)) => errs.push(FieldError::new("scopes", "must be a list of scopes")),
    }
    scopes.sort();
    scopes.dedup();
    match name {
        Some(name) if errs.is_empty() => Ok(NewIntegration { name, scopes }),
        _ => Err(ApiError::Invalid(errs)),
    }
}

/// An integration as the API shows it: never its hash.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationView {
    pub id: IntegrationId,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// `active` or `revoked`.
    pub status: &'static str,
    pub created_at: String,
    pub created_by: Maker,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<Maker>,
}

impl From<&Integration> for IntegrationView {
    fn from(i: &Integration) -> IntegrationView {
        IntegrationView {
            id: i.id.clone(),
            name: i.name.clone(),
            scopes: i.scopes.clone(),
            status: i.status(),
            created_at: super::timefmt::format(i.created_at),
            created_by: i.created_by.clone(),
            last_used_at: i.last_used_at.map(super::timefmt::format),
            revoked_at: i.revoked_at.map(super::timefmt::format),
            revoked_by: i.revoked_by.clone(),
        }
    }
}

/// What the audit log keeps of an integration (never its hash).
pub fn snapshot(i: &Integration) -> Value {
    serde_json::json!({
        "name": i.name,
        "scopes": i.scopes,
        "status": i.status(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_token_round_trips_and_nothing_else_parses() {
        let t = IntegrationToken::generate(&IntegrationId::generate());
        let text = expose(&t);
        assert!(text.starts_with("vc_"));
        let back = parse(&text).unwrap();
        assert_eq!(back.id(), t.id());
        let hash = t.hash();
        assert!(back.verify(&hash));
        for junk in [
            "",
            "vc_",
            &text[3..],
            &format!("vc_{}", "x".repeat(80)),
            "eyJhbGciOiJSUzI1NiJ9.e30.sig",
            &text[..text.len() - 1],
        ] {
            assert!(parse(junk).is_none(), "{junk}");
        }
        let other = IntegrationToken::generate(t.id());
        assert!(!other.verify(&hash), "another secret for the same id");
    }

    #[test]
    fn a_new_integration_names_each_problem() {
        let ok =
            new_integration(&json!({"name": " Zapier ", "scopes": ["events:read", "events:read"]}))
                .unwrap();
        assert_eq!(ok.name, "Zapier");
        assert_eq!(ok.scopes, vec![Scope::EventsRead]);
        let fields = |v: Value| match new_integration(&v) {
            Err(ApiError::Invalid(errs)) => errs.into_iter().map(|e| e.field).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(fields(json!({"scopes": []})), ["name", "scopes"]);
        assert_eq!(
            fields(json!({"name": "x", "scopes": ["admin", 3]})),
            ["scopes/0", "scopes/1"]
        );
        assert_eq!(
            fields(json!({"name": "x", "scopes": "events:read"})),
            ["scopes"]
        );
        assert_eq!(
            fields(json!({"name": "x", "scope": ["events:read"]})),
            ["scope", "scopes"]
        );
        assert_eq!(
            fields(json!({"name": "a\nb", "scopes": ["events:read"]})),
            ["name"]
        );
        assert_eq!(fields(json!([])), ["body"]);
    }

    #[test]
    fn a_revoked_token_allows_nothing() {
        let mut i = Integration {
            id: IntegrationId::generate(),
            tenant_id: "t1".into(),
            name: "n".into(),
            scopes: vec![Scope::EventsRead],
            token_hash: String::new(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            created_by: Maker {
                id: "u".into(),
                name: None,
            },
            last_used_at: None,
            revoked_at: None,
            revoked_by: None,
        };
        assert!(i.allows(Scope::EventsRead));
        assert!(i.use_is_news(OffsetDateTime::UNIX_EPOCH));
        i.last_used_at = Some(OffsetDateTime::UNIX_EPOCH);
        assert!(!i.use_is_news(OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(4)));
        assert!(i.use_is_news(OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(5)));
        i.revoked_at = Some(OffsetDateTime::UNIX_EPOCH);
        assert!(!i.allows(Scope::EventsRead));
        assert_eq!(IntegrationView::from(&i).status, "revoked");
        assert!(serde_json::to_string(&IntegrationView::from(&i))
            .unwrap()
            .find("Hash")
            .is_none());
    }
}
