//! Request parsing that names every problem at once. A value that comes out is valid.

use super::email::Email;
use super::error::{ApiError, FieldError};
use super::password;
use super::role::Role;
use serde_json::{Map, Value};

pub const MAX_BATCH: usize = 25;

fn path(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}/{field}")
    }
}

/// The body as a JSON object whose keys are all in `allowed`; unknown keys are named, so a
/// typo like `emial` doesn't silently drop a field.
pub fn object<'a>(
    v: &'a Value,
    allowed: &[&str],
    prefix: &str,
    errs: &mut Vec<FieldError>,
) -> Option<&'a Map<String, Value>> {
    let Some(obj) = v.as_object() else {
        let at = if prefix.is_empty() { "body" } else { prefix };
        errs.push(FieldError::new(at, "must be a JSON object"));
        return None;
    };
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            errs.push(FieldError::new(path(prefix, k), "is not a known field"));
        }
    }
    Some(obj)
}

fn string<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    prefix: &str,
    errs: &mut Vec<FieldError>,
) -> Option<&'a str> {
    match obj.get(key) {
        None | Some(Value::Null) => {
            errs.push(FieldError::new(path(prefix, key), "is required"));
            None
        }
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            errs.push(FieldError::new(path(prefix, key), "must be a string"));
            None
        }
    }
}

/// A display text: trimmed, 1..=max characters, no control characters (they could break an
/// email header or a log line).
pub fn text(raw: &str, max: usize) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters or line breaks".into());
    }
    Ok(s.to_string())
}

pub fn required_text(
    obj: &Map<String, Value>,
    key: &str,
    max: usize,
    prefix: &str,
    errs: &mut Vec<FieldError>,
) -> Option<String> {
    let s = string(obj, key, prefix, errs)?;
    text(s, max)
        .map_err(|m| errs.push(FieldError::new(path(prefix, key), m)))
        .ok()
}

pub fn email(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    errs: &mut Vec<FieldError>,
) -> Option<Email> {
    let s = string(obj, key, prefix, errs)?;
    Email::parse(s)
        .map_err(|m| errs.push(FieldError::new(path(prefix, key), m)))
        .ok()
}

pub fn role(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    errs: &mut Vec<FieldError>,
) -> Option<Role> {
    let s = string(obj, key, prefix, errs)?;
    Role::parse(s.trim())
        .ok_or_else(|| {
            errs.push(FieldError::new(
                path(prefix, key),
                "must be one of agent, supervisor, admin",
            ))
        })
        .ok()
}

/// `team` is optional: absent or null means no team.
pub fn team(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    errs: &mut Vec<FieldError>,
) -> Option<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => match text(s, 64) {
            Ok(t) => Some(Some(t)),
            Err(m) => {
                errs.push(FieldError::new(
                    path(prefix, key),
                    format!("{m} (omit it or send null for no team)"),
                ));
                None
            }
        },
        Some(_) => {
            errs.push(FieldError::new(
                path(prefix, key),
                "must be a string or null",
            ));
            None
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct InviteInput {
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub team: Option<String>,
    /// The request's `timeZone`, the same for every row of a batch.
    pub time_zone: Option<String>,
    /// Directory sync's link for a person it creates (its `scim_id` is filled in with the new
    /// invite's id); `None` for everyone an admin invites.
    pub managed: Option<super::user::Managed>,
}

/// `timeZone` is optional: the IANA zone the invite email writes the expiry in (the console
/// sends the browser's); absent or null means UTC.
fn time_zone(obj: &Map<String, Value>, errs: &mut Vec<FieldError>) -> Option<Option<String>> {
    match obj.get("timeZone") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => super::email_template::time_zone(s)
            .map(Some)
            .map_err(|m| errs.push(FieldError::new("timeZone", m)))
            .ok(),
        Some(_) => {
            errs.push(FieldError::new("timeZone", "must be a string or null"));
            None
        }
    }
}

