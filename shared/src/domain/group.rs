//! Directory groups (docs/rules.md rule 22): the identity provider's groups as it pushes them
//! over SCIM (RFC 7643 4.2), kept so it can read, rename, fill and empty them. A group is the
//! provider's record: its name is unique in the company (case aside, so a mapping by name
//! names one group), its members are people of the company by their SCIM id, and users only,
//! never groups in groups.

use super::ids::{looks_like_id, GroupId};
use super::scim::{invalid_value, member, GROUP};
use super::{ApiError, Role, TenantId};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// Most members one group holds: its record is one DynamoDB item (400 KB; an id and its
/// overhead is ~40 bytes), with room to spare. A contact centre's groups are teams and roles,
/// far smaller; an "everyone" group past this is refused with this number in the detail.
pub const MAX_MEMBERS: usize = 5000;

/// The longest group name (Entra ID's limit is 256).
pub const MAX_NAME: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub tenant_id: TenantId,
    pub id: GroupId,
    pub display_name: String,
    pub external_id: Option<String>,
    /// People's SCIM ids, each once, in id order.
    pub members: BTreeSet<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Moves with every change; each write is conditioned on the version it read.
    pub version: u64,
}

/// How a name is compared for uniqueness: trimmed and case-folded.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl Group {
    pub fn new(tenant: &TenantId, d: GroupDesired, now: OffsetDateTime) -> Group {
        Group {
            tenant_id: tenant.clone(),
            id: GroupId::generate(),
            display_name: d.display_name,
            external_id: d.external_id,
            members: d.members.unwrap_or_default(),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// The group as `d` asks, at the next version; `None` when nothing would change (a
    /// provider's PUT of what is already there writes nothing).
    pub fn with(&self, d: GroupDesired, now: OffsetDateTime) -> Option<Group> {
        let members = d.members.unwrap_or_else(|| self.members.clone());
        if d.display_name == self.display_name
            && d.external_id == self.external_id
            && members == self.members
        {
            return None;
        }
        Some(Group {
            display_name: d.display_name,
            external_id: d.external_id,
            members,
            updated_at: now,
            version: self.version + 1,
            ..self.clone()
        })
    }

    /// The group without the person `id`; `None` if it does not name them.
    pub fn without(&self, id: &str, now: OffsetDateTime) -> Option<Group> {
        let mut members = self.members.clone();
        members.remove(id).then(|| Group {
            members,
            updated_at: now,
            version: self.version + 1,
            ..self.clone()
        })
    }

    /// The Group resource; `base` is the SCIM root (`…/scim/v2`).
    pub fn resource(&self, base: &str) -> Value {
        let base = base.trim_end_matches('/');
        let members: Vec<Value> = self
            .members
            .iter()
            .map(|id| json!({"value": id, "$ref": format!("{base}/Users/{id}"), "type": "User"}))
            .collect();
        let mut r = json!({
            "schemas": [GROUP],
            "id": self.id,
            "displayName": self.display_name,
            "members": members,
            "meta": {
                "resourceType": "Group",
                "created": super::timefmt::format(self.created_at),
                "lastModified": super::timefmt::format(self.updated_at),
                "location": format!("{base}/Groups/{}", self.id),
            },
        });
        if let Some(x) = &self.external_id {
            r["externalId"] = Value::String(x.clone());
        }
        r
    }
}

/// What a Group resource asks the group to be.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDesired {
    pub display_name: String,
    pub external_id: Option<String>,
    /// `None`: the body did not say (a PUT without `members` leaves them as they are, as one
    /// without `active` leaves a user's status: a provider renaming a group sends no members).
    pub members: Option<BTreeSet<String>>,
}

/// Reads a Group resource (a POST's or PUT's body, or the resource after a PATCH).
pub fn desired(r: &Value) -> Result<GroupDesired, ApiError> {
    if !r.is_object() {
        return Err(ApiError::Scim {
            status: 400,
            scim_type: "invalidSyntax",
            detail: "the body must be a Group resource (a JSON object)".into(),
        });
    }
    let text = |k: &str, max: usize| -> Result<Option<String>, ApiError> {
        match member(r, k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) if s.trim().chars().count() > max => Err(invalid_value(
                format!("{k} is longer than {max} characters"),
            )),
            Some(Value::String(s)) if s.chars().any(char::is_control) => {
                Err(invalid_value(format!("{k} holds a control character")))
            }
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(_) => Err(invalid_value(format!("{k} must be a string"))),
        }
    };
    super::scim::check_schemas(r)?;
    let display_name = text("displayName", MAX_NAME)?
        .ok_or_else(|| invalid_value("displayName is required: the group's name"))?;
    let external_id = text("externalId", super::scim::MAX_EXTERNAL_ID)?;
    let members = match member(r, "members") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => Some(members(list)?),
        Some(_) => return Err(invalid_value("members must be a list")),
    };
    Ok(GroupDesired {
        display_name,
        external_id,
        members,
    })
}

