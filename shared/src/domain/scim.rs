//! SCIM 2.0 filters and PATCH paths (RFC 7644 §3.4.2.2 and §3.5.2), parsed and evaluated over
//! a resource's JSON: the groundwork of directory sync (issue 30). Attribute names and operators
//! are case-insensitive, as the RFC says and Entra ID relies on ("userName", "USERNAME");
//! string comparisons are case-insensitive too (`caseExact` is false for every attribute we
//! serve), and a malformed filter is an error the caller answers as `invalidFilter`.

use super::user::Managed;
use super::{ApiError, Email};
use serde_json::Value;
use time::OffsetDateTime;

/// An attribute path: `[urn:…:]name[.sub]`, names lower-cased.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    /// The schema URN prefix, if given (`urn:ietf:params:scim:schemas:core:2.0:User`).
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Lt,
    Ge,
    Le,
}

impl Op {
    fn parse(word: &str) -> Option<Op> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "lt" => Op::Lt,
            "ge" => Op::Ge,
            "le" => Op::Le,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare(AttrPath, Op, Value),
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work" and primary eq true]`: some element of a multi-valued attribute
    /// matches the inner filter (whose paths name the element's sub-attributes).
    ValuePath(AttrPath, Box<Filter>),
}

/// Why a filter or path was refused: the position and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(f64),
    LParen,
    RParen,
    LBracket,
    RBracket,
}

/// The longest filter we read: an identity provider's filters are a few dozen characters.
pub const MAX_FILTER: usize = 1024;

fn tokens(s: &str) -> Result<Vec<Tok>, ParseError> {
    if s.len() > MAX_FILTER {
        return Err(ParseError(format!("longer than {MAX_FILTER} characters")));
    }
    let mut out = Vec::new();
    let mut it = s.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        match c {
            ' ' | '\t' => {
                it.next();
            }
            '(' | ')' | '[' | ']' => {
                it.next();
                out.push(match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    '[' => Tok::LBracket,
                    _ => Tok::RBracket,
                });
            }
            '"' => {
                it.next();
                let mut text = String::new();
                let mut closed = false;
                while let Some((_, c)) = it.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match it.next() {
                            Some((_, e @ ('"' | '\\' | '/'))) => text.push(e),
                            Some((_, 'n')) => text.push('\n'),
                            Some((_, 't')) => text.push('\t'),
                            _ => {
                                return Err(ParseError(format!(
                                    "a bad escape in the string at {i}"
                                )))
                            }
                        },
                        c => text.push(c),
                    }
                }
                if !closed {
                    return Err(ParseError(format!("the string at {i} is not closed")));
                }
                out.push(Tok::Str(text));
            }
            _ => {
                let start = i;
                let mut end = i;
                while let Some(&(j, c)) = it.peek() {
                    if matches!(c, ' ' | '\t' | '(' | ')' | '[' | ']' | '"') {
                        break;
                    }
                    end = j + c.len_utf8();
                    it.next();
                }
                let word = &s[start..end];
                let numeric = word.starts_with(|c: char| c.is_ascii_digit() || c == '-');
                match word.parse::<f64>() {
                    Ok(n) if numeric && n.is_finite() => out.push(Tok::Num(n)),
                    _ => out.push(Tok::Word(word.to_string())),
                }
            }
        }
    }
    Ok(out)
}

/// `[urn:…:]name[.sub]`: the URN is everything up to the last colon; names are ASCII
/// letters, digits, `_`, `-` and `$`, starting with a letter (`ATTRNAME`).
pub fn attr_path(raw: &str) -> Result<AttrPath, ParseError> {
    let (urn, rest) = match raw.rfind(':') {
        Some(i) if raw[..i].to_ascii_lowercase().starts_with("urn:") => {
            (Some(raw[..i].to_string()), &raw[i + 1..])
        }
        Some(_) => return Err(ParseError(format!("{raw:?} is not an attribute path"))),
        None => (None, raw),
    };
    let mut parts = rest.split('.');
    let name = parts.next().unwrap_or_default();
    let sub = parts.next();
    let ok = |n: &str| {
        n.starts_with(|c: char| c.is_ascii_alphabetic())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
    };
    if parts.next().is_some() || !ok(name) || sub.is_some_and(|s| !ok(s)) {
        return Err(ParseError(format!("{raw:?} is not an attribute path")));
    }
    Ok(AttrPath {
        urn,
        name: name.to_ascii_lowercase(),
        sub: sub.map(str::to_ascii_lowercase),
    })
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }
    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }

    // or binds looser than and, which binds looser than not (RFC 7644, 3.4.2.2).
    fn or(&mut self) -> Result<Filter, ParseError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, ParseError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.at += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, ParseError> {
        if self.keyword("not") {
            self.at += 1;
            if self.next() != Some(Tok::LParen) {
                return Err(ParseError("\"not\" takes a filter in parentheses".into()));
            }
            let inner = self.or()?;
            return match self.next() {
                Some(Tok::RParen) => Ok(Filter::Not(Box::new(inner))),
                _ => Err(ParseError("a parenthesis is not closed".into())),
            };
        }
        if self.peek() == Some(&Tok::LParen) {
            self.at += 1;
            let inner = self.or()?;
            return match self.next() {
                Some(Tok::RParen) => Ok(inner),
                _ => Err(ParseError("a parenthesis is not closed".into())),
            };
        }
        let path = match self.next() {
            Some(Tok::Word(w)) => attr_path(&w)?,
            other => {
                return Err(ParseError(format!(
                    "expected an attribute, found {other:?}"
                )))
            }
        };
        if self.peek() == Some(&Tok::LBracket) {
            self.at += 1;
            let inner = self.or()?;
            if self.next() != Some(Tok::RBracket) {
                return Err(ParseError("a bracket is not closed".into()));
            }
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        let op = match self.next() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("pr") => return Ok(Filter::Present(path)),
            Some(Tok::Word(w)) => {
                Op::parse(&w).ok_or_else(|| ParseError(format!("{w:?} is not an operator")))?
            }
            other => return Err(ParseError(format!("expected an operator, found {other:?}"))),
        };
        let value = match self.next() {
            Some(Tok::Str(s)) => Value::String(s),
            Some(Tok::Num(n)) => serde_json::Number::from_f64(n)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => Value::Null,
            other => return Err(ParseError(format!("expected a value, found {other:?}"))),
        };
        Ok(Filter::Compare(path, op, value))
    }
}

/// A `filter` query parameter.
pub fn parse(raw: &str) -> Result<Filter, ParseError> {
    let mut p = Parser {
        toks: tokens(raw)?,
        at: 0,
    };
    let f = p.or()?;
    match p.peek() {
        None => Ok(f),
        Some(t) => Err(ParseError(format!("unexpected {t:?} after the filter"))),
    }
}

/// A PATCH operation's `path`: an attribute, optionally narrowed to the elements a filter
/// picks and one of their sub-attributes (`emails[type eq "work"].value`).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    pub sub: Option<String>,
}

