//! Teams as things (docs/rules.md, rule 19). A team is the name its members and pending
//! invites carry; there is no team record to keep in step. Renaming or merging moves every
//! carrier of the old name to the new one, and records the move on the company's item:
//!
//! - up to `ONE_TRANSACTION` carriers, in one transaction with the audit entry and the record
//!   (already done);
//! - more, the record and the audit entry first (the commit point), then the carriers in
//!   transactions of `ONE_TRANSACTION`, then the record marked done.
//!
//! While the record applies (running, or done less than `SETTLE` ago) every reader shows the
//! old name as the new one and reads the new name as both (`TeamMove::shown`, `::stored`), so
//! a reader never sees a team half renamed: not whatever point a crash stops the batches at,
//! nor while the index that lists read (gsi1, eventually consistent) still holds a carrier as
//! it was. Every move writes the record under the sequence number it read, so moves are one
//! after another. The next rename or merge in the company (or this one sent again) finishes a
//! move a crash left.

use super::{ApiError, FieldError, Invite, Role, User, UserStatus};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

/// The most carriers moved in one transaction (the quick edit's bound, rule 17); a team with
/// more moves in batches under a recorded move.
pub const ONE_TRANSACTION: usize = 25;

/// The longest team name (as the invite and role forms take it).
pub const MAX_NAME: usize = 64;

/// How long a done move still applies to readers. A list reads gsi1, which DynamoDB updates
/// after the table "within a fraction of a second, under normal conditions" (its developer
/// guide on global secondary indexes); five seconds covers that with room.
pub const SETTLE: time::Duration = time::Duration::seconds(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MoveKind {
    /// To a name no one carries.
    Rename,
    /// Into a team that has members or pending invites.
    Merge,
}

impl MoveKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MoveKind::Rename => "rename",
            MoveKind::Merge => "merge",
        }
    }
    pub fn parse(s: &str) -> Option<MoveKind> {
        match s {
            "rename" => Some(MoveKind::Rename),
            "merge" => Some(MoveKind::Merge),
            _ => None,
        }
    }
}

/// The company's latest move, as recorded on its item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMove {
    /// The audit entry's id: the move is that entry's change.
    pub id: String,
    pub kind: MoveKind,
    pub from: String,
    pub to: String,
    pub at: OffsetDateTime,
    pub by_name: String,
    /// Members (not deleted) and pending invites it set out to move (its audit entry's).
    pub members: usize,
    pub invites: usize,
    /// When its last carrier moved; `None` while batches are left.
    pub done_at: Option<OffsetDateTime>,
    /// The move before it, done, while that one still applies (a move does not wait for the
    /// one before to settle: readers see through both).
    pub earlier: Option<Box<TeamMove>>,
}

impl TeamMove {
    /// Whether readers show the company through it at `now`: while it runs, and for `SETTLE`
    /// after it is done.
    pub fn applies(&self, now: OffsetDateTime) -> bool {
        self.done_at.is_none_or(|d| now < d + SETTLE)
    }

    /// The name a reader shows for a stored one (through the move before, first).
    pub fn shown<'a>(&'a self, stored: &'a str) -> &'a str {
        let s = match &self.earlier {
            Some(e) => e.shown(stored),
            None => stored,
        };
        if s == self.from {
            &self.to
        } else {
            s
        }
    }

    /// The stored names that show as `shown`: the new name is both while the move runs, and
    /// the old one is no team at all.
    pub fn stored<'a>(&'a self, shown: &'a str) -> Vec<&'a str> {
        let mine: Vec<&'a str> = if shown == self.to {
            vec![&self.to, &self.from]
        } else if shown == self.from {
            vec![]
        } else {
            vec![shown]
        };
        match &self.earlier {
            Some(e) => mine.into_iter().flat_map(|n| e.stored(n)).collect(),
            None => mine,
        }
    }

    /// The stored names this move takes its carriers from: its old name, and what the move
    /// before still shows as it.
    pub fn sources(&self) -> Vec<&str> {
        match &self.earlier {
            Some(e) => e.stored(&self.from),
            None => vec![&self.from],
        }
    }
}

/// The team a reader shows for `team`, under the company's running move if there is one.
pub fn shown(moving: Option<&TeamMove>, team: Option<String>) -> Option<String> {
    match (moving, team) {
        (Some(m), Some(t)) => Some(m.shown(&t).to_string()),
        (_, t) => t,
    }
}

/// A user as readers see them while a move runs.
pub fn show_user(moving: Option<&TeamMove>, mut u: User) -> User {
    u.team = shown(moving, u.team.take());
    u
}

/// `POST /teams/rename {from, to}` or `POST /teams/merge {from, into}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveRequest {
    pub from: String,
    pub to: String,
}

