//! The AWS resources the functions expect, created in the emulator: the two tables, the user
//! pool and its app client, and the SES sender identity. Names carry a run id so several runs
//! can share one emulator.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, PasswordPolicyType, UserPoolPolicyType, UsernameConfigurationType,
};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use serde::Serialize;
use shared::store::Tables;

pub const REGION: &str = "us-east-1";
pub const SENDER: &str = "no-reply@veloconnect.test";
pub const APP_URL: &str = "http://127.0.0.1:5173";
pub const PRICING_URL: &str = "https://veloconnect.io/pricing";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stack {
    pub aws_endpoint: String,
    pub region: String,
    pub directory_table: String,
    pub audit_table: String,
    pub user_pool_id: String,
    pub user_pool_client_id: String,
    pub token_issuer: String,
    pub jwks_url: String,
    pub sender: String,
    /// The SES configuration set every send names (the template's `MailConfigurationSet`).
    pub configuration_set: String,
    pub app_url: String,
    pub pricing_url: String,
    /// The audit table's stream (what `publish-events` reads, through `events::Poller`).
    pub audit_stream_arn: String,
    /// The stack's EventBridge bus (the template's `EventBus`).
    pub event_bus: String,
    /// A queue a rule on the bus sends every directory event to: what a consumer would see.
    pub events_queue_url: String,
    /// `publish-events`' dead-letter queue (the template's `EventsFailedQueue`).
    pub events_dead_letter_url: String,
}

pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .timeout_config(shared::config::timeouts())
        .credentials_provider(Credentials::new(
            "testing", "testing", None, None, "harness",
        ))
        .load()
        .await
}

fn key(name: &str, kt: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kt)
        .build()
        .unwrap()
}
fn attr(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .unwrap()
}

impl Stack {
    pub fn tables(&self) -> Tables {
        Tables {
            directory: self.directory_table.clone(),
            audit: self.audit_table.clone(),
        }
    }

    pub async fn create(endpoint: &str, cfg: &SdkConfig) -> Stack {
        let run = &shared::domain::ids::new_id()[..8];
        let ddb = aws_sdk_dynamodb::Client::new(cfg);
        let directory = format!("velo-directory-{run}");
        let audit = format!("velo-audit-{run}");
        ddb.create_table()
            .table_name(&directory)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk"))
            .attribute_definitions(attr("sk"))
            .attribute_definitions(attr("gsi1pk"))
            .attribute_definitions(attr("gsi1sk"))
            .attribute_definitions(attr("gsi2pk"))
            .attribute_definitions(attr("gsi2sk"))
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name("gsi1")
                    .key_schema(key("gsi1pk", KeyType::Hash))
                    .key_schema(key("gsi1sk", KeyType::Range))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name("gsi2")
                    .key_schema(key("gsi2pk", KeyType::Hash))
                    .key_schema(key("gsi2sk", KeyType::Range))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("create directory table");
        let audit_table = ddb
            .create_table()
            .table_name(&audit)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk"))
            .attribute_definitions(attr("sk"))
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            // As infra/template.yaml: the log's stream, what events are published from.
            .stream_specification(
                aws_sdk_dynamodb::types::StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::NewImage)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("create audit table");
        let audit_stream_arn = audit_table
            .table_description
            .and_then(|t| t.latest_stream_arn)
            .expect("the audit table's stream");
        let (event_bus, events_queue_url, events_dead_letter_url) = event_bus(endpoint, run).await;

        let idp = aws_sdk_cognitoidentityprovider::Client::new(cfg);
        let pool = idp
            .create_user_pool()
            .pool_name(format!("velo-users-{run}"))
            .policies(
                UserPoolPolicyType::builder()
                    .password_policy(
                        PasswordPolicyType::builder()
                            .minimum_length(shared::domain::password::MIN_LENGTH as i32)
                            .require_lowercase(true)
                            .require_uppercase(true)
                            .require_numbers(true)
                            .require_symbols(true)
                            .build(),
                    )
                    .build(),
            )
            .username_configuration(
                UsernameConfigurationType::builder()
                    .case_sensitive(false)
                    .build()
                    .unwrap(),
            )
            // As infra/template.yaml: two-step verification optional, authenticator apps only.
            .mfa_configuration(aws_sdk_cognitoidentityprovider::types::UserPoolMfaType::Optional)
            .send()
            .await
            .expect("create user pool");
        let pool_id = pool.user_pool.and_then(|p| p.id).expect("pool id");
        idp.set_user_pool_mfa_config()
            .user_pool_id(&pool_id)
            .mfa_configuration(aws_sdk_cognitoidentityprovider::types::UserPoolMfaType::Optional)
            .software_token_mfa_configuration(
                aws_sdk_cognitoidentityprovider::types::SoftwareTokenMfaConfigType::builder()
                    .enabled(true)
                    .build(),
            )
            .send()
            .await
            .expect("set the pool's MFA configuration");
        let client = idp
            .create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("velo-web")
            .generate_secret(false)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .send()
            .await
            .expect("create user pool client");
        let client_id = client
            .user_pool_client
            .and_then(|c| c.client_id)
            .expect("client id");

        let ses = aws_sdk_sesv2::Client::new(cfg);
        ses.create_email_identity()
            .email_identity(SENDER)
            .send()
            .await
            .expect("create SES identity");
        let configuration_set = format!("velo-mail-{run}");
        ses.create_configuration_set()
            .configuration_set_name(&configuration_set)
            .send()
            .await
            .expect("create SES configuration set");

        Stack {
            aws_endpoint: endpoint.to_string(),
            region: REGION.into(),
            directory_table: directory,
            audit_table: audit,
            token_issuer: format!("https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"),
            jwks_url: format!("{endpoint}/{pool_id}/.well-known/jwks.json"),
            user_pool_id: pool_id,
            user_pool_client_id: client_id,
            sender: SENDER.into(),
            configuration_set,
            app_url: APP_URL.into(),
            pricing_url: PRICING_URL.into(),
            audit_stream_arn,
            event_bus,
            events_queue_url,
            events_dead_letter_url,
        }
    }
}