pub fn patch_path(raw: &str) -> Result<PatchPath, ParseError> {
    let raw = raw.trim();
    let Some(open) = raw.find('[') else {
        return Ok(PatchPath {
            attr: attr_path(raw)?,
            filter: None,
            sub: None,
        });
    };
    let close = raw
        .rfind(']')
        .filter(|c| *c > open)
        .ok_or_else(|| ParseError("a bracket is not closed".into()))?;
    let attr = attr_path(&raw[..open])?;
    if attr.sub.is_some() {
        return Err(ParseError(
            "a filter follows the attribute, not its sub-attribute".into(),
        ));
    }
    let filter = parse(&raw[open + 1..close])?;
    let sub = match &raw[close + 1..] {
        "" => None,
        rest => match rest.strip_prefix('.') {
            Some(s) if attr_path(s).is_ok_and(|p| p.sub.is_none() && p.urn.is_none()) => {
                Some(s.to_ascii_lowercase())
            }
            _ => return Err(ParseError(format!("{rest:?} after the filter"))),
        },
    };
    Ok(PatchPath {
        attr,
        filter: Some(filter),
        sub,
    })
}

/// A member of `obj` by its lower-cased name (SCIM names are case-insensitive).
pub fn member<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn values<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    // An extension's attributes sit under the URN's own member.
    let base = match &path.urn {
        Some(urn) => member(resource, urn).unwrap_or(resource),
        None => resource,
    };
    let Some(v) = member(base, &path.name) else {
        return vec![];
    };
    let all: Vec<&Value> = match v {
        Value::Array(items) => items.iter().collect(),
        v => vec![v],
    };
    match &path.sub {
        None => all,
        Some(sub) => all.into_iter().filter_map(|v| member(v, sub)).collect(),
    }
}

fn compare(actual: &Value, op: Op, wanted: &Value) -> bool {
    use std::cmp::Ordering;
    let order = match (actual, wanted) {
        (Value::String(a), Value::String(b)) => {
            let (a, b) = (a.to_lowercase(), b.to_lowercase());
            match op {
                Op::Co => return a.contains(&b),
                Op::Sw => return a.starts_with(&b),
                Op::Ew => return a.ends_with(&b),
                _ => a.cmp(&b),
            }
        }
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
            _ => return false,
        },
        (Value::Bool(a), Value::Bool(b)) if matches!(op, Op::Eq | Op::Ne) => a.cmp(b),
        (a, Value::Null) if matches!(op, Op::Eq | Op::Ne) => {
            return (op == Op::Eq) == a.is_null();
        }
        _ => return op == Op::Ne,
    };
    match op {
        Op::Eq => order == Ordering::Equal,
        Op::Ne => order != Ordering::Equal,
        Op::Gt => order == Ordering::Greater,
        Op::Ge => order != Ordering::Less,
        Op::Lt => order == Ordering::Less,
        Op::Le => order != Ordering::Greater,
        Op::Co | Op::Sw | Op::Ew => false,
    }
}

/// Whether `resource` (its SCIM JSON) matches `filter`. A multi-valued attribute matches when
/// any of its values does.
pub fn matches(filter: &Filter, resource: &Value) -> bool {
    match filter {
        Filter::Compare(path, op, wanted) => {
            let found = values(resource, path);
            if found.is_empty() {
                // Absent compares as null: `ne` anything but null holds.
                return compare(&Value::Null, *op, wanted);
            }
            match op {
                Op::Ne => found.iter().all(|v| compare(v, *op, wanted)),
                _ => found.iter().any(|v| compare(v, *op, wanted)),
            }
        }
        Filter::Present(path) => values(resource, path).iter().any(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        }),
        Filter::And(a, b) => matches(a, resource) && matches(b, resource),
        Filter::Or(a, b) => matches(a, resource) || matches(b, resource),
        Filter::Not(a) => !matches(a, resource),
        Filter::ValuePath(path, inner) => {
            let whole = AttrPath {
                sub: None,
                ..path.clone()
            };
            values(resource, &whole)
                .into_iter()
                .any(|element| matches(inner, element))
        }
    }
}

/// The one lookup an identity provider makes before creating a user (Okta: `userName eq "…"`;
/// Entra ID: the same, or on `externalId`, or with `and`): the attribute and value when the
/// filter is exactly an equality on one attribute, so it can be answered by key instead of by
/// reading the company.
pub fn equality(filter: &Filter) -> Option<(&AttrPath, &str)> {
    match filter {
        Filter::Compare(path, Op::Eq, Value::String(s)) => Some((path, s)),
        _ => None,
    }
}

/// The largest `count` a list answers (RFC 7644 3.4.2.4 lets the provider cap it; the cap is
/// said in ServiceProviderConfig).
pub const MAX_COUNT: usize = 100;

pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// An error document (RFC 7644 3.12): `status` as a string, `scimType` where the RFC names one
/// (`invalidFilter`, `uniqueness`, `mutability`, `invalidSyntax`, `invalidPath`, `noTarget`,
/// `invalidValue`, `tooMany`).
pub fn error(status: u16, scim_type: Option<&str>, detail: &str) -> Value {
    let mut e = serde_json::json!({
        "schemas": [ERROR],
        "status": status.to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        e["scimType"] = Value::String(t.to_string());
    }
    e
}

/// A list answer (RFC 7644 3.4.2): `startIndex` is 1-based, `itemsPerPage` what this page holds.
pub fn list(total: usize, start_index: usize, resources: Vec<Value>) -> Value {
    serde_json::json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// `startIndex` and `count` as RFC 7644 3.4.2.4 reads them: a `startIndex` below 1 is 1, a
/// negative `count` is 0, a `count` over [`MAX_COUNT`] is the cap; absent, 1 and the cap.
/// Anything that is not an integer is an `invalidValue`.
pub fn paging(start: Option<&str>, count: Option<&str>) -> Result<(usize, usize), String> {
    let int = |name: &str, v: Option<&str>, default: i64| -> Result<i64, String> {
        match v.map(str::trim) {
            None | Some("") => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .map_err(|_| format!("{name} must be an integer")),
        }
    };
    let start = int("startIndex", start, 1)?.max(1) as usize;
    let count = int("count", count, MAX_COUNT as i64)?.clamp(0, MAX_COUNT as i64) as usize;
    Ok((start, count))
}

/// What this provider supports (RFC 7643 5), served at `/scim/v2/ServiceProviderConfig`.
pub fn service_provider_config(docs: &str) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": docs,
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Integration token",
            "description": "An integration token with the scim scope, made in Settings › Integrations: Authorization: Bearer vc_…",
            "primary": true,
        }],
    })
}

fn scim_error(status: u16, scim_type: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::Scim {
        status,
        scim_type,
        detail: detail.into(),
    }
}

/// A 400 `invalidValue`: an attribute with a value we can't take.
pub fn invalid_value(detail: impl Into<String>) -> ApiError {
    scim_error(400, "invalidValue", detail)
}

/// The error document for a refusal answered as a problem (`ApiError::problem`'s JSON): the
/// status, the detail (with each field's problem), and the `scimType` RFC 7644 3.12 names
/// for it where there is one.
pub fn error_of(problem: &Value) -> Value {
    let slug = problem["type"].as_str().unwrap_or_default();
    let scim_type = match slug.rsplit('/').next().unwrap_or_default() {
        "scim" => problem["scimType"].as_str(),
        "email-taken" => Some("uniqueness"),
        "invalid-request" => Some("invalidValue"),
        "malformed-body" => Some("invalidSyntax"),
        _ => None,
    };
    let mut detail = problem["detail"].as_str().unwrap_or_default().to_string();
    for e in problem["errors"].as_array().into_iter().flatten() {
        if let (Some(f), Some(m)) = (e["field"].as_str(), e["message"].as_str()) {
            detail.push_str(&format!(" {f}: {m}."));
        }
    }
    // A fault of ours names its request, as its log line does, so it can be found.
    if let Some(id) = problem["requestId"].as_str() {
        detail.push_str(&format!(" (request {id})"));
    }
    let status = problem["status"].as_u64().unwrap_or(500) as u16;
    error(status, scim_type, &detail)
}