pub fn move_request(body: &Value, kind: MoveKind) -> Result<MoveRequest, ApiError> {
    use super::validation::{object, required_text};
    let to_key = match kind {
        MoveKind::Rename => "to",
        MoveKind::Merge => "into",
    };
    let mut errs = Vec::new();
    let obj = object(body, &["from", to_key], "", &mut errs);
    let (from, to) = match obj {
        Some(o) => (
            required_text(o, "from", MAX_NAME, "", &mut errs),
            required_text(o, to_key, MAX_NAME, "", &mut errs),
        ),
        None => (None, None),
    };
    match (from, to) {
        (Some(from), Some(to)) if errs.is_empty() => {
            if from == to {
                Err(ApiError::Invalid(vec![FieldError::new(
                    to_key,
                    "must differ from the team's current name",
                )]))
            } else {
                Ok(MoveRequest { from, to })
            }
        }
        _ => Err(ApiError::Invalid(errs)),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ByRole {
    pub agent: u32,
    pub supervisor: u32,
    pub admin: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ByStatus {
    pub active: u32,
    pub suspended: u32,
}

/// One team as `GET /teams` answers it: members (not deleted) by role and by status, and the
/// pending invites that will join it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamView {
    /// `None` for the users and invites without a team.
    pub name: Option<String>,
    pub members: u32,
    pub by_role: ByRole,
    pub by_status: ByStatus,
    pub invited: u32,
}

impl TeamView {
    fn new(name: Option<String>) -> TeamView {
        TeamView {
            name,
            members: 0,
            by_role: ByRole::default(),
            by_status: ByStatus::default(),
            invited: 0,
        }
    }
}

/// The company's teams by name (then the no-team group last), from its users and its pending
/// invites, each shown under the running move.
pub fn count(users: &[User], invites: &[Invite], moving: Option<&TeamMove>) -> Vec<TeamView> {
    use std::collections::BTreeMap;
    let mut out: BTreeMap<Option<String>, TeamView> = BTreeMap::new();
    for u in users.iter().filter(|u| u.status != UserStatus::Deleted) {
        let name = shown(moving, u.team.clone());
        let t = out
            .entry(name.clone())
            .or_insert_with(|| TeamView::new(name));
        t.members += 1;
        match u.role {
            Role::Agent => t.by_role.agent += 1,
            Role::Supervisor => t.by_role.supervisor += 1,
            Role::Admin => t.by_role.admin += 1,
        }
        match u.status {
            UserStatus::Suspended => t.by_status.suspended += 1,
            _ => t.by_status.active += 1,
        }
    }
    for i in invites {
        let name = shown(moving, i.team.clone());
        out.entry(name.clone())
            .or_insert_with(|| TeamView::new(name))
            .invited += 1;
    }
    // Named teams by name, case aside; no team last.
    let mut list: Vec<TeamView> = out.into_values().collect();
    list.sort_by(|a, b| match (&a.name, &b.name) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (Some(_), None) => std::cmp::Ordering::Less,
        (Some(x), Some(y)) => x.to_lowercase().cmp(&y.to_lowercase()).then(x.cmp(y)),
    });
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mv() -> TeamMove {
        TeamMove {
            id: "e1".into(),
            kind: MoveKind::Rename,
            from: "Support".into(),
            to: "Care".into(),
            at: OffsetDateTime::UNIX_EPOCH,
            by_name: "Ada".into(),
            members: 30,
            invites: 0,
            done_at: None,
            earlier: None,
        }
    }

    #[test]
    fn a_move_right_after_another_reads_through_both() {
        // Support → Care, done and settling; then Care → Help.
        let first = TeamMove {
            done_at: Some(OffsetDateTime::UNIX_EPOCH),
            ..mv()
        };
        let second = TeamMove {
            from: "Care".into(),
            to: "Help".into(),
            earlier: Some(Box::new(first)),
            ..mv()
        };
        assert_eq!(second.shown("Support"), "Help");
        assert_eq!(second.shown("Care"), "Help");
        assert_eq!(second.shown("Sales"), "Sales");
        assert_eq!(second.stored("Help"), vec!["Help", "Care", "Support"]);
        assert!(second.stored("Care").is_empty());
        assert!(second.stored("Support").is_empty());
        assert_eq!(second.sources(), vec!["Care", "Support"]);
        assert_eq!(mv().sources(), vec!["Support"]);
    }

    #[test]
    fn a_move_applies_while_it_runs_and_until_it_has_settled() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::hours(1);
        let running = mv();
        assert!(running.applies(now));
        let done = TeamMove {
            done_at: Some(now),
            ..mv()
        };
        assert!(done.applies(now + SETTLE - time::Duration::milliseconds(1)));
        assert!(!done.applies(now + SETTLE));
    }

    #[test]
    fn while_a_move_runs_the_old_name_reads_as_the_new_and_the_new_as_both() {
        let m = mv();
        assert_eq!(m.shown("Support"), "Care");
        assert_eq!(m.shown("Care"), "Care");
        assert_eq!(m.shown("Sales"), "Sales");
        assert_eq!(m.stored("Care"), vec!["Care", "Support"]);
        assert!(m.stored("Support").is_empty());
        assert_eq!(m.stored("Sales"), vec!["Sales"]);
        assert_eq!(shown(None, Some("Support".into())), Some("Support".into()));
        assert_eq!(shown(Some(&m), None), None);
    }

    #[test]
    fn a_move_request_names_every_bad_field_and_refuses_a_rename_to_itself() {
        let ok = move_request(
            &json!({"from": " Support ", "to": "Care"}),
            MoveKind::Rename,
        );
        assert_eq!(
            ok.ok(),
            Some(MoveRequest {
                from: "Support".into(),
                to: "Care".into()
            })
        );
        let merge = move_request(&json!({"from": "A", "into": "B"}), MoveKind::Merge);
        assert!(merge.is_ok());
        let fields = |r: Result<MoveRequest, ApiError>| match r {
            Err(ApiError::Invalid(errs)) => errs.into_iter().map(|e| e.field).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            fields(move_request(
                &json!({"from": "", "to": 3}),
                MoveKind::Rename
            )),
            vec!["from", "to"]
        );
        assert_eq!(
            fields(move_request(
                &json!({"from": "A", "to": "A"}),
                MoveKind::Rename
            )),
            vec!["to"]
        );
        assert_eq!(
            fields(move_request(
                &json!({"from": "A", "to": "B"}),
                MoveKind::Merge
            )),
            vec!["to", "into"]
        );
        assert_eq!(
            fields(move_request(
                &json!({"from": "A", "into": "x".repeat(65)}),
                MoveKind::Merge
            )),
            vec!["into"]
        );
    }
}