fn invite_row(v: &Value, prefix: &str, errs: &mut Vec<FieldError>) -> Option<InviteInput> {
    let fields: &[&str] = if prefix.is_empty() {
        &["email", "name", "role", "team", "timeZone"]
    } else {
        &["email", "name", "role", "team"]
    };
    let obj = object(v, fields, prefix, errs)?;
    let email = email(obj, "email", prefix, errs);
    let name = required_text(obj, "name", 100, prefix, errs);
    let role = role(obj, "role", prefix, errs);
    let team = team(obj, "team", prefix, errs);
    Some(InviteInput {
        email: email?,
        name: name?,
        role: role?,
        team: team?,
        time_zone: None,
        managed: None,
    })
}

/// `POST /invites` takes one invite `{email, name, role, team?}` or `{invites: [...]}` of up
/// to 25. Returns the rows, or every problem found (including emails repeated in the batch).
pub fn invite_request(body: &Value) -> Result<(Vec<InviteInput>, bool), Vec<FieldError>> {
    let mut errs = Vec::new();
    let batch = body.get("invites").is_some();
    let mut rows: Vec<Option<InviteInput>> = if batch {
        let Some(obj) = object(body, &["invites", "timeZone"], "", &mut errs) else {
            return Err(errs);
        };
        match obj.get("invites") {
            Some(Value::Array(items)) if items.is_empty() => {
                errs.push(FieldError::new("invites", "must hold at least one invite"));
                vec![]
            }
            Some(Value::Array(items)) if items.len() > MAX_BATCH => {
                errs.push(FieldError::new(
                    "invites",
                    format!("must hold at most {MAX_BATCH} invites; split the list"),
                ));
                vec![]
            }
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| invite_row(v, &format!("invites/{i}"), &mut errs))
                .collect(),
            _ => {
                errs.push(FieldError::new("invites", "must be an array"));
                vec![]
            }
        }
    } else {
        vec![invite_row(body, "", &mut errs)]
    };

    let zone = body
        .as_object()
        .and_then(|obj| time_zone(obj, &mut errs))
        .flatten();
    for row in rows.iter_mut().flatten() {
        row.time_zone = zone.clone();
    }
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let Some(row) = row else { continue };
        let key = row.email.normalized();
        if let Some((_, first)) = seen.iter().find(|(e, _)| *e == key) {
            errs.push(FieldError::new(
                format!("invites/{i}/email"),
                format!("repeats the email of invites/{first}"),
            ));
        } else {
            seen.push((key, i));
        }
    }
    if errs.is_empty() {
        Ok((rows.into_iter().flatten().collect(), batch))
    } else {
        Err(errs)
    }
}

/// `PUT /users/{id}/role`'s edit, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleEdit {
    pub role: Role,
    /// `None`: keep the team; `Some(None)`: no team.
    pub team: Option<Option<String>>,
    /// The version the client edited, if it says; a different current one is a conflict.
    pub version: Option<u64>,
    /// `None`: keep it.
    pub max_chats: Option<u32>,
}

/// A chat capacity: a whole number from 1 to `MAX_CHATS_LIMIT`.
pub fn max_chats(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    errs: &mut Vec<FieldError>,
) -> Option<u32> {
    let limit = super::user::MAX_CHATS_LIMIT;
    match obj.get(key).and_then(Value::as_u64) {
        Some(n) if (1..=u64::from(limit)).contains(&n) => Some(n as u32),
        _ => {
            errs.push(FieldError::new(
                path(prefix, key),
                format!("must be a whole number from 1 to {limit}"),
            ));
            None
        }
    }
}

/// `PUT /users/{id}/role` takes `{role, team?, maxChats?, version?}`: a team that is absent
/// is kept, a null one removed; an absent capacity is kept.
pub fn role_edit(body: &Value) -> Result<RoleEdit, ApiError> {
    let mut errs = Vec::new();
    let Some(obj) = object(
        body,
        &["role", "team", "maxChats", "version"],
        "",
        &mut errs,
    ) else {
        return Err(ApiError::Invalid(errs));
    };
    let cap = match obj.get("maxChats") {
        None => Some(None),
        Some(_) => max_chats(obj, "maxChats", "", &mut errs).map(Some),
    };
    let r = role(obj, "role", "", &mut errs);
    let t = if obj.contains_key("team") {
        team(obj, "team", "", &mut errs).map(Some)
    } else {
        Some(None)
    };
    let version = match obj.get("version") {
        None => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(n),
            None => {
                errs.push(FieldError::new(
                    "version",
                    "must be a whole number (omit it to skip the check)",
                ));
                None
            }
        },
    };
    match (r, t, cap, errs.is_empty()) {
        (Some(role), Some(team), Some(max_chats), true) => Ok(RoleEdit {
            role,
            team,
            version,
            max_chats,
        }),
        _ => Err(ApiError::Invalid(errs)),
    }
}