/// A person as SCIM shows them: a user, or an invite nobody accepted yet.
pub struct PersonView<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub managed: Option<&'a Managed>,
    pub active: bool,
    pub created: OffsetDateTime,
    pub modified: OffsetDateTime,
}

/// The User resource (RFC 7643 4.1) for `p`; `base` is the SCIM root (`…/scim/v2`).
pub fn user_resource(p: &PersonView<'_>, base: &str) -> Value {
    let mut name = serde_json::json!({ "formatted": p.name });
    if let Some(m) = p.managed {
        if let Some(g) = &m.given_name {
            name["givenName"] = Value::String(g.clone());
        }
        if let Some(f) = &m.family_name {
            name["familyName"] = Value::String(f.clone());
        }
    }
    let mut r = serde_json::json!({
        // Role, team and where the person stands are not here: a provider owns none of them
        // (group mappings set role and team), and a read-only extension is one a conformance
        // checker PATCHes as a whole and finds unchanged. The console shows them.
        "schemas": [USER],
        "id": p.id,
        "userName": p.email,
        "name": name,
        "displayName": p.name,
        "emails": [{"value": p.email, "type": "work", "primary": true}],
        "active": p.active,
        "meta": {
            "resourceType": "User",
            "created": super::timefmt::format(p.created),
            "lastModified": super::timefmt::format(p.modified),
            "location": format!("{}/Users/{}", base.trim_end_matches('/'), p.id),
        },
    });
    if let Some(x) = p.managed.and_then(|m| m.external_id.as_ref()) {
        r["externalId"] = Value::String(x.clone());
    }
    r
}

/// What a User resource asks the person to be (a POST's or PUT's body, or the resource after
/// a PATCH's operations).
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub email: Email,
    pub name: String,
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// `None`: the body did not say (a PUT without `active` leaves it as it is).
    pub active: Option<bool>,
}

/// The longest name, as the console's invite form takes it.
pub const MAX_NAME: usize = 100;
/// The longest `externalId` we keep (Entra's object ids are 36, Okta's 20).
pub const MAX_EXTERNAL_ID: usize = 255;

fn text<'a>(v: Option<&'a Value>, what: &str) -> Result<Option<&'a str>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim())),
        Some(_) => Err(invalid_value(format!("{what} must be a string"))),
    }
}

fn clean(s: &str, max: usize, what: &str) -> Result<String, ApiError> {
    if s.chars().count() > max {
        return Err(invalid_value(format!(
            "{what} is longer than {max} characters"
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid_value(format!("{what} holds a control character")));
    }
    Ok(s.to_string())
}

/// `active` as identity providers send it: a boolean, or Entra ID's "True"/"False" strings.
fn active(v: Option<&Value>) -> Result<Option<bool>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(invalid_value("active must be true or false")),
    }
}

/// A resource's `schemas`, if sent, is a list of URNs (the ones we serve are `schemas()`'s; we
/// read what a body holds by its attributes, so any URN list is taken).
pub fn check_schemas(r: &Value) -> Result<(), ApiError> {
    match member(r, "schemas") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(list)) if list.iter().all(Value::is_string) => Ok(()),
        Some(_) => Err(scim_error(
            400,
            "invalidSyntax",
            "schemas must be a list of schema URNs",
        )),
    }
}

/// Reads a User resource: `userName` (an email address: the account's sign-in) or else the
/// primary or work email; the name from `name.formatted`, else given and family names, else
/// `displayName`, else the address; `externalId`; `active`.
pub fn desired(r: &Value) -> Result<Desired, ApiError> {
    if !r.is_object() {
        return Err(scim_error(
            400,
            "invalidSyntax",
            "the body must be a User resource (a JSON object)",
        ));
    }
    check_schemas(r)?;
    let user_name = text(member(r, "userName"), "userName")?;
    let emails = match member(r, "emails") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list.iter().collect(),
        Some(_) => return Err(invalid_value("emails must be a list")),
    };
    for e in &emails {
        if !e.is_object() {
            return Err(invalid_value(
                "each of emails is an object: value, type, primary",
            ));
        }
        text(member(e, "value"), "emails.value")?;
        text(member(e, "type"), "emails.type")?;
        if !matches!(
            member(e, "primary"),
            None | Some(Value::Null | Value::Bool(_))
        ) {
            return Err(invalid_value("emails.primary must be true or false"));
        }
    }
    let pick = |want: &dyn Fn(&Value) -> bool| -> Option<&str> {
        emails
            .iter()
            .find(|e| want(e))
            .and_then(|e| member(e, "value"))
            .and_then(Value::as_str)
    };
    let work = pick(&|e| member(e, "primary") == Some(&Value::Bool(true)))
        .or_else(|| pick(&|e| member(e, "type").and_then(Value::as_str) == Some("work")))
        .or_else(|| pick(&|_| true));
    let email = match (user_name, work) {
        (Some(u), _) if Email::parse(u).is_ok() => Email::parse(u),
        (_, Some(w)) => Email::parse(w.trim()),
        (Some(_), None) => Err("is not an email address"),
        (None, None) => {
            return Err(invalid_value(
                "userName is required: the person's work email address",
            ))
        }
    }
    .map_err(|why| invalid_value(format!("userName (or the work email) {why}")))?;
    let name_obj = member(r, "name").filter(|v| !v.is_null());
    if name_obj.is_some_and(|n| !n.is_object()) {
        return Err(invalid_value("name must be an object"));
    }
    let part = |k: &str| text(name_obj.and_then(|n| member(n, k)), &format!("name.{k}"));
    let (formatted, given, family) = (part("formatted")?, part("givenName")?, part("familyName")?);
    let display = text(member(r, "displayName"), "displayName")?;
    let joined = [given, family]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let name = formatted
        .map(str::to_string)
        .or_else(|| (!joined.is_empty()).then_some(joined))
        .or_else(|| display.map(str::to_string))
        .unwrap_or_else(|| email.as_str().to_string());
    let opt = |v: Option<&str>, max: usize, what: &str| v.map(|v| clean(v, max, what)).transpose();
    Ok(Desired {
        name: clean(&name, MAX_NAME, "the name")?,
        external_id: opt(
            text(member(r, "externalId"), "externalId")?,
            MAX_EXTERNAL_ID,
            "externalId",
        )?,
        given_name: opt(given, MAX_NAME, "name.givenName")?,
        family_name: opt(family, MAX_NAME, "name.familyName")?,
        active: active(member(r, "active"))?,
        email,
    })
}

fn member_mut<'a>(obj: &'a mut Value, name: &str) -> Option<&'a mut Value> {
    obj.as_object_mut()?
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Sets `name` in `obj` under the spelling it already has there, or as given.
fn set_member(obj: &mut Value, name: &str, v: Value) {
    if let Some(slot) = member_mut(obj, name) {
        *slot = v;
    } else if let Some(o) = obj.as_object_mut() {
        o.insert(name.to_string(), v);
    }
}