fn members(list: &[Value]) -> Result<BTreeSet<String>, ApiError> {
    let mut out = BTreeSet::new();
    for m in list {
        let value = member(m, "value").and_then(Value::as_str).map(str::trim);
        let Some(id) = value.filter(|v| looks_like_id(v)) else {
            return Err(invalid_value(
                "each member is {\"value\": \"<the id of a User this service gave>\"}",
            ));
        };
        if let Some(t) = member(m, "type").and_then(Value::as_str) {
            if !t.eq_ignore_ascii_case("User") {
                return Err(invalid_value(format!(
                    "a group's members are users; a member of type {t:?} (groups in groups) is not supported"
                )));
            }
        }
        out.insert(id.to_string());
    }
    if out.len() > MAX_MEMBERS {
        return Err(invalid_value(format!(
            "a group holds at most {MAX_MEMBERS} members; this one would hold {}",
            out.len()
        )));
    }
    Ok(out)
}

/// A company's rule for its provider's groups (set in the console, Settings › Directory sync):
/// the members of the group it names, by its name (case aside) or its id, take its role, its
/// team, or both.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mapping {
    pub group: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// Most mappings a company keeps: one per role and team is a few dozen.
pub const MAX_MAPPINGS: usize = 50;

impl Mapping {
    pub fn names(&self, g: &Group) -> bool {
        self.group == g.id.as_str() || name_key(&self.group) == name_key(&g.display_name)
    }
}

/// The company's mappings, in the order the admin put them (the first that names a team
/// wins), and the version each change is conditioned on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mappings {
    pub list: Vec<Mapping>,
    pub version: u64,
}

impl Mappings {
    /// Whether any mapping names `g`.
    pub fn names(&self, g: &Group) -> bool {
        self.list.iter().any(|m| m.names(g))
    }

    /// Where the mappings put a person who is a member of `holding`: `role` is the highest of
    /// the role mappings that name one of those groups, and an agent's when none does (the
    /// role a person the provider makes starts with), `None` only when the company maps no
    /// role at all; `team` is the first team mapping's (in the list's order) that names one of
    /// them, `Some(None)` (no team) when none does, `None` when the company maps no team.
    pub fn placement(&self, holding: &[&Group]) -> Placement {
        let hits = || {
            self.list
                .iter()
                .filter(|m| holding.iter().any(|g| m.names(g)))
        };
        let role = self.list.iter().any(|m| m.role.is_some()).then(|| {
            hits()
                .filter_map(|m| m.role)
                .max_by_key(|r| rank(*r))
                .unwrap_or(Role::Agent)
        });
        let team = self
            .list
            .iter()
            .any(|m| m.team.is_some())
            .then(|| hits().find_map(|m| m.team.clone()));
        Placement { role, team }
    }
}

fn rank(r: Role) -> u8 {
    match r {
        Role::Agent => 0,
        Role::Supervisor => 1,
        Role::Admin => 2,
    }
}

/// What the mappings say of one person (`Mappings::placement`); `None` leaves it as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub role: Option<Role>,
    pub team: Option<Option<String>>,
}

