//! SCIM 2.0 filters and PATCH paths (RFC 7644 §3.4.2.2 and §3.5.2), parsed and evaluated over
//! a resource's JSON: the groundwork of directory sync (issue 30). Attribute names and operators
//! are case-insensitive, as the RFC says and Entra ID relies on ("userName", "USERNAME");
//! string comparisons are case-insensitive too (`caseExact` is false for every attribute we
//! serve), and a malformed filter is an error the caller answers as `invalidFilter`.

use serde_json::Value;

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

    #[test]
    fn a_lookup_by_one_attribute_is_recognised() {
        let f = parse(r#"userName eq "ada@example.com""#).unwrap();
        let (path, v) = equality(&f).unwrap();
        assert_eq!((path.name.as_str(), v), ("username", "ada@example.com"));
        assert!(equality(&parse(r#"userName sw "a""#).unwrap()).is_none());
    }
}