fn remove_member(obj: &mut Value, name: &str) {
    if let Some(o) = obj.as_object_mut() {
        o.retain(|k, _| !k.eq_ignore_ascii_case(name));
    }
}

/// Merges `v` into `slot` (`add` on a complex attribute merges, RFC 7644 3.5.2.1).
fn merge(slot: &mut Value, v: Value, add: bool) {
    match (slot, v) {
        (slot @ Value::Object(_), Value::Object(m)) if add => {
            for (k, v) in m {
                set_member(slot, &k, v);
            }
        }
        (Value::Array(list), Value::Array(more)) if add => list.extend(more),
        (slot, v) => *slot = v,
    }
}

/// Applies a PatchOp's operations (RFC 7644 3.5.2) to `resource`, in order: `add`, `replace`
/// and `remove`, with a path (`active`, `name.givenName`, `emails[type eq "work"].value`, an
/// extension's `urn:…:attr`) or, for add and replace, without one (the value's members are
/// the attributes). Operation names are case-insensitive (Entra ID sends `Replace`).
/// Attributes we don't keep are applied to the copy and then ignored by `desired`.
pub fn apply_patch(resource: &mut Value, body: &Value) -> Result<(), ApiError> {
    let syntax = |d: &str| scim_error(400, "invalidSyntax", d.to_string());
    let schemas_ok = member(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|x| x.as_str() == Some(PATCH_OP)));
    if !schemas_ok {
        return Err(syntax("a PATCH body is a PatchOp: schemas must hold urn:ietf:params:scim:api:messages:2.0:PatchOp"));
    }
    let ops = member(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("Operations must be a list"))?;
    if ops.is_empty() {
        return Err(syntax("Operations is empty"));
    }
    let mut touched_parts = false;
    let mut touched_formatted = false;
    for op in ops {
        let kind = member(op, "op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| syntax("each operation needs op: add, replace or remove"))?;
        let path = match member(op, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => {
                Some(patch_path(p).map_err(|e| scim_error(400, "invalidPath", e.0))?)
            }
            Some(_) => return Err(scim_error(400, "invalidPath", "path must be a string")),
        };
        let value = member(op, "value").cloned();
        if let Some(p) = path.as_ref().filter(|p| p.attr.name == "name") {
            match p.attr.sub.as_deref() {
                Some("formatted") => touched_formatted = true,
                Some(_) => touched_parts = true,
                // The whole name: whichever parts its value holds.
                None => {
                    let v = value.as_ref();
                    touched_formatted |= v.and_then(|v| member(v, "formatted")).is_some();
                    touched_parts |= v.is_some_and(|v| {
                        member(v, "givenName").is_some() || member(v, "familyName").is_some()
                    });
                }
            }
        } else if let (None, Some(Value::Object(m))) = (&path, &value) {
            for (k, v) in m {
                if k.eq_ignore_ascii_case("name") {
                    touched_formatted |= member(v, "formatted").is_some();
                    touched_parts |=
                        member(v, "givenName").is_some() || member(v, "familyName").is_some();
                } else if let Some(sub) =
                    k.strip_prefix("name.").or_else(|| k.strip_prefix("Name."))
                {
                    touched_formatted |= sub.eq_ignore_ascii_case("formatted");
                    touched_parts |= !sub.eq_ignore_ascii_case("formatted");
                }
            }
        }
        match (kind.as_str(), path) {
            ("add" | "replace", None) => {
                let Some(Value::Object(m)) = value else {
                    return Err(invalid_value(
                        "an add or replace without a path takes an object of attributes",
                    ));
                };
                for (k, v) in m {
                    // Entra ID sends `{"name.givenName": "Ada"}` as a path in a key.
                    let p = patch_path(&k).map_err(|e| scim_error(400, "invalidPath", e.0))?;
                    set_at(resource, &p, v, kind == "add")?;
                }
            }
            ("add" | "replace", Some(p)) => {
                let v = value.ok_or_else(|| invalid_value(format!("{kind} needs a value")))?;
                set_at(resource, &p, v, kind == "add")?;
            }
            // Entra ID removes group members as `{"path": "members", "value": [{"value":
            // "<id>"}]}`: the elements named, not the whole attribute.
            ("remove", Some(p)) if p.filter.is_none() && p.attr.sub.is_none() => match value {
                Some(Value::Array(gone)) if !gone.is_empty() => {
                    remove_elements(resource, &p, &gone)
                }
                _ => remove_at(resource, &p)?,
            },
            ("remove", Some(p)) => remove_at(resource, &p)?,
            ("remove", None) => return Err(scim_error(400, "noTarget", "remove needs a path")),
            _ => {
                return Err(syntax(&format!(
                    "{kind:?} is not an operation: add, replace or remove"
                )))
            }
        }
    }
    // Given or family name changed and the formatted one did not: the formatted one is stale.
    if touched_parts && !touched_formatted {
        if let Some(n) = member_mut(resource, "name") {
            remove_member(n, "formatted");
        }
    }
    Ok(())
}

/// The object an attribute path starts from: the resource, or its extension's member.
fn base_mut<'a>(resource: &'a mut Value, p: &PatchPath) -> &'a mut Value {
    match &p.attr.urn {
        // A core attribute written with its URN (`urn:…:core:2.0:User:userName`).
        Some(urn) if urn.eq_ignore_ascii_case(USER) || urn.eq_ignore_ascii_case(GROUP) => resource,
        Some(urn) => {
            if member(resource, urn).is_none() {
                set_member(resource, urn, Value::Object(Default::default()));
            }
            member_mut(resource, urn).unwrap_or_else(|| unreachable!("just set"))
        }
        None => resource,
    }
}

fn set_at(resource: &mut Value, p: &PatchPath, v: Value, add: bool) -> Result<(), ApiError> {
    let base = base_mut(resource, p);
    let name = p.attr.name.as_str();
    match (&p.filter, &p.attr.sub) {
        (None, None) => match member_mut(base, name) {
            Some(slot) => merge(slot, v, add),
            None => set_member(base, name, v),
        },
        (None, Some(sub)) => {
            if !member(base, name).is_some_and(Value::is_object) {
                set_member(base, name, Value::Object(Default::default()));
            }
            if let Some(obj) = member_mut(base, name) {
                set_member(obj, sub, v);
            }
        }
        (Some(f), _) => {
            let sub = &p.sub;
            if !member(base, name).is_some_and(Value::is_array) {
                set_member(base, name, Value::Array(Vec::new()));
            }
            let Some(Value::Array(list)) = member_mut(base, name) else {
                return Err(scim_error(
                    400,
                    "invalidPath",
                    format!("{name} is not multi-valued"),
                ));
            };
            let mut hit = false;
            for e in list.iter_mut().filter(|e| matches(f, e)) {
                hit = true;
                match sub {
                    Some(sub) => set_member(e, sub, v.clone()),
                    None => merge(e, v.clone(), true),
                }
            }
            if !hit {
                // `emails[type eq "work"].value` on a person with no work email: the element
                // the filter describes, made (what Entra ID expects of an add or replace).
                let Some((attr, want)) = equality(f) else {
                    return Err(scim_error(
                        400,
                        "noTarget",
                        format!("no {name} matches the path's filter"),
                    ));
                };
                let mut e = serde_json::json!({ attr.name.clone(): want });
                match sub {
                    Some(sub) => set_member(&mut e, sub, v),
                    None => merge(&mut e, v, true),
                }
                list.push(e);
            }
        }
    }
    Ok(())
}

