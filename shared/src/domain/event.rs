//! The directory's events (docs/events/README.md): one document per audit entry of a committed
//! change, built from the entry alone, so the document pushed to EventBridge and the one a
//! later reader gets are the same (same id, same fields). An export records a read, not a
//! change: it has an audit entry and no event.

use super::{AuditAction, AuditEntry};
use serde_json::{json, Map, Value};

/// EventBridge's `source` of every event.
pub const SOURCE: &str = "veloconnect.directory";

/// The partition key prefix of the companies' events items in the audit table
/// (`EVENTS#<company>`): the only records of its stream that carry events.
pub const ITEM_PREFIX: &str = "EVENTS#";

/// Fields a snapshot holds that are not facts about the subject: derived for display
/// (`displayName`) or said elsewhere in the document (`userId`, under `user`).
const NOT_CHANGES: &[&str] = &["displayName", "userId"];

impl AuditAction {
    /// Whether the entry records a change (published) or a read (an export: not published).
    pub fn publishes(self) -> bool {
        !matches!(
            self,
            AuditAction::UsersExported | AuditAction::AuditExported
        )
    }
}

/// Every action that is published, in the order docs/events/ lists them.
pub const PUBLISHED: &[AuditAction] = &[
    AuditAction::TenantCreated,
    AuditAction::TierChanged,
    AuditAction::MfaPolicyChanged,
    AuditAction::DefaultMaxChatsChanged,
    AuditAction::InviteCreated,
    AuditAction::InviteResent,
    AuditAction::InviteRevoked,
    AuditAction::InviteExpired,
    AuditAction::InviteAccepted,
    AuditAction::RoleChanged,
    AuditAction::MaxChatsChanged,
    AuditAction::AvailabilityChanged,
    AuditAction::UserSuspended,
    AuditAction::UserReactivated,
    AuditAction::UserDeleted,
    AuditAction::UserSignedOut,
    AuditAction::PasswordChanged,
    AuditAction::PasswordResetSent,
    AuditAction::PasswordReset,
    AuditAction::MfaEnabled,
    AuditAction::MfaDisabled,
    AuditAction::MfaReset,
    AuditAction::TeamRenamed,
    AuditAction::TeamMerged,
    AuditAction::IntegrationCreated,
    AuditAction::IntegrationRevoked,
    AuditAction::UserUpdated,
    AuditAction::InviteUpdated,
    AuditAction::GroupMappingsChanged,
];

/// Who acted: a person, the scheduled jobs (`system`), VeloConnect's operators (`platform`)
/// or the company's identity provider (`directory`: directory sync, rule 22).
fn actor(entry: &AuditEntry) -> Value {
    let kind = match entry.actor.id.as_str() {
        "system" | "platform" => entry.actor.id.as_str(),
        _ if entry.actor.is_directory_sync() => "directory",
        _ => "user",
    };
    json!({ "kind": kind, "id": entry.actor.id, "name": entry.actor.name })
}

/// A snapshot field, from after the change if it says it, else from before.
fn field<'a>(entry: &'a AuditEntry, name: &str) -> Option<&'a Value> {
    let of = |v: &'a Option<Value>| {
        v.as_ref()
            .and_then(|v| v.get(name))
            .filter(|v| !v.is_null())
    };
    of(&entry.after).or_else(|| of(&entry.before))
}

/// A snapshot field as it was before the change (null when the entry has none).
fn before(entry: &AuditEntry, name: &str) -> Value {
    entry
        .before
        .as_ref()
        .and_then(|b| b.get(name))
        .cloned()
        .unwrap_or(Value::Null)
}

/// The fields that moved: each with its value before (null when the thing is new) and after.
fn changes(entry: &AuditEntry) -> Map<String, Value> {
    let empty = Map::new();
    let obj = |v: &Option<Value>| v.as_ref().and_then(Value::as_object).cloned();
    let before = obj(&entry.before).unwrap_or_else(|| empty.clone());
    let after = obj(&entry.after).unwrap_or(empty);
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|k| !NOT_CHANGES.contains(&k.as_str()))
        .filter_map(|k| {
            let (b, a) = (
                before.get(k).cloned().unwrap_or(Value::Null),
                after.get(k).cloned().unwrap_or(Value::Null),
            );
            (b != a).then(|| (k.clone(), json!({ "before": b, "after": a })))
        })
        .collect()
}

