//! What Lambda's event source mapping does on AWS, for the local run and the tests: it reads
//! the audit table's stream, keeps only the companies' events items (the template's
//! `FilterCriteria`), hands `publish-events` batches of at most `batch_size` records, and on a
//! partial batch failure checkpoints before the record named and sends the batch again from
//! it, without limit (`MaximumRetryAttempts: -1`) until the record is older than
//! `max_record_age` (`MaximumRecordAgeInSeconds`): then it gives up on the batch, a record of
//! it (where it was, not what it held) goes to the on-failure destination, the dead-letter
//! queue, and reading goes on. `publish-events` dead-letters a refused event whole well before
//! that age, so this is only for a function that keeps failing outright.
//!
//! And a consumer's side: `received` reads what the bus's rule delivered to the stack's queue.

use crate::moto::aws_json;
use serde_json::{json, Value};
use std::collections::VecDeque;

/// As the template's mapping.
pub const BATCH_SIZE: usize = 100;
pub const MAX_RECORD_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

pub struct Poller {
    endpoint: String,
    stream: String,
    iterator: Option<String>,
    /// Records read and not yet checkpointed, oldest first.
    held: VecDeque<Value>,
    pub batch_size: usize,
    pub max_record_age: std::time::Duration,
    /// Where a batch that ran out of retries is recorded (the mapping's `OnFailure`).
    on_failure: String,
}

/// What one `poll` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Polled {
    pub batches: usize,
    pub records: usize,
    /// Batches whose answer named a failed record (sent again on the next poll).
    pub partial: usize,
    /// Batches given up on (recorded in the dead-letter queue).
    pub given_up: usize,
}