fn token_field(body: &Value, allowed: &[&str], errs: &mut Vec<FieldError>) -> Option<String> {
    let obj = object(body, allowed, "", errs)?;
    match obj.get("token") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            errs.push(FieldError::new("token", "is required"));
            None
        }
        Some(_) => {
            errs.push(FieldError::new("token", "must be a string"));
            None
        }
    }
}

/// `POST /invites/preview` takes `{token}`: the raw token, for the use case to judge.
pub fn preview_request(body: &Value) -> Result<String, ApiError> {
    let mut errs = Vec::new();
    let raw = token_field(body, &["token"], &mut errs);
    raw.filter(|_| errs.is_empty())
        .ok_or(ApiError::Invalid(errs))
}

/// `password`: required, a string, and within the pool's policy. A weak one is its own
/// problem (400 `weak-password` with each broken rule), but only once the rest of the body
/// is well formed.
fn password_field(body: &Value, errs: &mut Vec<FieldError>) -> Result<Option<String>, ApiError> {
    new_password_field(body, "password", errs)
}

/// A password to set, at `key`: as `password_field` says.
fn new_password_field(
    body: &Value,
    key: &'static str,
    errs: &mut Vec<FieldError>,
) -> Result<Option<String>, ApiError> {
    match body.get(key) {
        Some(Value::String(p)) => {
            let problems = password::problems(p);
            if problems.is_empty() {
                Ok(Some(p.clone()))
            } else if errs.is_empty() {
                Err(ApiError::WeakPassword(
                    problems
                        .into_iter()
                        .map(|m| FieldError::new(key, m))
                        .collect(),
                ))
            } else {
                Ok(None)
            }
        }
        None | Some(Value::Null) => {
            errs.push(FieldError::new(key, "is required"));
            Ok(None)
        }
        Some(_) => {
            errs.push(FieldError::new(key, "must be a string"));
            Ok(None)
        }
    }
}

/// `POST /invites/accept` takes `{token, password}`: the raw token and a password within
/// the policy.
pub fn accept_request(body: &Value) -> Result<(String, String), ApiError> {
    let mut errs = Vec::new();
    let raw = token_field(body, &["token", "password"], &mut errs);
    let pw = password_field(body, &mut errs)?;
    match (raw, pw, errs.is_empty()) {
        (Some(raw), Some(pw), true) => Ok((raw, pw)),
        _ => Err(ApiError::Invalid(errs)),
    }
}

/// `POST /password-resets` takes `{email, timeZone?}`: the address as typed (it must be one,
/// which says nothing about whether it is anyone's) and the zone the email writes the expiry in.
pub fn reset_request(body: &Value) -> Result<(Email, Option<String>), ApiError> {
    let mut errs = Vec::new();
    let Some(obj) = object(body, &["email", "timeZone"], "", &mut errs) else {
        return Err(ApiError::Invalid(errs));
    };
    let address = email(obj, "email", "", &mut errs);
    let zone = time_zone(obj, &mut errs);
    match (address, zone, errs.is_empty()) {
        (Some(a), Some(z), true) => Ok((a, z)),
        _ => Err(ApiError::Invalid(errs)),
    }
}

/// `POST /users/{id}/password-reset` takes `{timeZone?}`, or no body at all.
pub fn admin_reset_request(body: &Value) -> Result<Option<String>, ApiError> {
    let mut errs = Vec::new();
    let zone = object(body, &["timeZone"], "", &mut errs).and_then(|o| time_zone(o, &mut errs));
    match (zone, errs.is_empty()) {
        (Some(z), true) => Ok(z),
        _ => Err(ApiError::Invalid(errs)),
    }
}

/// `POST /me/password` takes `{currentPassword, newPassword}`: the current one as typed (Cognito
/// judges it), the new one within the policy and not the current one.
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}