/// The event of an audit entry, or `None` for one that records a read. Its `id` is the
/// entry's, so every delivery of it (a retried batch, a replay) carries the same id.
pub fn of(entry: &AuditEntry) -> Option<Value> {
    if !entry.action.publishes() {
        return None;
    }
    let mut subject = json!({
        "kind": entry.target.kind,
        "id": entry.target.id,
        "name": entry.target.label,
    });
    if matches!(entry.target.kind.as_str(), "user" | "invite") {
        // A reset link's entry names the address it went to instead.
        subject["email"] = field(entry, "email")
            .or_else(|| field(entry, "sentTo"))
            .cloned()
            .unwrap_or(Value::Null);
    }
    let mut doc = json!({
        "id": entry.id,
        "type": entry.action.as_str(),
        "tenantId": entry.tenant_id,
        "occurredAt": super::timefmt::format(entry.at),
        "actor": actor(entry),
        "subject": subject,
        "changes": changes(entry),
    });
    let text = |name: &str| field(entry, name).cloned().unwrap_or(Value::Null);
    match entry.action {
        // Whom the invite became: a consumer keyed by user id starts here.
        AuditAction::InviteAccepted => {
            doc["user"] = json!({
                "id": text("userId"),
                "name": text("name"),
                "email": text("email"),
                "role": text("role"),
                "team": text("team"),
            });
        }
        // What a consumer needs to hand the user's open work to someone else (the product
        // guide's "original assignee"): who, by the name they had, and which team.
        AuditAction::UserSuspended | AuditAction::UserDeleted => {
            let before = |name: &str| before(entry, name);
            doc["reassign"] = json!({
                "userId": entry.target.id,
                "name": before("name"),
                "team": before("team"),
            });
        }
        // The team's name is what changed; how many moved with it is not a field of it.
        AuditAction::TeamRenamed | AuditAction::TeamMerged => {
            doc["changes"] = json!({ "team": doc["changes"]["team"].clone() });
            let before = |name: &str| before(entry, name);
            doc["moved"] = json!({ "members": before("members"), "invites": before("invites") });
        }
        _ => {}
    }
    Some(doc)
}

/// One stream record of a company's events item, as Lambda hands it to `publish-events`.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    /// The record's `SequenceNumber`: what a partial batch failure names.
    pub record: String,
    /// When DynamoDB wrote it (`ApproximateCreationDateTime`, seconds), if the record says.
    pub written_at: Option<f64>,
    /// The change's events, each with its `sequence` in the company.
    pub events: Vec<Value>,
}

/// What a stream record is to the publisher.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A company's events item, written by a change.
    Events(Committed),
    /// Anything else on the audit table's stream (an audit entry itself, a removal): the
    /// event source mapping's filter keeps these away on AWS; here they are counted and left.
    Other,
    /// An events item that cannot be read: kept whole in the dead-letter queue, since no
    /// retry would read it better.
    Unreadable { record: String, why: &'static str },
}