impl Poller {
    /// Reads the stream from its oldest record (`StartingPosition: TRIM_HORIZON`), at
    /// `endpoint`: the mapping reads with the function's role, so the IAM test sends its
    /// reads through the function's own proxy.
    pub async fn new(stack: &crate::Stack, endpoint: &str) -> Poller {
        let endpoint = endpoint.to_string();
        let stream = stack.audit_stream_arn.clone();
        let described = streams(&endpoint, "DescribeStream", json!({ "StreamArn": stream })).await;
        let shard = described["StreamDescription"]["Shards"][0]["ShardId"]
            .as_str()
            .expect("the stream's shard")
            .to_string();
        let it = streams(
            &endpoint,
            "GetShardIterator",
            json!({ "StreamArn": stream, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON" }),
        )
        .await;
        Poller {
            endpoint,
            stream,
            iterator: it["ShardIterator"].as_str().map(String::from),
            held: VecDeque::new(),
            batch_size: BATCH_SIZE,
            max_record_age: MAX_RECORD_AGE,
            on_failure: stack.events_dead_letter_url.clone(),
        }
    }

    /// Reads what is new on the stream (filtered as the template's mapping filters).
    async fn read(&mut self) {
        let Some(it) = self.iterator.clone() else {
            return;
        };
        let out = streams(
            &self.endpoint,
            "GetRecords",
            json!({ "ShardIterator": it, "Limit": 1000 }),
        )
        .await;
        self.iterator = out["NextShardIterator"].as_str().map(String::from);
        for mut r in out["Records"].as_array().cloned().unwrap_or_default() {
            let pk = r["dynamodb"]["Keys"]["pk"]["S"]
                .as_str()
                .unwrap_or_default();
            if !pk.starts_with(shared::domain::event::ITEM_PREFIX) {
                continue;
            }
            // Lambda's event gives the time in epoch seconds; moto's stream API, as text.
            if let Some(t) = r["dynamodb"]["ApproximateCreationDateTime"].as_str() {
                let secs = parse_time(t);
                r["dynamodb"]["ApproximateCreationDateTime"] = json!(secs);
            }
            r["eventSourceARN"] = json!(self.stream);
            self.held.push_back(r);
        }
    }

    /// One round: reads the stream, then hands each batch of what is held to the handler
    /// until one fails (the next round sends it again) or nothing is left.
    pub async fn poll(&mut self, deps: &publish_events_fn::Deps) -> Polled {
        self.read().await;
        let mut polled = Polled::default();
        while !self.held.is_empty() {
            let n = self.held.len().min(self.batch_size);
            let batch: Vec<Value> = self.held.iter().take(n).cloned().collect();
            polled.batches += 1;
            polled.records += n;
            let done = publish_events_fn::handle(
                deps,
                &json!({ "Records": batch }),
                std::time::SystemTime::now(),
            )
            .await;
            let answer = done.answer();
            let failed = answer["batchItemFailures"][0]["itemIdentifier"]
                .as_str()
                .map(String::from);
            let Some(failed) = failed else {
                self.held.drain(..n);
                continue;
            };
            // Checkpoint before the record named; the batch goes again from it.
            let at = batch
                .iter()
                .position(|r| r["dynamodb"]["SequenceNumber"] == failed.as_str())
                .unwrap_or(0);
            self.held.drain(..at);
            polled.partial += 1;
            let written = batch[at]["dynamodb"]["ApproximateCreationDateTime"]
                .as_f64()
                .unwrap_or(0.0);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64();
            if now - written > self.max_record_age.as_secs_f64() {
                let left: Vec<Value> = self.held.iter().take(n - at).cloned().collect();
                self.give_up(&left).await;
                self.held.drain(..left.len());
                polled.given_up += 1;
                continue;
            }
            break;
        }
        polled
    }

    /// Reads the stream and answers what is held, without handing it over (a test hands the
    /// same batch over twice, as a redelivery does).
    pub async fn peek(&mut self) -> Vec<Value> {
        self.read().await;
        self.held.iter().cloned().collect()
    }

    /// Polls until the stream has nothing new and nothing is held (or `rounds` run out).
    pub async fn drain(&mut self, deps: &publish_events_fn::Deps, rounds: usize) -> Polled {
        let mut all = Polled::default();
        for _ in 0..rounds {
            let p = self.poll(deps).await;
            all.batches += p.batches;
            all.records += p.records;
            all.partial += p.partial;
            all.given_up += p.given_up;
            if p.batches == 0 && self.held.is_empty() {
                break;
            }
        }
        all
    }

    /// The mapping's on-failure record: which records of which shard, not their contents.
    async fn give_up(&self, batch: &[Value]) {
        let seq = |r: Option<&Value>| {
            r.map(|r| r["dynamodb"]["SequenceNumber"].clone())
                .unwrap_or(Value::Null)
        };
        let body = json!({
            "requestContext": { "condition": "RetryAttemptsExhausted" },
            "DDBStreamBatchInfo": {
                "streamArn": self.stream,
                "startSequenceNumber": seq(batch.first()),
                "endSequenceNumber": seq(batch.last()),
                "batchSize": batch.len(),
            }
        });
        aws_json(
            &self.endpoint,
            "sqs",
            "AmazonSQS.SendMessage",
            &json!({ "QueueUrl": self.on_failure, "MessageBody": body.to_string() }),
        )
        .await
        .expect("the on-failure destination");
    }
}

async fn streams(endpoint: &str, op: &str, body: Value) -> Value {
    aws_json(
        endpoint,
        "dynamodb",
        &format!("DynamoDBStreams_20120810.{op}"),
        &body,
    )
    .await
    .unwrap_or_else(|e| panic!("{op}: {e}"))
}

fn parse_time(t: &str) -> f64 {
    use time::format_description::well_known::Rfc3339;
    let t = if t.ends_with('Z') || t.contains('+') {
        t.to_string()
    } else {
        format!("{t}Z")
    };
    time::OffsetDateTime::parse(&t, &Rfc3339)
        .map(|t| t.unix_timestamp_nanos() as f64 / 1e9)
        .unwrap_or(0.0)
}

/// Every message now in `queue_url` (each received once, then deleted), oldest first: for the
/// bus's queue, the EventBridge events as a consumer receives them.
pub async fn received(endpoint: &str, queue_url: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        // WaitTimeSeconds 0: the emulator answers one request at a time, so a long poll on an
        // empty queue would hold everything else up.
        let got = aws_json(
            endpoint,
            "sqs",
            "AmazonSQS.ReceiveMessage",
            &json!({ "QueueUrl": queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0 }),
        )
        .await
        .expect("receive");
        let msgs = got["Messages"].as_array().cloned().unwrap_or_default();
        if msgs.is_empty() {
            return out;
        }
        for m in msgs {
            aws_json(
                endpoint,
                "sqs",
                "AmazonSQS.DeleteMessage",
                &json!({ "QueueUrl": queue_url, "ReceiptHandle": m["ReceiptHandle"] }),
            )
            .await
            .expect("delete");
            out.push(
                serde_json::from_str(m["Body"].as_str().unwrap_or("null")).unwrap_or(Value::Null),
            );
        }
    }
}

/// Validates each event (an EventBridge envelope or a bare document) against its type's JSON
/// Schema in docs/events/ (tests/events/validate.py, with the emulator's Python, which has
/// `jsonschema`): the validator's report, or its complaints.
pub fn validate(events: &[Value]) -> Result<String, String> {
    let root = crate::moto::project_root();
    let file = std::env::temp_dir().join(format!(
        "veloconnect-events-{}.json",
        shared::domain::ids::new_id()
    ));
    std::fs::write(&file, Value::Array(events.to_vec()).to_string()).unwrap();
    let out = std::process::Command::new(crate::moto::python())
        .arg(root.join("tests/events/validate.py"))
        .arg(&file)
        .output()
        .expect("run the events' validator");
    let _ = std::fs::remove_file(&file);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}