/// Removes from a multi-valued attribute the elements whose `value` one of `gone` names.
fn remove_elements(resource: &mut Value, p: &PatchPath, gone: &[Value]) {
    let key = |v: &Value| member(v, "value").cloned();
    let gone: Vec<Value> = gone.iter().filter_map(key).collect();
    let base = base_mut(resource, p);
    if let Some(Value::Array(list)) = member_mut(base, &p.attr.name) {
        list.retain(|e| key(e).is_none_or(|v| !gone.contains(&v)));
    }
}

fn remove_at(resource: &mut Value, p: &PatchPath) -> Result<(), ApiError> {
    let base = base_mut(resource, p);
    let name = p.attr.name.as_str();
    match (&p.filter, &p.attr.sub) {
        (None, None) => remove_member(base, name),
        (None, Some(sub)) => {
            if let Some(obj) = member_mut(base, name) {
                remove_member(obj, sub);
            }
        }
        (Some(f), _) => match &p.sub {
            None => {
                if let Some(Value::Array(list)) = member_mut(base, name) {
                    list.retain(|e| !matches(f, e));
                }
            }
            Some(sub) => {
                if let Some(Value::Array(list)) = member_mut(base, name) {
                    for e in list.iter_mut().filter(|e| matches(f, e)) {
                        remove_member(e, sub);
                    }
                }
            }
        },
    }
    Ok(())
}

/// Attributes a resource always returns (RFC 7643 2.4 `returned: always`), whatever
/// `attributes` or `excludedAttributes` say.
const ALWAYS: &[&str] = &["id", "schemas"];

fn names(list: Option<&str>) -> Vec<AttrPath> {
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .filter_map(|a| attr_path(a).ok())
        .collect()
}

/// Whether `path` names the resource member `key` (a core name, or an extension's URN).
fn names_member(path: &AttrPath, key: &str) -> bool {
    match &path.urn {
        Some(urn) if !urn.eq_ignore_ascii_case(USER) && !urn.eq_ignore_ascii_case(GROUP) => {
            // `urn:…:extension:…:User:role` names the extension's `role`; the URN alone parses
            // with the URN's last segment as the name.
            key.eq_ignore_ascii_case(urn)
                || key.eq_ignore_ascii_case(&format!("{urn}:{}", path.name))
        }
        _ => key.eq_ignore_ascii_case(&path.name),
    }
}

/// `attributes` and `excludedAttributes` (RFC 7644 3.9), comma-separated attribute names
/// (`userName`, `name.givenName`, an extension's URN): only the named ones (with `id` and
/// `schemas`), or all but the excluded ones. Unknown names are ignored, as the RFC allows.
pub fn project(resource: &mut Value, attributes: Option<&str>, excluded: Option<&str>) {
    let Some(obj) = resource.as_object_mut() else {
        return;
    };
    let wanted = names(attributes);
    if !wanted.is_empty() {
        obj.retain(|k, v| {
            if ALWAYS.contains(&k.as_str()) {
                return true;
            }
            let hits: Vec<&AttrPath> = wanted.iter().filter(|p| names_member(p, k)).collect();
            if hits.is_empty() {
                return false;
            }
            // Only sub-attributes named: keep those of the complex value.
            if hits.iter().all(|p| p.sub.is_some()) {
                if let Some(o) = v.as_object_mut() {
                    o.retain(|sk, _| {
                        hits.iter()
                            .any(|p| p.sub.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(sk)))
                    });
                }
            }
            true
        });
        return;
    }
    for p in names(excluded) {
        let keys: Vec<String> = obj
            .keys()
            .filter(|k| !ALWAYS.contains(&k.as_str()) && names_member(&p, k))
            .cloned()
            .collect();
        for k in keys {
            match &p.sub {
                None => {
                    obj.remove(&k);
                }
                Some(sub) => {
                    if let Some(o) = obj.get_mut(&k).and_then(Value::as_object_mut) {
                        o.retain(|sk, _| !sk.eq_ignore_ascii_case(sub));
                    }
                }
            }
        }
    }
}

pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// A `POST /.search` body (RFC 7644 3.4.3) as the query a GET would carry: `filter`,
/// `startIndex`, `count`, `attributes`, `excludedAttributes` (lists joined by commas).
#[derive(Debug, Default, PartialEq)]
pub struct Search {
    pub filter: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub attributes: Option<String>,
    pub excluded: Option<String>,
}

pub fn search(body: &Value) -> Result<Search, ApiError> {
    let syntax = |d: &str| scim_error(400, "invalidSyntax", d.to_string());
    if !body.is_object() {
        return Err(syntax("a search is a SearchRequest (a JSON object)"));
    }
    let text = |k: &str| -> Result<Option<String>, ApiError> {
        match member(body, k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(invalid_value(format!("{k} must be a string or a number"))),
        }
    };
    let list = |k: &str| -> Result<Option<String>, ApiError> {
        match member(body, k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map(|v| Some(v.join(",")))
                .ok_or_else(|| invalid_value(format!("{k} must be a list of attribute names"))),
            Some(_) => Err(invalid_value(format!(
                "{k} must be a list of attribute names"
            ))),
        }
    };
    // RFC 7644 3.4.3: a SearchRequest says so (an empty list is taken as saying nothing).
    match member(body, "schemas") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) if list.iter().all(|x| x.as_str() == Some(SEARCH_REQUEST)) => {}
        Some(_) => {
            return Err(syntax(
                "a search's schemas is [\"urn:ietf:params:scim:api:messages:2.0:SearchRequest\"]",
            ))
        }
    }
    let s = Search {
        filter: text("filter")?,
        start_index: text("startIndex")?,
        count: text("count")?,
        attributes: list("attributes")?,
        excluded: list("excludedAttributes")?,
    };
    s.check()?;
    Ok(s)
}

impl Search {
    /// `attributes` and `excludedAttributes` no longer than a filter may be (a list of names is
    /// a few dozen characters); the filter's own length is the parser's.
    pub fn check(&self) -> Result<(), ApiError> {
        for (k, v) in [
            ("attributes", &self.attributes),
            ("excludedAttributes", &self.excluded),
        ] {
            if v.as_ref().is_some_and(|v| v.len() > MAX_FILTER) {
                return Err(invalid_value(format!(
                    "{k} is longer than {MAX_FILTER} characters"
                )));
            }
        }
        Ok(())
    }
}

fn attribute(name: &str, kind: &str, extra: Value) -> Value {
    let mut a = serde_json::json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "required": false,
        "caseExact": false,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    });
    if let (Some(a), Value::Object(more)) = (a.as_object_mut(), extra) {
        a.extend(more);
    }
    a
}