/// Reads one record of a DynamoDB stream event (the new image of the company's events item:
/// `events`, the change's events as JSON, and `seq`, the company's count after them, so the
/// first of them is `seq - len + 1`).
pub fn read_record(r: &Value) -> Record {
    let image = &r["dynamodb"]["NewImage"];
    let pk = image["pk"]["S"].as_str().unwrap_or_default();
    if !pk.starts_with(ITEM_PREFIX) || r["eventName"] == "REMOVE" {
        return Record::Other;
    }
    let record = r["dynamodb"]["SequenceNumber"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let unreadable = |why| Record::Unreadable {
        record: record.clone(),
        why,
    };
    let Some(events) = image["events"]["S"]
        .as_str()
        .and_then(|t| serde_json::from_str::<Vec<Value>>(t).ok())
    else {
        return unreadable("events is not a JSON list");
    };
    let Some(last) = image["seq"]["N"]
        .as_str()
        .and_then(|n| n.parse::<u64>().ok())
    else {
        return unreadable("seq is not a number");
    };
    let count = events.len() as u64;
    if count == 0 || count > last {
        return unreadable("seq is smaller than the events it numbers");
    }
    if !events.iter().all(Value::is_object) {
        return unreadable("an event is not a JSON object");
    }
    let events = events
        .into_iter()
        .zip(last - count + 1..)
        .map(|(mut e, n)| {
            e["sequence"] = json!(n);
            e
        })
        .collect();
    Record::Events(Committed {
        record,
        written_at: r["dynamodb"]["ApproximateCreationDateTime"].as_f64(),
        events,
    })
}

/// How long a hole in a company's log (an event written after a later one, or never) holds
/// up `GET /events`. publish-events writes the log in sequence order and retries a record
/// that failed until the event source mapping gives up on it at an hour
/// (`MaximumRecordAgeInSeconds`); a hole older than that beside a later event can never fill,
/// so readers move past it rather than wait forever.
pub const GAP_GRACE: time::Duration = time::Duration::minutes(75);

/// One page of the company's log for `GET /events`: the events after `after`, in sequence
/// order, of the `types` asked for (all when empty), at most `limit`; and the cursor to read
/// on from (the last sequence looked at: events of other types are passed over, not lost).
/// It stops at a hole that may still fill, so a reader never skips an event written late.
pub fn page(
    after: u64,
    log: &[(u64, &Value, time::OffsetDateTime)],
    types: &[AuditAction],
    limit: usize,
    now: time::OffsetDateTime,
) -> (Vec<Value>, u64) {
    let mut cursor = after;
    let mut out = Vec::new();
    for (seq, event, logged_at) in log {
        if out.len() >= limit {
            break;
        }
        if *seq <= cursor {
            continue;
        }
        if *seq != cursor + 1 && now - *logged_at < GAP_GRACE {
            break;
        }
        cursor = *seq;
        let wanted = types.is_empty()
            || event["type"]
                .as_str()
                .and_then(AuditAction::parse)
                .is_some_and(|t| types.contains(&t));
        if wanted {
            out.push((*event).clone());
        }
    }
    (out, cursor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Actor, Change};
    use time::OffsetDateTime;

    fn change() -> Change {
        Change::new(
            Actor {
                id: "u-admin".into(),
                email: Some("ada@example.com".into()),
                name: Some("Ada".into()),
            },
            OffsetDateTime::UNIX_EPOCH,
            "rid",
        )
    }

    #[test]
    fn every_action_but_the_exports_is_published_and_listed() {
        let all = [
            AuditAction::UsersExported,
            AuditAction::AuditExported,
            AuditAction::TenantCreated,
        ];
        assert!(!all[0].publishes() && !all[1].publishes() && all[2].publishes());
        for a in PUBLISHED {
            assert!(a.publishes(), "{a:?}");
        }
        assert_eq!(PUBLISHED.len(), 29, "31 actions less the two exports");
    }

    #[test]
    fn a_suspension_says_what_changed_and_whom_to_reassign() {
        use crate::domain::user::tests::user;
        use crate::domain::{Role, UserStatus};
        let before = user("u1", "t1", Role::Agent, Some("north"));
        let mut after = before.clone();
        after.status = UserStatus::Suspended;
        let entry = change().on_user(AuditAction::UserSuspended, &before, &after);
        let e = of(&entry).unwrap();
        assert_eq!(
            e["id"],
            entry.id.as_str(),
            "the entry's id, stable on redelivery"
        );
        assert_eq!(e["type"], "user.suspended");
        assert_eq!(e["tenantId"], "t1");
        assert_eq!(e["occurredAt"], "1970-01-01T00:00:00.000Z");
        assert_eq!(
            e["actor"],
            json!({"kind": "user", "id": "u-admin", "name": "Ada"})
        );
        assert_eq!(e["subject"]["kind"], "user");
        assert_eq!(e["subject"]["id"], "u1");
        assert_eq!(e["subject"]["email"], before.email.as_str());
        assert_eq!(
            e["changes"],
            json!({"status": {"before": "active", "after": "suspended"}}),
            "only what moved"
        );
        assert_eq!(
            e["reassign"],
            json!({"userId": "u1", "name": before.name, "team": "north"})
        );
    }

    #[test]
    fn an_acceptance_names_the_user_the_invite_became_and_no_secret() {
        let inv = crate::domain::invite::tests::invite(OffsetDateTime::UNIX_EPOCH);
        let mut entry = change().on_invite(AuditAction::InviteAccepted, Some(&inv), &inv);
        entry.after.as_mut().unwrap()["userId"] = json!("u-new");
        entry.after.as_mut().unwrap()["status"] = json!("accepted");
        let e = of(&entry).unwrap();
        assert_eq!(e["user"]["id"], "u-new");
        assert_eq!(e["user"]["email"], inv.email.as_str());
        assert!(e["changes"].get("userId").is_none());
        let text = e.to_string();
        for secret in ["token", "hash", "password"] {
            assert!(!text.to_lowercase().contains(secret), "{secret} in {text}");
        }
    }

    #[test]
    fn a_record_numbers_its_events_from_the_count_after_them() {
        let rec = |pk: &str, events: &str, seq: &str| {
            json!({"eventName": "MODIFY", "dynamodb": {
                "SequenceNumber": "900", "ApproximateCreationDateTime": 1.7e9,
                "NewImage": {"pk": {"S": pk}, "sk": {"S": "EVENTS"},
                    "events": {"S": events}, "seq": {"N": seq}}}})
        };
        let Record::Events(c) = read_record(&rec("EVENTS#t1", r#"[{"id":"a"},{"id":"b"}]"#, "7"))
        else {
            panic!("an events item")
        };
        assert_eq!(c.record, "900");
        assert_eq!(c.written_at, Some(1.7e9));
        let seqs: Vec<_> = c
            .events
            .iter()
            .map(|e| (e["id"].clone(), e["sequence"].clone()))
            .collect();
        assert_eq!(seqs, vec![(json!("a"), json!(6)), (json!("b"), json!(7))]);
        assert_eq!(read_record(&rec("TENANT#t1", "[]", "1")), Record::Other);
        let mut removed = rec("EVENTS#t1", "[]", "1");
        removed["eventName"] = json!("REMOVE");
        assert_eq!(read_record(&removed), Record::Other);
        for (events, seq) in [
            ("nope", "1"),
            ("[]", "1"),
            (r#"[{"id":"a"}]"#, "x"),
            ("[3]", "1"),
            (r#"["a"]"#, "1"),
            (r#"[{},{}]"#, "1"),
        ] {
            assert!(
                matches!(
                    read_record(&rec("EVENTS#t1", events, seq)),
                    Record::Unreadable { .. }
                ),
                "{events} {seq}"
            );
        }
    }

    #[test]
    fn a_page_stops_at_a_hole_that_may_fill_and_passes_one_that_cannot() {
        use time::Duration;
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1);
        let e = |t: &str| json!({"type": t});
        let (a, b, c, d) = (
            e("invite.created"),
            e("user.suspended"),
            e("user.deleted"),
            e("invite.created"),
        );
        let fresh = now - Duration::seconds(5);
        let log = [
            (1, &a, fresh),
            (2, &b, fresh),
            (4, &c, fresh),
            (5, &d, fresh),
        ];
        let (events, cursor) = page(0, &log, &[], 10, now);
        assert_eq!((events.len(), cursor), (2, 2), "3 may still be written");
        let (events, cursor) = page(2, &log, &[], 10, now);
        assert_eq!(
            (events.len(), cursor),
            (0, 2),
            "nothing new: the same cursor"
        );
        let old = now - GAP_GRACE;
        let log = [(1, &a, old), (2, &b, old), (4, &c, old), (5, &d, fresh)];
        let (events, cursor) = page(2, &log, &[], 10, now);
        assert_eq!((events.len(), cursor), (2, 5), "3 never will be");
        let (events, cursor) = page(0, &log, &[AuditAction::UserSuspended], 10, now);
        assert_eq!(events, vec![b.clone()]);
        assert_eq!(cursor, 5, "passed over the other types");
        let (events, cursor) = page(0, &log, &[], 1, now);
        assert_eq!((events, cursor), (vec![a.clone()], 1));
    }

    #[test]
    fn an_export_is_a_read_and_has_no_event() {
        let entry = change().on_export(AuditAction::UsersExported, &"t1".into(), "Acme", "");
        assert!(of(&entry).is_none());
    }
}