pub fn password_change_request(body: &Value) -> Result<PasswordChange, ApiError> {
    let mut errs = Vec::new();
    let current = object(body, &["currentPassword", "newPassword"], "", &mut errs).and_then(|o| {
        match o.get("currentPassword") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::String(_)) | None | Some(Value::Null) => {
                errs.push(FieldError::new("currentPassword", "is required"));
                None
            }
            Some(_) => {
                errs.push(FieldError::new("currentPassword", "must be a string"));
                None
            }
        }
    });
    let new = new_password_field(body, "newPassword", &mut errs)?;
    if let (Some(c), Some(n)) = (&current, &new) {
        if c == n {
            errs.push(FieldError::new(
                "newPassword",
                "must differ from the current password",
            ));
        }
    }
    match (current, new, errs.is_empty()) {
        (Some(current), Some(new), true) => Ok(PasswordChange { current, new }),
        _ => Err(ApiError::Invalid(errs)),
    }
}

/// `{code}`: six digits from an authenticator app (spaces people type between the groups
/// are dropped).
pub fn mfa_code_request(body: &Value) -> Result<String, ApiError> {
    let mut errs = Vec::new();
    let code = object(body, &["code"], "", &mut errs).and_then(|o| match o.get("code") {
        Some(Value::String(s)) => {
            let digits: String = s.chars().filter(|c| *c != ' ').collect();
            if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
                Some(digits)
            } else {
                errs.push(FieldError::new(
                    "code",
                    "must be the 6 digits your app shows",
                ));
                None
            }
        }
        None | Some(Value::Null) => {
            errs.push(FieldError::new("code", "is required"));
            None
        }
        Some(_) => {
            errs.push(FieldError::new("code", "must be a string"));
            None
        }
    });
    match (code, errs.is_empty()) {
        (Some(code), true) => Ok(code),
        _ => Err(ApiError::Invalid(errs)),
    }
}

/// Turning two-step verification off: the caller's password and a current code.
pub struct MfaOff {
    pub password: String,
    pub code: String,
}

pub fn mfa_off_request(body: &Value) -> Result<MfaOff, ApiError> {
    let mut errs = Vec::new();
    let password =
        object(body, &["password", "code"], "", &mut errs).and_then(|o| match o.get("password") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::String(_)) | None | Some(Value::Null) => {
                errs.push(FieldError::new("password", "is required"));
                None
            }
            Some(_) => {
                errs.push(FieldError::new("password", "must be a string"));
                None
            }
        });
    let code = match body.as_object().map(|o| {
        let mut only = serde_json::Map::new();
        if let Some(c) = o.get("code") {
            only.insert("code".into(), c.clone());
        }
        Value::Object(only)
    }) {
        Some(only) => match mfa_code_request(&only) {
            Ok(c) => Some(c),
            Err(ApiError::Invalid(mut e)) => {
                errs.append(&mut e);
                None
            }
            Err(_) => None,
        },
        None => None,
    };
    match (password, code, errs.is_empty()) {
        (Some(password), Some(code), true) => Ok(MfaOff { password, code }),
        _ => Err(ApiError::Invalid(errs)),
    }
}

/// `{policy}`: `off` or `admins`.
pub fn mfa_policy_request(body: &Value) -> Result<super::tenant::MfaPolicy, ApiError> {
    let mut errs = Vec::new();
    let policy = object(body, &["policy"], "", &mut errs).and_then(|o| {
        match o
            .get("policy")
            .and_then(Value::as_str)
            .and_then(super::tenant::MfaPolicy::parse)
        {
            Some(p) => Some(p),
            None => {
                errs.push(FieldError::new("policy", "must be off or admins"));
                None
            }
        }
    });
    match (policy, errs.is_empty()) {
        (Some(p), true) => Ok(p),
        _ => Err(ApiError::Invalid(errs)),
    }
}

/// One row of a quick edit (`PATCH /users`): whose, at which version, and what changes (an
/// absent field keeps its value).
#[derive(Debug, Clone, PartialEq)]
pub struct RowEdit {
    pub id: super::UserId,
    pub version: u64,
    pub role: Option<Role>,
    /// `Some(None)`: no team.
    pub team: Option<Option<String>>,
    pub availability: Option<super::user::Availability>,
    pub max_chats: Option<u32>,
}