/// The schemas we serve (RFC 7643 7), each with only the attributes we keep: an identity
/// provider or a checker that reads them sends nothing we would drop.
pub fn schemas(base: &str) -> Vec<Value> {
    use serde_json::json;
    let s = |n: &str, extra: Value| attribute(n, "string", extra);
    // As they behave: `userName` is set once (the sign-in address); the name is one the
    // account always has; `emails` and `displayName` are derived from those (a provider may
    // send them, they are read as the address and the name); `active` is always said.
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER,
        "name": "User",
        "description": "A person of the company: a user, or an invite not yet accepted",
        "attributes": [
            s("userName", json!({"required": true, "uniqueness": "server", "mutability": "immutable",
                "description": "The work email address the person signs in with; it can't be changed"})),
            attribute("name", "complex", json!({"required": true, "subAttributes": [
                s("formatted", json!({})), s("givenName", json!({})), s("familyName", json!({})),
            ]})),
            s("displayName", json!({"mutability": "readOnly", "description": "The name"})),
            attribute("emails", "complex", json!({"multiValued": true, "mutability": "readOnly",
                "description": "The userName, as the work email", "subAttributes": [
                s("value", json!({"mutability": "readOnly"})),
                s("type", json!({"mutability": "readOnly", "canonicalValues": ["work"]})),
                attribute("primary", "boolean", json!({"mutability": "readOnly"})),
            ]})),
            attribute("active", "boolean", json!({"required": true,
                "description": "false: suspended (a user) or not invited (an invite)"})),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{USER}")},
    });
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": GROUP,
        "name": "Group",
        "description": "A group of the identity provider's, kept for it; members are users",
        "attributes": [
            s("displayName", json!({"required": true, "uniqueness": "server",
                "description": "The group's name, unique in the company (case aside)"})),
            attribute("members", "complex", json!({"multiValued": true,
                "description": "The group's users, by the id this service gave them", "subAttributes": [
                s("value", json!({"mutability": "immutable"})),
                attribute("$ref", "reference", json!({"mutability": "immutable", "referenceTypes": ["User"]})),
                s("type", json!({"mutability": "immutable", "canonicalValues": ["User"]})),
            ]})),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{GROUP}")},
    });
    vec![user, group]
}