/// The bus, a rule that sends every directory event to a queue (a consumer's view), and the
/// dead-letter queue: (bus name, queue URL, dead-letter queue URL).
async fn event_bus(endpoint: &str, run: &str) -> (String, String, String) {
    use crate::moto::aws_json;
    use serde_json::json;
    let queue = |name: String| async move {
        let out = aws_json(
            endpoint,
            "sqs",
            "AmazonSQS.CreateQueue",
            &json!({ "QueueName": name }),
        )
        .await
        .expect("create queue");
        out["QueueUrl"].as_str().expect("queue URL").to_string()
    };
    let sink = queue(format!("velo-events-{run}")).await;
    let dead = queue(format!("velo-events-failed-{run}")).await;
    let sink_arn = aws_json(
        endpoint,
        "sqs",
        "AmazonSQS.GetQueueAttributes",
        &json!({ "QueueUrl": sink, "AttributeNames": ["QueueArn"] }),
    )
    .await
    .expect("queue attributes")["Attributes"]["QueueArn"]
        .as_str()
        .expect("queue ARN")
        .to_string();
    let bus = format!("velo-events-{run}");
    let call = |target: &'static str, body: serde_json::Value| async move {
        aws_json(endpoint, "events", target, &body)
            .await
            .unwrap_or_else(|e| panic!("{target}: {e}"))
    };
    call("AWSEvents.CreateEventBus", json!({ "Name": bus })).await;
    let pattern = json!({ "source": [shared::domain::event::SOURCE] }).to_string();
    call(
        "AWSEvents.PutRule",
        json!({ "Name": "all-directory-events", "EventBusName": bus, "EventPattern": pattern }),
    )
    .await;
    call(
        "AWSEvents.PutTargets",
        json!({ "Rule": "all-directory-events", "EventBusName": bus,
                "Targets": [{ "Id": "queue", "Arn": sink_arn }] }),
    )
    .await;
    (bus, sink, dead)
}