/// The most rows one quick edit takes: every row is two items of one transaction (the user
/// and its audit entry), and DynamoDB takes 100.
pub const QUICK_EDIT_MAX: usize = 25;

/// `PATCH /users` takes `{changes: [{id, version, role?, team?, availability?, maxChats?}]}`,
/// 1–25 rows, each user once. Every bad field is named (`changes/2/maxChats`).
pub fn quick_edit_request(body: &Value) -> Result<Vec<RowEdit>, ApiError> {
    let mut errs = Vec::new();
    let Some(obj) = object(body, &["changes"], "", &mut errs) else {
        return Err(ApiError::Invalid(errs));
    };
    let rows = match obj.get("changes") {
        Some(Value::Array(a)) if (1..=QUICK_EDIT_MAX).contains(&a.len()) => a,
        _ => {
            errs.push(FieldError::new(
                "changes",
                format!("must be a list of 1 to {QUICK_EDIT_MAX} changes"),
            ));
            return Err(ApiError::Invalid(errs));
        }
    };
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        // As an invite batch names its rows (`invites/1/email`).
        let at = format!("changes/{i}");
        let Some(o) = object(
            row,
            &["id", "version", "role", "team", "availability", "maxChats"],
            &at,
            &mut errs,
        ) else {
            continue;
        };
        let id = match o
            .get("id")
            .and_then(Value::as_str)
            .map(super::UserId::parse)
        {
            Some(Some(id)) => {
                if !seen.insert(id.clone()) {
                    errs.push(FieldError::new(
                        path(&at, "id"),
                        "appears twice (one change per user)",
                    ));
                }
                Some(id)
            }
            _ => {
                errs.push(FieldError::new(path(&at, "id"), "must be a user's id"));
                None
            }
        };
        let version = o.get("version").and_then(Value::as_u64);
        if version.is_none() {
            errs.push(FieldError::new(
                path(&at, "version"),
                "is required: the version the row was read at",
            ));
        }
        let r = match o.get("role") {
            None => Some(None),
            Some(_) => role(o, "role", &at, &mut errs).map(Some),
        };
        let t = match o.get("team") {
            None => Some(None),
            Some(_) => team(o, "team", &at, &mut errs).map(Some),
        };
        let a = match o.get("availability") {
            None => Some(None),
            Some(v) => match v.as_str().and_then(super::user::Availability::parse) {
                Some(a) => Some(Some(a)),
                None => {
                    errs.push(FieldError::new(
                        path(&at, "availability"),
                        "must be available, away or dnd",
                    ));
                    None
                }
            },
        };
        let m = match o.get("maxChats") {
            None => Some(None),
            Some(_) => max_chats(o, "maxChats", &at, &mut errs).map(Some),
        };
        if let (
            Some(id),
            Some(version),
            Some(role),
            Some(team),
            Some(availability),
            Some(max_chats),
        ) = (id, version, r, t, a, m)
        {
            out.push(RowEdit {
                id,
                version,
                role,
                team,
                availability,
                max_chats,
            });
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::Invalid(errs))
    }
}

/// `{maxChats}`: the company's default for users who join.
pub fn default_max_chats_request(body: &Value) -> Result<u32, ApiError> {
    let mut errs = Vec::new();
    let n = object(body, &["maxChats"], "", &mut errs)
        .and_then(|o| max_chats(o, "maxChats", "", &mut errs));
    match (n, errs.is_empty()) {
        (Some(n), true) => Ok(n),
        _ => Err(ApiError::Invalid(errs)),
    }
}

/// `{availability}`: `available`, `away` or `dnd`.
pub fn availability_request(body: &Value) -> Result<super::user::Availability, ApiError> {
    let mut errs = Vec::new();
    let a = object(body, &["availability"], "", &mut errs).and_then(|o| {
        match o
            .get("availability")
            .and_then(Value::as_str)
            .and_then(super::user::Availability::parse)
        {
            Some(a) => Some(a),
            None => {
                errs.push(FieldError::new(
                    "availability",
                    "must be available, away or dnd",
                ));
                None
            }
        }
    });
    match (a, errs.is_empty()) {
        (Some(a), true) => Ok(a),
        _ => Err(ApiError::Invalid(errs)),
    }
}