/// The resource types we serve (RFC 7643 6).
pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "People of the company",
            "schema": USER,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
        }),
        serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "The identity provider's groups",
            "schema": GROUP,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "Ada@Example.com",
            "externalId": "00u1",
            "active": true,
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [
                {"type": "work", "value": "ada@example.com", "primary": true},
                {"type": "home", "value": "ada@home.example"}
            ],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Support"}
        })
    }

    fn yes(f: &str) -> bool {
        matches(&parse(f).unwrap_or_else(|e| panic!("{f}: {e:?}")), &user())
    }

    #[test]
    fn what_okta_and_entra_send_matches_as_the_rfc_says() {
        assert!(
            yes(r#"userName eq "ada@example.com""#),
            "strings compare without case"
        );
        assert!(
            yes(r#"USERNAME EQ "ADA@EXAMPLE.COM""#),
            "names and operators too"
        );
        assert!(yes(
            r#"externalId eq "00u1" and userName eq "ada@example.com""#
        ));
        assert!(!yes(
            r#"externalId eq "00u2" and userName eq "ada@example.com""#
        ));
        assert!(
            parse(r#"emails[type eq "work"].value eq "ada@example.com""#).is_err(),
            "a sub-attribute after the brackets is a PATCH path's form, not a filter's"
        );
        assert!(yes(
            r#"emails[type eq "work" and value eq "ada@example.com"]"#
        ));
        assert!(!yes(
            r#"emails[type eq "work" and value eq "ada@home.example"]"#
        ));
        assert!(
            yes(r#"emails.value eq "ada@home.example""#),
            "any value of many"
        );
        assert!(yes("active eq true") && !yes("active eq false"));
        assert!(yes(r#"name.familyName sw "love""#) && yes(r#"userName ew ".COM""#));
        assert!(yes(r#"userName co "@example""#));
        assert!(!yes("title pr") && yes("externalId pr"));
        assert!(yes(r#"not (userName eq "bob@example.com")"#));
        assert!(yes(
            r#"userName eq "x" or (active eq true and externalId eq "00u1")"#
        ));
        assert!(yes(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "support""#
        ));
        assert!(yes(r#"title ne "Boss""#), "absent is not equal to a value");
        assert!(yes("title eq null"));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let f = parse(r#"a eq "1" or b eq "2" and c eq "3""#).unwrap();
        assert!(matches!(f, Filter::Or(_, ref right) if matches!(**right, Filter::And(_, _))));
    }

    #[test]
    fn malformed_filters_are_refused_not_guessed() {
        for bad in [
            "",
            "userName",
            r#"userName eq"#,
            r#"userName equals "x""#,
            r#"userName eq "x"#,
            r#"(userName eq "x""#,
            r#"emails[type eq "work""#,
            r#"userName eq "x" and"#,
            r#"userName eq "x" "y""#,
            r#"not userName eq "x""#,
            "9name eq 1",
            r#"a.b.c eq "x""#,
            "userName eq bare",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        assert!(parse(&format!(r#"userName eq "{}""#, "x".repeat(MAX_FILTER))).is_err());
    }

    #[test]
    fn patch_paths_name_the_attribute_the_elements_and_the_sub_attribute() {
        let p = patch_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(p.attr.name, "emails");
        assert_eq!(p.sub.as_deref(), Some("value"));
        assert!(p.filter.is_some());
        let p = patch_path("name.givenName").unwrap();
        assert_eq!(
            (p.attr.name.as_str(), p.attr.sub.as_deref()),
            ("name", Some("givenname"))
        );
        let p = patch_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department")
            .unwrap();
        assert!(p.attr.urn.is_some() && p.attr.name == "department");
        for bad in [
            "",
            "emails[type eq \"work\"",
            "emails[type eq \"work\"]x",
            "a.b[c eq 1]",
            "a:b",
        ] {
            assert!(patch_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn paging_reads_start_and_count_as_the_rfc_says() {
        assert_eq!(paging(None, None), Ok((1, MAX_COUNT)));
        assert_eq!(
            paging(Some("1"), Some("2")),
            Ok((1, 2)),
            "Okta's connection test"
        );
        assert_eq!(paging(Some("0"), Some("-5")), Ok((1, 0)));
        assert_eq!(paging(Some("3"), Some("100000")), Ok((3, MAX_COUNT)));
        assert!(paging(Some("x"), None).is_err() && paging(None, Some("1.5")).is_err());
        let l = list(7, 3, vec![json!({"id": "a"})]);
        assert_eq!(
            (
                l["totalResults"].clone(),
                l["itemsPerPage"].clone(),
                l["startIndex"].clone()
            ),
            (json!(7), json!(1), json!(3))
        );
        let e = error(409, Some("uniqueness"), "taken");
        assert_eq!(
            (e["status"].clone(), e["scimType"].clone()),
            (json!("409"), json!("uniqueness"))
        );
        assert!(error(404, None, "no").get("scimType").is_none());
        let c = service_provider_config("https://example.test/docs");
        assert_eq!(c["bulk"]["supported"], false);
        assert_eq!(c["filter"]["maxResults"], MAX_COUNT);
    }

    fn person(managed: Option<&Managed>) -> Value {
        user_resource(
            &PersonView {
                id: "i1",
                email: "ada@example.com",
                name: "Ada Lovelace",
                managed,
                active: true,
                created: OffsetDateTime::UNIX_EPOCH,
                modified: OffsetDateTime::UNIX_EPOCH,
            },
            "https://api.example.test/scim/v2",
        )
    }

    fn patched(ops: Value) -> Result<Desired, ApiError> {
        let m = Managed {
            scim_id: "i1".into(),
            external_id: Some("00u1".into()),
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
        };
        let mut r = person(Some(&m));
        apply_patch(&mut r, &json!({"schemas": [PATCH_OP], "Operations": ops}))?;
        desired(&r)
    }

    fn scim_type(e: ApiError) -> &'static str {
        match e {
            ApiError::Scim { scim_type, .. } => scim_type,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn schemas_must_be_a_list_of_urns() {
        let r = json!({"schemas": [{}], "userName": "a@example.com"});
        assert_eq!(scim_type(desired(&r).unwrap_err()), "invalidSyntax");
        let r = json!({"schemas": "x", "userName": "a@example.com"});
        assert_eq!(scim_type(desired(&r).unwrap_err()), "invalidSyntax");
        assert!(desired(&json!({"schemas": [], "userName": "a@example.com"})).is_ok());
    }

    #[test]
    fn emails_of_the_wrong_shape_are_refused_not_ignored() {
        for bad in [
            json!([7]),
            json!([{"value": 7}]),
            json!([{"value": "a@example.com", "type": {}}]),
            json!([{"value": "a@example.com", "primary": {}}]),
        ] {
            let r = json!({"userName": "a@example.com", "emails": bad});
            assert_eq!(scim_type(desired(&r).unwrap_err()), "invalidValue", "{r}");
        }
        let fine = json!({"userName": "a@example.com", "emails": [{"value": "a@example.com", "primary": null}]});
        assert!(desired(&fine).is_ok());
    }

    #[test]
    fn group_members_are_added_and_removed_as_okta_and_entra_send_them() {
        let ops = |ops: Value| json!({"schemas": [PATCH_OP], "Operations": ops});
        let ids = |r: &Value| -> Vec<String> {
            r["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["value"].as_str().unwrap().to_string())
                .collect()
        };
        let mut g =
            json!({"schemas": [GROUP], "displayName": "Leads", "members": [{"value": "a"}]});
        // Both: add with a path and a list.
        apply_patch(&mut g, &ops(json!([{"op": "add", "path": "members", "value": [{"value": "b"}, {"value": "c"}]}]))).unwrap();
        assert_eq!(ids(&g), ["a", "b", "c"]);
        // Okta: remove by a filter in the path.
        apply_patch(
            &mut g,
            &ops(json!([{"op": "remove", "path": "members[value eq \"a\"]"}])),
        )
        .unwrap();
        assert_eq!(ids(&g), ["b", "c"]);
        // Entra ID: remove with the path and the members named in the value.
        apply_patch(
            &mut g,
            &ops(json!([{"op": "Remove", "path": "members", "value": [{"value": "c"}]}])),
        )
        .unwrap();
        assert_eq!(ids(&g), ["b"]);
        // Okta's rename: a replace without a path, the id alongside.
        apply_patch(
            &mut g,
            &ops(json!([{"op": "replace", "value": {"id": "g1", "displayName": "Team leads"}}])),
        )
        .unwrap();
        assert_eq!(g["displayName"], "Team leads");
        // Remove without a value: all of them.
        apply_patch(&mut g, &ops(json!([{"op": "remove", "path": "members"}]))).unwrap();
        assert!(member(&g, "members").is_none());
    }

    #[test]
    fn a_resource_reads_back_as_what_it_shows() {
        let m = Managed {
            scim_id: "i1".into(),
            external_id: Some("00u1".into()),
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
        };
        let r = person(Some(&m));
        assert_eq!(
            r["meta"]["location"],
            "https://api.example.test/scim/v2/Users/i1"
        );
        assert_eq!(r["externalId"], "00u1");
        let d = desired(&r).unwrap();
        assert_eq!(
            (d.email.as_str(), d.name.as_str(), d.active),
            ("ada@example.com", "Ada Lovelace", Some(true))
        );
        assert!(person(None).get("externalId").is_none());
    }

    #[test]
    fn okta_and_entra_bodies_are_read_as_they_mean() {
        // Okta's create: given and family names, the work email primary, no formatted name.
        let d = desired(&json!({
            "schemas": [USER], "userName": "Grace@Example.com",
            "name": {"givenName": "Grace", "familyName": "Hopper"},
            "emails": [{"primary": true, "value": "grace@example.com", "type": "work"}],
            "active": true, "externalId": "00u9"
        }))
        .unwrap();
        assert_eq!(d.name, "Grace Hopper");
        assert_eq!(d.external_id.as_deref(), Some("00u9"));
        // Entra ID's userName may be a UPN that is not the mailbox: the work email then.
        let d = desired(&json!({"userName": "not an address", "emails": [{"type": "work", "value": "g@example.com"}]})).unwrap();
        assert_eq!(d.email.as_str(), "g@example.com");
        assert_eq!(d.name, "g@example.com", "no name at all: the address");
        assert_eq!(d.active, None, "a PUT without active says nothing of it");
        for (body, want) in [
            (json!({"name": {"formatted": "x"}}), "invalidValue"),
            (json!({"userName": "x"}), "invalidValue"),
            (
                json!({"userName": "a@example.com", "active": "maybe"}),
                "invalidValue",
            ),
            (
                json!({"userName": "a@example.com", "name": "Ada"}),
                "invalidValue",
            ),
            (
                json!({"userName": "a@example.com", "displayName": "A\u{7}"}),
                "invalidValue",
            ),
            (
                json!({"userName": "a@example.com", "externalId": "x".repeat(300)}),
                "invalidValue",
            ),
            (json!([1]), "invalidSyntax"),
        ] {
            assert_eq!(scim_type(desired(&body).unwrap_err()), want, "{body}");
        }
    }

    #[test]
    fn entra_patches_apply_with_its_spellings() {
        // Deactivation, as Entra ID sends it (a capitalised op, a string boolean).
        let d = patched(json!([{"op": "Replace", "path": "active", "value": "False"}])).unwrap();
        assert_eq!(d.active, Some(false));
        // No path: the value's members are attributes, and a key may itself be a path.
        let d = patched(
            json!([{"op": "replace", "value": {"active": true, "name.givenName": "Augusta"}}]),
        )
        .unwrap();
        assert_eq!(d.active, Some(true));
        assert_eq!(
            d.name, "Augusta Lovelace",
            "a new given name outdates the formatted one"
        );
        assert_eq!(d.given_name.as_deref(), Some("Augusta"));
        // The work email by a value path, and the formatted name with it.
        let d = patched(json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada@example.org"},
            {"op": "replace", "path": "name.formatted", "value": "Ada King"},
            {"op": "replace", "path": "name.familyName", "value": "King"},
        ]))
        .unwrap();
        assert_eq!(d.name, "Ada King");
        assert_eq!(
            d.email.as_str(),
            "ada@example.com",
            "userName wins over the email"
        );
        let d = patched(json!([{"op": "remove", "path": "userName"},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada@example.org"}])).unwrap();
        assert_eq!(
            d.email.as_str(),
            "ada@example.org",
            "without userName the work email is it"
        );
        // An element the filter describes is made when there is none.
        let d = patched(
            json!([{"op": "remove", "path": "userName"}, {"op": "remove", "path": "emails"},
            {"op": "add", "path": "emails[type eq \"work\"].value", "value": "new@example.com"}]),
        )
        .unwrap();
        assert_eq!(d.email.as_str(), "new@example.com");
        let d = patched(json!([{"op": "add", "path": "externalId", "value": "e-2"}, {"op": "add", "path": "title", "value": "Boss"}])).unwrap();
        assert_eq!(
            d.external_id.as_deref(),
            Some("e-2"),
            "an attribute we don't keep is ignored"
        );
        let d = patched(json!([{"op": "remove", "path": "externalId"}])).unwrap();
        assert_eq!(d.external_id, None);
        let d = patched(json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:displayName", "value": "x"}])).unwrap();
        assert_eq!(
            d.name, "Ada Lovelace",
            "the formatted name outranks displayName"
        );
    }

    #[test]
    fn bad_patches_are_refused_with_their_scim_type() {
        let bad = |body: Value| {
            let mut r = person(None);
            scim_type(apply_patch(&mut r, &body).unwrap_err())
        };
        let ops = |o: Value| json!({"schemas": [PATCH_OP], "Operations": o});
        assert_eq!(bad(json!({"Operations": []})), "invalidSyntax");
        assert_eq!(bad(ops(json!([]))), "invalidSyntax");
        assert_eq!(
            bad(ops(
                json!([{"op": "move", "path": "active", "value": true}])
            )),
            "invalidSyntax"
        );
        assert_eq!(bad(ops(json!([{"path": "active"}]))), "invalidSyntax");
        assert_eq!(bad(ops(json!([{"op": "remove"}]))), "noTarget");
        assert_eq!(
            bad(ops(
                json!([{"op": "replace", "path": "emails[type eq", "value": 1}])
            )),
            "invalidPath"
        );
        assert_eq!(
            bad(ops(json!([{"op": "replace", "path": 7, "value": 1}]))),
            "invalidPath"
        );
        assert_eq!(
            bad(ops(json!([{"op": "replace", "value": "x"}]))),
            "invalidValue"
        );
        assert_eq!(
            bad(ops(json!([{"op": "replace", "path": "active"}]))),
            "invalidValue"
        );
        let mut r = person(None);
        let e = apply_patch(&mut r, &ops(json!([{"op": "replace", "path": "emails[value sw \"zzz\"].type", "value": "home"}]))).unwrap_err();
        assert_eq!(scim_type(e), "noTarget");
    }

    #[test]
    fn a_problem_becomes_a_scim_error_with_its_type() {
        let p = |e: ApiError| serde_json::to_value(e.problem()).unwrap();
        let e = error_of(&p(ApiError::EmailTaken(vec![
            crate::domain::FieldError::new("email", "taken"),
        ])));
        assert_eq!(
            (e["status"].as_str(), e["scimType"].as_str()),
            (Some("409"), Some("uniqueness"))
        );
        assert!(e["detail"].as_str().unwrap().contains("email: taken."));
        let e = error_of(&p(invalid_value("nope")));
        assert_eq!(
            (e["status"].as_str(), e["scimType"].as_str()),
            (Some("400"), Some("invalidValue"))
        );
        let e = error_of(&p(ApiError::LastAdmin));
        assert_eq!(e["status"], "409");
        assert!(e.get("scimType").is_none());
        let e = error_of(&p(ApiError::NotFound("user")));
        assert_eq!(e["status"], "404");
        assert_eq!(e["schemas"][0], ERROR);
    }

    #[test]
    fn attributes_and_excluded_attributes_shape_a_resource() {
        let m = Managed {
            scim_id: "i1".into(),
            external_id: Some("x".into()),
            given_name: Some("Ada".into()),
            family_name: None,
        };
        let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let mut r = person(Some(&m));
        r[ext] = json!({"department": "Support"});
        project(
            &mut r,
            Some(&format!("userName, name.givenName, {ext}:department")),
            None,
        );
        let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "id",
                "name",
                "schemas",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "userName"
            ]
        );
        assert_eq!(r["name"], json!({"givenName": "Ada"}));
        let mut r = person(Some(&m));
        project(&mut r, None, Some("meta,name.formatted,id,emails"));
        assert!(r.get("meta").is_none() && r.get("emails").is_none());
        assert_eq!(r["id"], "i1", "never excluded");
        assert_eq!(r["name"], json!({"givenName": "Ada"}));
        let mut r = person(None);
        let whole = r.clone();
        project(&mut r, Some(""), Some("nonsense!,"));
        assert_eq!(r, whole, "nothing asked, nothing taken");
    }

    #[test]
    fn a_search_request_reads_as_a_query() {
        let s = search(
            &json!({"schemas": [SEARCH_REQUEST], "filter": "userName sw \"a\"",
            "startIndex": 2, "count": "5", "attributes": ["userName", "active"]}),
        )
        .unwrap();
        assert_eq!(s.filter.as_deref(), Some("userName sw \"a\""));
        assert_eq!(
            (s.start_index.as_deref(), s.count.as_deref()),
            (Some("2"), Some("5"))
        );
        assert_eq!(s.attributes.as_deref(), Some("userName,active"));
        assert_eq!(search(&json!({})).unwrap(), Search::default());
        for bad in [
            json!([]),
            json!({"attributes": [1]}),
            json!({"filter": true}),
            json!({"excludedAttributes": "AAA"}),
            json!({"attributes": ["a".repeat(MAX_FILTER + 1)]}),
            json!({"schemas": ["AAA"]}),
            json!({"schemas": "x"}),
        ] {
            assert!(search(&bad).is_err(), "{bad}");
        }
        assert!(search(&json!({"schemas": []})).is_ok());
    }

    #[test]
    fn replacing_the_whole_name_keeps_the_parts_it_holds() {
        let d = patched(json!([{"op": "replace", "path": "name",
            "value": {"formatted": "F", "givenName": "G", "familyName": "H"}}]))
        .unwrap();
        assert_eq!((d.name.as_str(), d.given_name.as_deref()), ("F", Some("G")));
        let d = patched(json!([{"op": "replace", "path": "name", "value": {"givenName": "G"}}]))
            .unwrap();
        assert_eq!(
            (d.name.as_str(), d.family_name.as_deref()),
            ("G", None),
            "replace takes the whole name as sent; the formatted one was not in it"
        );
        let d =
            patched(json!([{"op": "add", "path": "name", "value": {"givenName": "G"}}])).unwrap();
        assert_eq!(
            d.name, "G Lovelace",
            "add merges: a new part outdates the formatted name"
        );
    }

    #[test]
    fn the_schema_says_what_can_change() {
        let user = &schemas("b")[0];
        let attr = |n: &str| {
            user["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["name"] == n)
                .unwrap()
                .clone()
        };
        assert_eq!(attr("userName")["mutability"], "immutable");
        assert_eq!(attr("emails")["mutability"], "readOnly");
        assert_eq!(attr("displayName")["mutability"], "readOnly");
        assert_eq!(
            (
                attr("name")["required"].clone(),
                attr("active")["required"].clone()
            ),
            (json!(true), json!(true))
        );
    }

    #[test]
    fn a_lookup_by_one_attribute_is_recognised() {
        let f = parse(r#"userName eq "ada@example.com""#).unwrap();
        let (path, v) = equality(&f).unwrap();
        assert_eq!((path.name.as_str(), v), ("username", "ada@example.com"));
        assert!(equality(&parse(r#"userName sw "a""#).unwrap()).is_none());
    }
}
