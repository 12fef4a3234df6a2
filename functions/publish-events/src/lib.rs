//! `publish-events`: the directory's events (docs/events/README.md) from the audit table's
//! stream to the stack's EventBridge bus. Every change writes its company's events item in
//! its own transaction (`shared::store` `Tx`), so what reaches the stream committed, and the
//! event source mapping hands this function each company's records in commit order.
//!
//! Per batch: the events are put in order, at most 10 per `PutEvents` call (EventBridge's
//! limit). An entry EventBridge refuses is tried again at once; if it still fails:
//! - while its record is younger than the retry window, the answer names that record as the
//!   batch's first failure and no later chunk is sent: the mapping sends the batch again from
//!   there. What went out after it in the same call goes again with the same ids, so a
//!   consumer may see it before the retried event: consumers order by `sequence` and drop
//!   repeats by `id` (EventBridge does not promise delivery order anyway);
//! - once the window has passed, the event goes whole to the dead-letter queue (with
//!   EventBridge's error) and publishing goes on: nothing is lost, nothing is published under
//!   a new id, and an operator can send it on from there.
//!
//! A `PutEvents` call that fails outright (throttled past the SDK's retries, unreachable, a
//! denied permission) is the same for every event of its call: retried from its first record
//! while young, dead-lettered whole past the window.
//!
//! Before the bus, each event goes to its company's event log (`EVENTLOG#<company>` in the
//! audit table, by sequence), which `GET /events` reads: an event the log could not take
//! stops the batch at its record the same way, so the log is written in order too; past the
//! window it is dead-lettered whole (marked `log`) and still put on the bus. Logs carry
//! counts, never an event.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde::Serialize;
use serde_json::{json, Value};
use shared::domain::event::{self, Record};
use std::time::{Duration, SystemTime};

/// EventBridge takes at most 10 entries per `PutEvents`.
pub const MAX_ENTRIES: usize = 10;

/// How long a refused event is retried through the event source mapping before it is
/// dead-lettered: long enough to ride out a throttled or briefly failing bus, well inside the
/// mapping's `MaximumRecordAgeInSeconds` (the template's 3,600 s) and the stream's 24 h.
pub const RETRY_WINDOW: Duration = Duration::from_secs(900);

/// Tries of a refused entry within one invocation.
const ATTEMPTS: u32 = 2;

#[derive(Clone)]
pub struct Deps {
    /// The event log's writes (the audit table).
    pub store: shared::store::Store,
    pub events: aws_sdk_eventbridge::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// The stack's bus (`EVENT_BUS_NAME`).
    pub bus: String,
    /// The dead-letter queue's URL (`EVENTS_DEAD_LETTER_QUEUE_URL`).
    pub dead_letters: String,
    pub retry_window: Duration,
}

impl Deps {
    pub fn new(
        sdk: &aws_types::SdkConfig,
        store: shared::store::Store,
        bus: String,
        dead_letters: String,
    ) -> Deps {
        Deps {
            store,
            events: aws_sdk_eventbridge::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            bus,
            dead_letters,
            retry_window: RETRY_WINDOW,
        }
    }

    pub fn from_env() -> Result<Deps, shared::config::ConfigError> {
        use shared::config::env;
        let sdk = shared::config::aws()?;
        Ok(Deps::new(
            &sdk,
            shared::store::Store::from_env(&sdk)?,
            env("EVENT_BUS_NAME")?,
            env("EVENTS_DEAD_LETTER_QUEUE_URL")?,
        ))
    }
}

/// What one batch came to: the answer the mapping reads, and the one log line's counts.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Done {
    pub records: usize,
    /// Records that are not a company's events item (filtered out on AWS).
    pub skipped: usize,
    pub published: usize,
    /// Events written to their company's log.
    pub logged: usize,
    /// Entries EventBridge refused at first and took when tried again.
    pub retried: usize,
    pub dead_lettered: usize,
    /// The first record not done: the mapping sends the batch again from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_from: Option<String>,
}

impl Done {
    /// The partial batch response (`FunctionResponseTypes: [ReportBatchItemFailures]`).
    pub fn answer(&self) -> Value {
        let failures: Vec<Value> = self
            .failed_from
            .iter()
            .map(|r| json!({ "itemIdentifier": r }))
            .collect();
        json!({ "batchItemFailures": failures })
    }
}

/// An event ready to put, with the record it came from.
struct Pending<'a> {
    record: &'a str,
    written_at: Option<f64>,
    event: Value,
}