#[cfg(test)]
mod capacity_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_capacity_is_a_whole_number_from_1_to_50() {
        assert_eq!(
            default_max_chats_request(&json!({"maxChats": 1})).unwrap(),
            1
        );
        assert_eq!(
            default_max_chats_request(&json!({"maxChats": 50})).unwrap(),
            50
        );
        for bad in [
            json!({"maxChats": 0}),
            json!({"maxChats": 51}),
            json!({"maxChats": -1}),
            json!({"maxChats": 2.5}),
            json!({"maxChats": "3"}),
            json!({"maxChats": null}),
            json!({}),
            json!({"maxChats": 4294967297u64}),
        ] {
            let ApiError::Invalid(errs) = default_max_chats_request(&bad).unwrap_err() else {
                panic!("{bad}")
            };
            assert_eq!(errs[0].field, "maxChats", "{bad}");
        }
        let e = role_edit(&json!({"role": "agent", "maxChats": 51})).unwrap_err();
        assert!(matches!(e, ApiError::Invalid(ref errs) if errs[0].field == "maxChats"));
        assert_eq!(
            role_edit(&json!({"role": "agent"})).unwrap().max_chats,
            None,
            "absent: kept"
        );
        assert_eq!(
            role_edit(&json!({"role": "agent", "maxChats": 7}))
                .unwrap()
                .max_chats,
            Some(7)
        );
    }

    #[test]
    fn a_quick_edit_names_every_bad_field_by_its_row() {
        let id = "0b8a4e0e-3f33-4a8b-9c53-4c2b1f0e7d21";
        let ok = quick_edit_request(&json!({"changes": [
            {"id": id, "version": 3, "role": "agent", "team": null, "availability": "away", "maxChats": 4}
        ]}))
        .unwrap();
        assert_eq!(ok[0].team, Some(None));
        assert_eq!(ok[0].max_chats, Some(4));
        let ApiError::Invalid(errs) = quick_edit_request(&json!({"changes": [
            {"id": id, "version": 3},
            {"id": id, "version": 1, "role": "king", "maxChats": 0, "x": 1},
            {"version": -1, "availability": "busy"}
        ]}))
        .unwrap_err() else {
            panic!()
        };
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "changes/1/x",
            "changes/1/id",
            "changes/1/role",
            "changes/1/maxChats",
            "changes/2/id",
            "changes/2/version",
            "changes/2/availability",
        ] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
        for bad in [json!({"changes": []}), json!({}), json!({"changes": {}})] {
            assert!(matches!(
                quick_edit_request(&bad),
                Err(ApiError::Invalid(_))
            ));
        }
        let many: Vec<Value> = (0..26).map(|_| json!({"id": id, "version": 1})).collect();
        let ApiError::Invalid(errs) = quick_edit_request(&json!({ "changes": many })).unwrap_err()
        else {
            panic!()
        };
        assert_eq!(errs[0].field, "changes");
    }

    #[test]
    fn availability_is_one_of_three_words() {
        use super::super::user::Availability;
        assert_eq!(
            availability_request(&json!({"availability": "dnd"})).unwrap(),
            Availability::Dnd
        );
        for bad in [
            json!({"availability": "busy"}),
            json!({"availability": "Away"}),
            json!({"availability": 1}),
            json!({}),
            json!({"availability": "away", "by": "x"}),
            json!([]),
        ] {
            assert!(
                matches!(availability_request(&bad), Err(ApiError::Invalid(_))),
                "{bad}"
            );
        }
    }
}