/// Reads the console's `{mappings: [{group, role?, team?}], version}`, naming every problem.
pub fn read_mappings(body: &Value) -> Result<(Vec<Mapping>, Option<u64>), ApiError> {
    use super::validation::{object, role, team, text};
    use super::FieldError;
    let mut errs = Vec::new();
    let Some(obj) = object(body, &["mappings", "version"], "", &mut errs) else {
        return Err(ApiError::Invalid(errs));
    };
    let version = match obj.get("version") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(n),
            None => {
                errs.push(FieldError::new("version", "must be a whole number"));
                None
            }
        },
    };
    let rows = match obj.get("mappings") {
        Some(Value::Array(rows)) if rows.len() <= MAX_MAPPINGS => rows.as_slice(),
        Some(Value::Array(_)) => {
            errs.push(FieldError::new(
                "mappings",
                format!("at most {MAX_MAPPINGS} mappings"),
            ));
            &[]
        }
        _ => {
            errs.push(FieldError::new(
                "mappings",
                "must be a list of {group, role?, team?}",
            ));
            &[]
        }
    };
    let mut out: Vec<Mapping> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let at = format!("mappings/{i}");
        let Some(m) = object(row, &["group", "role", "team"], &at, &mut errs) else {
            continue;
        };
        let group = match m
            .get("group")
            .and_then(Value::as_str)
            .map(|g| text(g, MAX_NAME))
        {
            Some(Ok(g)) => Some(g),
            Some(Err(why)) => {
                errs.push(FieldError::new(format!("{at}/group"), why));
                None
            }
            None => {
                errs.push(FieldError::new(
                    format!("{at}/group"),
                    "is required: the group's name, as the identity provider shows it, or its id",
                ));
                None
            }
        };
        let before = errs.len();
        let r = match m.get("role") {
            None | Some(Value::Null) => None,
            Some(_) => role(m, "role", &at, &mut errs),
        };
        let t = team(m, "team", &at, &mut errs).flatten();
        if r.is_none() && t.is_none() && errs.len() == before {
            errs.push(FieldError::new(
                at.clone(),
                "needs a role, a team, or both: what the group's members take",
            ));
        }
        let Some(group) = group else { continue };
        if out.iter().any(|o| name_key(&o.group) == name_key(&group)) {
            errs.push(FieldError::new(
                format!("{at}/group"),
                "is mapped above already: one mapping per group",
            ));
            continue;
        }
        out.push(Mapping {
            group,
            role: r,
            team: t,
        });
    }
    if errs.is_empty() {
        Ok((out, version))
    } else {
        Err(ApiError::Invalid(errs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef";
    const B: &str = "fedcba9876543210fedcba9876543210";

    fn at() -> OffsetDateTime {
        time::macros::datetime!(2026-12-07 10:00 UTC)
    }

    #[test]
    fn reads_a_group_and_its_members_once_each() {
        let d = desired(&json!({
            "schemas": [GROUP], "displayName": "  Support Leads ", "externalId": "okta-1",
            "members": [{"value": A}, {"value": B, "type": "User"}, {"value": A}],
        }))
        .unwrap();
        assert_eq!(d.display_name, "Support Leads");
        assert_eq!(d.external_id.as_deref(), Some("okta-1"));
        assert_eq!(d.members.unwrap().into_iter().collect::<Vec<_>>(), [A, B]);
    }

    #[test]
    fn refuses_what_it_cannot_keep() {
        let bad = |v: Value| match desired(&v) {
            Err(ApiError::Scim {
                status: 400,
                scim_type,
                detail,
            }) => format!("{scim_type}: {detail}"),
            other => panic!("{v}: {other:?}"),
        };
        assert!(bad(json!([])).starts_with("invalidSyntax"));
        assert!(bad(json!({"schemas": [{}], "displayName": "x"})).starts_with("invalidSyntax"));
        assert!(bad(json!({"members": []})).contains("displayName is required"));
        assert!(bad(json!({"displayName": 7})).contains("must be a string"));
        assert!(bad(json!({"displayName": "x".repeat(257)})).contains("256"));
        assert!(bad(json!({"displayName": "a\u{7}b"})).contains("control"));
        assert!(bad(json!({"displayName": "x", "members": {}})).contains("a list"));
        assert!(
            bad(json!({"displayName": "x", "members": [{"value": "no such id!"}]}))
                .contains("value")
        );
        assert!(bad(json!({"displayName": "x", "members": [7]})).contains("value"));
        assert!(
            bad(json!({"displayName": "x", "members": [{"value": A, "type": "Group"}]}))
                .contains("groups in groups")
        );
        let many: Vec<Value> = (0..=MAX_MEMBERS)
            .map(|i| json!({"value": format!("{i:032x}")}))
            .collect();
        assert!(bad(json!({"displayName": "x", "members": many})).contains("5000"));
    }

    #[test]
    fn a_put_without_members_keeps_them_and_a_same_put_changes_nothing() {
        let t = TenantId::generate();
        let d = desired(&json!({"displayName": "Leads", "members": [{"value": A}]})).unwrap();
        let g = Group::new(&t, d, at());
        let rename = desired(&json!({"displayName": "Team leads"})).unwrap();
        let after = g.with(rename, at()).unwrap();
        assert_eq!(after.members, g.members);
        assert_eq!(after.version, 2);
        let same =
            desired(&json!({"displayName": "Team leads", "members": [{"value": A}]})).unwrap();
        assert_eq!(after.with(same, at()), None);
        let emptied = desired(&json!({"displayName": "Team leads", "members": []})).unwrap();
        assert!(after.with(emptied, at()).unwrap().members.is_empty());
    }

    #[test]
    fn the_resource_is_scim_json_that_reads_back_as_the_same_group() {
        let t = TenantId::generate();
        let d = desired(
            &json!({"displayName": "Leads", "externalId": "x1", "members": [{"value": B}]}),
        )
        .unwrap();
        let g = Group::new(&t, d.clone(), at());
        let r = g.resource("http://h/scim/v2/");
        assert_eq!(
            r["members"][0]["$ref"],
            format!("http://h/scim/v2/Users/{B}")
        );
        assert_eq!(
            r["meta"]["location"],
            format!("http://h/scim/v2/Groups/{}", g.id)
        );
        assert_eq!(desired(&r).unwrap(), d);
        assert_eq!(name_key(" LEADS "), "leads");
    }
}

#[cfg(test)]
mod mapping_tests {
    use super::*;

    fn group(name: &str) -> Group {
        let d = desired(&json!({ "displayName": name })).unwrap();
        Group::new(&TenantId::generate(), d, time::OffsetDateTime::UNIX_EPOCH)
    }

    fn mappings(v: Value) -> Mappings {
        Mappings {
            list: read_mappings(&json!({ "mappings": v })).unwrap().0,
            version: 1,
        }
    }

    #[test]
    fn the_highest_role_and_the_first_team_win() {
        let (agents, leads, admins) = (group("Agents"), group("Support Leads"), group("IT"));
        let m = mappings(json!([
            {"group": "agents", "role": "agent", "team": "Support"},
            {"group": "SUPPORT LEADS", "role": "supervisor", "team": "Leads"},
            {"group": admins.id.as_str(), "role": "admin"},
        ]));
        let p = m.placement(&[&agents, &leads]);
        assert_eq!(p.role, Some(Role::Supervisor));
        assert_eq!(p.team, Some(Some("Support".to_string())));
        let p = m.placement(&[&admins, &agents]);
        assert_eq!(p.role, Some(Role::Admin));
        assert_eq!(p.team, Some(Some("Support".to_string())));
        // In no mapped group: an agent with no team.
        let p = m.placement(&[&group("Everyone")]);
        assert_eq!((p.role, p.team), (Some(Role::Agent), Some(None)));
        // A company that maps only teams leaves roles alone, and the reverse.
        let teams = mappings(json!([{"group": "Agents", "team": "Support"}]));
        assert_eq!(teams.placement(&[&agents]).role, None);
        let roles = mappings(json!([{"group": "Agents", "role": "supervisor"}]));
        assert_eq!(roles.placement(&[&agents]).team, None);
        assert!(m.names(&admins) && !m.names(&group("Everyone")));
    }

    #[test]
    fn mappings_are_read_strictly() {
        let bad = |v: Value| match read_mappings(&v) {
            Err(ApiError::Invalid(errs)) => errs
                .iter()
                .map(|e| format!("{} {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => panic!("{v}: {other:?}"),
        };
        assert!(bad(json!({})).contains("mappings must be a list"));
        assert!(
            bad(json!({"mappings": [{"group": "A"}]})).contains("needs a role, a team, or both")
        );
        assert!(
            bad(json!({"mappings": [{"group": "A", "role": null, "team": null}]}))
                .contains("needs a role, a team, or both")
        );
        assert!(bad(json!({"mappings": [{"group": "", "role": "agent"}]})).contains("group"));
        assert!(bad(json!({"mappings": [{"role": "agent"}]})).contains("is required"));
        assert!(bad(json!({"mappings": [{"group": "A", "role": "boss"}]})).contains("role"));
        assert!(
            bad(json!({"mappings": [{"group": "A", "role": "agent", "colour": 1}]}))
                .contains("colour")
        );
        assert!(bad(
            json!({"mappings": [{"group": "A", "role": "agent"}, {"group": " a ", "team": "X"}]})
        )
        .contains("one mapping per group"));
        let many: Vec<Value> = (0..=MAX_MAPPINGS)
            .map(|i| json!({"group": format!("g{i}"), "role": "agent"}))
            .collect();
        assert!(bad(json!({ "mappings": many })).contains("at most 50"));
        assert!(bad(json!({"mappings": [], "version": "x"})).contains("version"));
        let (ok, v) = read_mappings(&json!({"mappings": [{"group": " Leads ", "role": "supervisor", "team": null}], "version": 3})).unwrap();
        assert_eq!(
            (ok[0].group.as_str(), ok[0].role, ok[0].team.clone(), v),
            ("Leads", Some(Role::Supervisor), None, Some(3))
        );
    }
}