pub async fn handle(deps: &Deps, batch: &Value, now: SystemTime) -> Done {
    let records = batch["Records"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut done = Done {
        records: records.len(),
        ..Done::default()
    };
    let read: Vec<Record> = records.iter().map(event::read_record).collect();
    let mut pending = Vec::new();
    for r in &read {
        match r {
            Record::Events(c) => pending.extend(c.events.iter().map(|e| Pending {
                record: &c.record,
                written_at: c.written_at,
                event: e.clone(),
            })),
            Record::Other => done.skipped += 1,
            Record::Unreadable { record, why } => {
                // In stream order: what came before it must be out first.
                if let Err(stop) = flush(deps, &pending, now, &mut done).await {
                    done.failed_from = Some(stop);
                    return log(done);
                }
                pending.clear();
                let raw = records
                    .iter()
                    .find(|x| x["dynamodb"]["SequenceNumber"] == record.as_str());
                let body = json!({"unreadable": why, "record": raw});
                if dead_letter(deps, body).await.is_err() {
                    done.failed_from = Some(record.clone());
                    return log(done);
                }
                done.dead_lettered += 1;
            }
        }
    }
    if let Err(stop) = flush(deps, &pending, now, &mut done).await {
        done.failed_from = Some(stop);
    }
    log(done)
}

/// The company's log, then the bus, for `events` in order; the record to retry from if not
/// all of them made it to both.
async fn flush(
    deps: &Deps,
    events: &[Pending<'_>],
    now: SystemTime,
    done: &mut Done,
) -> Result<(), String> {
    let at = time::OffsetDateTime::from(now);
    let docs: Vec<Value> = events.iter().map(|p| p.event.clone()).collect();
    let mut unlogged = deps.store.log_events(&docs, at).await;
    // Past the window, an event the log keeps refusing is kept whole for an operator, and
    // goes on to the bus: the mapping would otherwise give up on its record within the hour.
    let mut kept = Vec::new();
    for &i in &unlogged {
        if age(&events[i], now) < deps.retry_window {
            break;
        }
        let body =
            json!({"event": events[i].event, "error": "not written to the event log", "log": true});
        if dead_letter(deps, body).await.is_err() {
            break;
        }
        done.dead_lettered += 1;
        kept.push(i);
    }
    unlogged.retain(|i| !kept.contains(i));
    // Only what precedes the first record the log could not take goes on: its retry brings
    // the rest (the log's writes are the same item again).
    let upto = match unlogged.first() {
        Some(&i) => events
            .iter()
            .position(|p| p.record == events[i].record)
            .unwrap_or(i),
        None => events.len(),
    };
    done.logged += upto - kept.iter().filter(|&&i| i < upto).count();
    publish(deps, &events[..upto], now, done).await?;
    match unlogged.first() {
        Some(&i) => Err(events[i].record.to_string()),
        None => Ok(()),
    }
}

/// How long ago the event's record was written (0 when the record does not say).
fn age(p: &Pending, now: SystemTime) -> Duration {
    p.written_at
        .map(|w| {
            let now = now
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64();
            Duration::from_secs_f64((now - w).max(0.0))
        })
        .unwrap_or_default()
}

fn log(done: Done) -> Done {
    tracing::info!(
        records = done.records,
        skipped = done.skipped,
        published = done.published,
        logged = done.logged,
        retried = done.retried,
        dead_lettered = done.dead_lettered,
        failed_from = done.failed_from.as_deref(),
        "batch handled"
    );
    done
}

/// Puts `events` in order; on a failure that must be retried, the record to retry from.
async fn publish(
    deps: &Deps,
    events: &[Pending<'_>],
    now: SystemTime,
    done: &mut Done,
) -> Result<(), String> {
    for chunk in events.chunks(MAX_ENTRIES) {
        let mut left: Vec<&Pending> = chunk.iter().collect();
        let mut refused: Vec<(&Pending, String)> = Vec::new();
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            refused.clear();
            let entries: Vec<PutEventsRequestEntry> = left.iter().map(|p| entry(deps, p)).collect();
            let out = match deps
                .events
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    let why = shared::domain::Chain(&e).to_string();
                    tracing::warn!(error = %why, attempt, "PutEvents failed");
                    if attempt < ATTEMPTS {
                        continue;
                    }
                    // The whole call failed: each of its events as if refused one by one.
                    refused = left
                        .iter()
                        .map(|p| (*p, format!("PutEvents: {why}")))
                        .collect();
                    break;
                }
            };
            // One result per entry, in the order sent.
            let results = out.entries();
            for (i, p) in left.iter().enumerate() {
                match results.get(i) {
                    Some(r) if r.error_code().is_none() && r.event_id().is_some() => {
                        done.published += 1;
                        if attempt > 1 {
                            done.retried += 1;
                        }
                    }
                    r => {
                        let code = r.and_then(|r| r.error_code()).unwrap_or("NoResult");
                        let msg = r.and_then(|r| r.error_message()).unwrap_or_default();
                        refused.push((p, format!("{code}: {msg}")));
                    }
                }
            }
            left = refused.iter().map(|(p, _)| *p).collect();
            if left.is_empty() {
                break;
            }
        }
        for (p, why) in &refused {
            let age = age(p, now);
            tracing::warn!(error = %why, age_s = age.as_secs(), "an event was refused");
            if age < deps.retry_window {
                return Err(p.record.to_string());
            }
            let body = json!({"event": p.event, "error": why});
            if dead_letter(deps, body).await.is_err() {
                return Err(p.record.to_string());
            }
            done.dead_lettered += 1;
        }
    }
    Ok(())
}

fn entry(deps: &Deps, p: &Pending) -> PutEventsRequestEntry {
    let time = p.event["occurredAt"]
        .as_str()
        .and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
        .map(|t| {
            aws_sdk_eventbridge::primitives::DateTime::from_millis(
                (t.unix_timestamp_nanos() / 1_000_000) as i64,
            )
        });
    PutEventsRequestEntry::builder()
        .event_bus_name(&deps.bus)
        .source(event::SOURCE)
        .detail_type(p.event["type"].as_str().unwrap_or_default())
        .detail(p.event.to_string())
        .set_time(time)
        .build()
}

async fn dead_letter(deps: &Deps, body: Value) -> Result<(), ()> {
    deps.sqs
        .send_message()
        .queue_url(&deps.dead_letters)
        .message_body(body.to_string())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            tracing::error!(error = %shared::domain::Chain(&e), "dead-letter queue refused an event");
        })
}