#[cfg(test)]
mod mfa_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_code_is_six_digits_and_the_spaces_people_type_are_dropped() {
        assert_eq!(
            mfa_code_request(&json!({"code": "123 456"})).unwrap(),
            "123456"
        );
        for bad in [
            json!({"code": "12345"}),
            json!({"code": "12345a"}),
            json!({"code": 123456}),
            json!({}),
            json!({"code": "١٢٣٤٥٦"}),
        ] {
            let ApiError::Invalid(errs) = mfa_code_request(&bad).unwrap_err() else {
                panic!()
            };
            assert_eq!(errs[0].field, "code", "{bad}");
        }
        let ApiError::Invalid(errs) =
            mfa_code_request(&json!({"code": "123456", "x": 1})).unwrap_err()
        else {
            panic!()
        };
        assert_eq!(errs[0].field, "x");
    }

    #[test]
    fn turning_off_takes_a_password_and_a_code_and_names_each_missing_one() {
        let ok = mfa_off_request(&json!({"password": "pw", "code": "123456"})).unwrap();
        assert_eq!((ok.password.as_str(), ok.code.as_str()), ("pw", "123456"));
        let ApiError::Invalid(errs) = mfa_off_request(&json!({"password": ""})).err().unwrap()
        else {
            panic!()
        };
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["password", "code"]);
        assert!(mfa_off_request(&json!("x")).is_err());
    }

    #[test]
    fn a_policy_is_off_or_admins() {
        assert_eq!(
            mfa_policy_request(&json!({"policy": "admins"})).unwrap(),
            super::super::tenant::MfaPolicy::Admins
        );
        assert!(mfa_policy_request(&json!({"policy": "everyone"})).is_err());
        assert!(mfa_policy_request(&json!([])).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_password_change_names_each_field_it_refuses() {
        let ok = password_change_request(
            &json!({"currentPassword": "old one", "newPassword": "Correct-Horse-42"}),
        )
        .unwrap();
        assert_eq!(
            (ok.current.as_str(), ok.new.as_str()),
            ("old one", "Correct-Horse-42")
        );
        let fields = |body: Value| match password_change_request(&body) {
            // Each field once, in order (a weak password names every rule it breaks).
            Err(ApiError::Invalid(e)) | Err(ApiError::WeakPassword(e)) => {
                let mut names: Vec<String> = e.into_iter().map(|f| f.field).collect();
                names.dedup();
                names
            }
            other => panic!("{:?}", other.map(|_| ())),
        };
        assert_eq!(fields(json!({})), ["currentPassword", "newPassword"]);
        assert_eq!(
            fields(json!({"currentPassword": "x", "newPassword": "short"})),
            ["newPassword"]
        );
        let same =
            json!({"currentPassword": "Correct-Horse-42", "newPassword": "Correct-Horse-42"});
        assert_eq!(fields(same), ["newPassword"]);
        assert_eq!(
            fields(json!({"currentPassword": 1, "newPassword": "Correct-Horse-42", "x": 1})),
            ["x", "currentPassword"]
        );
        assert!(password_change_request(&json!([])).is_err());
    }

    #[test]
    fn a_single_invite_parses() {
        let (rows, batch) = invite_request(&json!({
            "email": " Jane@Example.com ", "name": " Jane Doe ", "role": "supervisor", "team": "Sales"
        }))
        .unwrap();
        assert!(!batch);
        assert_eq!(rows[0].email.normalized(), "jane@example.com");
        assert_eq!(rows[0].name, "Jane Doe");
        assert_eq!(rows[0].role, Role::Supervisor);
        assert_eq!(rows[0].team.as_deref(), Some("Sales"));
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let errs =
            invite_request(&json!({"email": "nope", "role": "owner", "team": 7, "emial": "x"}))
                .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        for f in ["email", "name", "role", "team", "emial"] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn a_batch_names_each_failing_row_and_emails_repeated_by_case() {
        let errs = invite_request(&json!({"invites": [
            {"email": "a@example.com", "name": "A", "role": "agent"},
            {"email": "b@example", "name": "B", "role": "agent"},
            {"email": "A@EXAMPLE.com", "name": "A2", "role": "agent"},
            "not an object"
        ]}))
        .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["invites/1/email", "invites/3", "invites/2/email"],
            "{errs:?}"
        );
        assert!(errs[2].message.contains("invites/0"));
    }

    #[test]
    fn batches_hold_one_to_twenty_five_rows() {
        assert!(invite_request(&json!({"invites": []})).is_err());
        let row = json!({"email": "x@example.com", "name": "X", "role": "agent"});
        let many: Vec<Value> = (0..26)
            .map(|i| {
                let mut r = row.clone();
                r["email"] = json!(format!("x{i}@example.com"));
                r
            })
            .collect();
        assert!(invite_request(&json!({ "invites": many[..25] })).is_ok());
        assert!(invite_request(&json!({ "invites": many })).is_err());
    }

    #[test]
    fn names_with_line_breaks_are_refused() {
        let errs = invite_request(&json!({
            "email": "a@example.com", "name": "Eve\r\nBcc: all@example.com", "role": "agent"
        }))
        .unwrap_err();
        assert_eq!(errs[0].field, "name");
    }

    #[test]
    fn a_time_zone_applies_to_every_row_and_an_unknown_one_is_named() {
        let (rows, _) = invite_request(&json!({"timeZone": "Europe/Berlin", "invites": [
            {"email": "a@example.com", "name": "A", "role": "agent"},
            {"email": "b@example.com", "name": "B", "role": "agent"},
        ]}))
        .unwrap();
        assert!(rows
            .iter()
            .all(|r| r.time_zone.as_deref() == Some("Europe/Berlin")));
        let (rows, _) = invite_request(&json!({
            "email": "a@example.com", "name": "A", "role": "agent", "timeZone": null
        }))
        .unwrap();
        assert_eq!(rows[0].time_zone, None);
        for bad in [json!("Mars/Olympus"), json!(""), json!(3)] {
            let errs = invite_request(&json!({
                "email": "a@example.com", "name": "A", "role": "agent", "timeZone": bad
            }))
            .unwrap_err();
            assert_eq!(errs[0].field, "timeZone", "{bad}");
        }
        // In a batch the zone is the request's, not a row's.
        let errs = invite_request(&json!({"invites": [
            {"email": "a@example.com", "name": "A", "role": "agent", "timeZone": "UTC"},
        ]}))
        .unwrap_err();
        assert_eq!(errs[0].field, "invites/0/timeZone");
    }

    #[test]
    fn a_non_object_body_is_named() {
        assert_eq!(invite_request(&json!([1, 2])).unwrap_err()[0].field, "body");
        assert!(invite_request(&json!({"invites": "x"})).is_err());
    }

    #[test]
    fn a_role_edit_keeps_an_absent_team_and_clears_a_null_one() {
        let kept = role_edit(&json!({"role": "agent"})).unwrap();
        assert_eq!(kept.team, None);
        let cleared = role_edit(&json!({"role": "agent", "team": null, "version": 3})).unwrap();
        assert_eq!((cleared.team, cleared.version), (Some(None), Some(3)));
        let Err(ApiError::Invalid(errs)) = role_edit(&json!({"role": "boss", "version": -1}))
        else {
            panic!("refused")
        };
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["role", "version"]);
    }

    #[test]
    fn an_accept_names_every_missing_field_before_judging_the_password() {
        let Err(ApiError::Invalid(errs)) = accept_request(&json!({"password": "short"})) else {
            panic!("refused")
        };
        assert_eq!(errs[0].field, "token");
        assert!(matches!(
            accept_request(&json!({"token": "t", "password": "short"})),
            Err(ApiError::WeakPassword(_))
        ));
        let ok = accept_request(&json!({"token": "t", "password": "Correct-Horse-9"}));
        assert_eq!(ok, Ok(("t".into(), "Correct-Horse-9".into())));
        assert!(matches!(
            preview_request(&json!({"token": " ", "extra": 1})),
            Err(ApiError::Invalid(e)) if e.len() == 2
        ));
    }

    #[test]
    fn a_reset_request_needs_an_address_and_may_name_a_zone() {
        let (e, z) = reset_request(&json!({"email": " Ann@Acme.test "})).unwrap();
        assert_eq!(e.normalized(), "ann@acme.test");
        assert_eq!(z, None);
        let (_, z) =
            reset_request(&json!({"email": "a@b.test", "timeZone": "Europe/Berlin"})).unwrap();
        assert_eq!(z.as_deref(), Some("Europe/Berlin"));
        for (bad, field) in [
            (json!({}), "email"),
            (json!({"email": "nope"}), "email"),
            (json!({"email": 3}), "email"),
            (
                json!({"email": "a@b.test", "timeZone": "Mars/Base"}),
                "timeZone",
            ),
            (json!({"email": "a@b.test", "extra": 1}), "extra"),
        ] {
            match reset_request(&bad) {
                Err(ApiError::Invalid(errs)) => {
                    assert!(errs.iter().any(|e| e.field == field), "{bad}: {errs:?}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert_eq!(admin_reset_request(&json!({})).unwrap(), None);
        assert!(admin_reset_request(&json!({"timeZone": 1})).is_err());
    }
}
