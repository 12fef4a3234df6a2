#!/usr/bin/env python3
"""What the deployed template must hold, read after the SAM transform (which adds resources and
names of its own), offline, with the real transform from the aws-sam-cli install:

1. Two stages in one account and region must not collide: every physical name names the stage.
2. Logs: every function writes JSON to a log group of its own with a retention, Lambda filters
   by the LogLevel parameter (ApplicationLogLevel), and the HTTP API writes a JSON access log
   (request id, route, status, latency, integration error) to a group with a retention. No log
   group the stack makes keeps logs forever.
3. Data: the stack policy (infra/stack-policy.json) refuses to replace or delete every
   resource holding data nobody can rebuild (tables, user pool), and each of them, and the
   verified sender identity, is also retained if it leaves the template once created
   (RetainExceptOnCreate: a first deploy's rollback deletes what it made, so it can be retried),
   with deletion protection following the ProtectData parameter. (The identity is not
   in the policy: `CreateSenderIdentity=false` after the first deploy removes it from the
   stack on purpose, and the retain policy keeps it verified in the account.)
4. Routes: the HTTP API has exactly the routes infra/openapi.yaml describes (which the infra
   tests hold to the code's table, shared/src/routes.rs), each a payload 2.0 Lambda proxy with
   no authorizer (each function checks the caller's token, so a refused token is the same 401
   problem on AWS as locally), each through its function's `live` alias with a CodeDeploy
   deployment rolled back by the function's Errors alarm and the API's 5xx alarm (a canary when
   DeploymentType says so), and a `$default` route to the fallback function, so that what no
   route takes is the API's own 404/405 problem and not API Gateway's `{"message":"Not Found"}`.
   Every public route (`security: []`) has a stage throttle below the default one.
5. Alarms: every function has an Errors and a Throttles alarm; the API stage a 5xx-rate and a
   p99-latency alarm; each table a throttle alarm; SES its bounce and complaint rates; every
   scheduled job an alarm on its log's `failed` field, one on missing runs (Invocations, missing
   data breaching), an on-failure destination and a schedule dead-letter queue; every queue an
   alarm on its depth. Every alarm notifies the ops topic, which AlarmEmail may subscribe to.
6. Mail: every function that sends (SENDER_EMAIL) names the stage's configuration set and may
   send through it; the set suppresses addresses that bounced or complained and publishes
   bounce, complaint, delivery and reject events to EventBridge, where a rule takes exactly
   SES's detail types for those (shared/src/domain/mail_event.rs) from this set to the
   mail-events function's alias, with a dead-letter queue and an on-failure destination. With
   SenderDomain set, the domain identity signs with 2048-bit Easy DKIM and has a MAIL FROM
   domain, and the outputs give its DNS records.

    python3 infra/check-transform.py        (with the venv that has aws-sam-cli)
    TEMPLATE=other.yaml python3 infra/check-transform.py   (another template, e.g. an old one)
"""
import json
import os
import re
import pathlib
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

HERE = pathlib.Path(__file__).resolve().parent
TEMPLATE = pathlib.Path(os.environ.get("TEMPLATE", HERE / "template.yaml"))
STACK_POLICY = HERE / "stack-policy.json"

# Resources whose loss or replacement loses data (users, audit history, every user's sign-in
# identity and `sub`); and ones that must outlive the stack's hold on them.
PROTECTED = {"AWS::DynamoDB::Table", "AWS::Cognito::UserPool"}
RETAINED = PROTECTED | {"AWS::SES::EmailIdentity"}

# Properties that are account-wide (or region-wide) physical names of their resource.
NAMES = {
    "AWS::DynamoDB::Table": ["TableName"],
    "AWS::Cognito::UserPool": ["UserPoolName"],
    "AWS::SNS::Topic": ["TopicName"],
    "AWS::Logs::LogGroup": ["LogGroupName"],
    "AWS::CloudWatch::Alarm": ["AlarmName"],
    "AWS::CloudWatch::Dashboard": ["DashboardName"],
    "AWS::Scheduler::Schedule": ["Name"],
    "AWS::CloudFront::Function": ["Name"],
    "AWS::CloudFront::OriginAccessControl": ["OriginAccessControlConfig.Name"],
    "AWS::CloudFront::ResponseHeadersPolicy": ["ResponseHeadersPolicyConfig.Name"],
    "AWS::CloudFront::CachePolicy": ["CachePolicyConfig.Name"],
    "AWS::Lambda::Function": ["FunctionName"],
    "AWS::IAM::Role": ["RoleName"],
    "AWS::S3::Bucket": ["BucketName"],
    "AWS::SQS::Queue": ["QueueName"],
    "AWS::SES::ConfigurationSet": ["Name"],
    "AWS::Events::Rule": ["Name"],
    "AWS::SES::EmailIdentity": [],  # the sender's address: one identity, shared on purpose
}


class NoManagedPolicies:
    def load(self):
        return {}


def get(props, path):
    for part in path.split("."):
        if not isinstance(props, dict) or part not in props:
            return None
        props = props[part]
    return props


def names_stage(value):
    text = json.dumps(value)
    return "${Stage}" in text or '{"Ref": "Stage"}' in text


def transformed():
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    template = yaml_parse(TEMPLATE.read_text())
    for res in template["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            # The transform wants an S3 location; sam deploy puts one there.
            res["Properties"]["CodeUri"] = "s3://stand-in/code.zip"
    return transform(template, {}, NoManagedPolicies())


def stage_names(out):
    bad, named = [], 0
    for rid, res in sorted(out["Resources"].items()):
        for path in NAMES.get(res["Type"], []):
            value = get(res.get("Properties", {}), path)
            if value is None:
                continue  # CloudFormation makes a unique name
            named += 1
            if not names_stage(value):
                bad.append(f"{rid} ({res['Type']}) {path} = {json.dumps(value)}")
    return bad, f"every one of {named} physical names names the stage"


def ref(value):
    """The logical id a {"Ref": id} or {"Fn::GetAtt": [id, ...]} points at."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            return att[0] if isinstance(att, list) else att.split(".")[0]
    return None


def logs(out):
    res = out["Resources"]
    bad = []
    for rid, r in sorted(res.items()):
        if r["Type"] == "AWS::Logs::LogGroup" and "RetentionInDays" not in r.get("Properties", {}):
            bad.append(f"{rid}: a log group without RetentionInDays keeps logs forever")
    groups = {}
    functions = 0
    for rid, r in sorted(res.items()):
        if r["Type"] != "AWS::Lambda::Function":
            continue
        functions += 1
        cfg = r["Properties"].get("LoggingConfig", {})
        group = ref(cfg.get("LogGroup"))
        if cfg.get("LogFormat") != "JSON":
            bad.append(f"{rid}: LogFormat is not JSON")
        level = json.dumps(cfg.get("ApplicationLogLevel"))
        if "LogLevel" not in level:
            bad.append(f"{rid}: ApplicationLogLevel does not follow the LogLevel parameter ({level})")
        if "SystemLogLevel" not in cfg:
            bad.append(f"{rid}: no SystemLogLevel")
        if group is None or res.get(group, {}).get("Type") != "AWS::Logs::LogGroup":
            bad.append(f"{rid}: logs to Lambda's default group (no retention), not one of the stack's")
        elif group in groups:
            bad.append(f"{rid}: shares log group {group} with {groups[group]}")
        else:
            groups[group] = rid
    stages = [(rid, r) for rid, r in res.items() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    if not stages:
        bad.append("no HTTP API stage")
    for rid, r in stages:
        settings = r["Properties"].get("AccessLogSettings", {})
        group = ref(settings.get("DestinationArn"))
        if group is None or res.get(group, {}).get("Type") != "AWS::Logs::LogGroup":
            bad.append(f"{rid}: no access log to a log group of the stack")
        fmt = settings.get("Format", "")
        try:
            fields = set(json.loads(fmt.replace("\n", " ")).values())
        except ValueError:
            bad.append(f"{rid}: the access log format is not one JSON object: {fmt!r}")
            continue
        for wanted in ["$context.requestId", "$context.routeKey", "$context.status",
                       "$context.responseLatency", "$context.integrationErrorMessage"]:
            if wanted not in fields:
                bad.append(f"{rid}: the access log lacks {wanted}")
    return bad, f"{functions} functions and {len(stages)} API stage log as required"


def stateful(out):
    res = out["Resources"]
    policy = json.loads(STACK_POLICY.read_text())
    protected = set()
    for st in policy["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if st["Effect"] == "Deny" and {"Update:Replace", "Update:Delete"} <= set(actions):
            for r in st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]:
                protected.add(r.removeprefix("LogicalResourceId/"))
    bad = []
    for rid in sorted(protected):
        if rid not in res:
            bad.append(f"the stack policy names {rid}, which the template does not have")
    keep = sorted(rid for rid, r in res.items() if r["Type"] in RETAINED)
    for rid in keep:
        r = res[rid]
        if r["Type"] in PROTECTED and rid not in protected:
            bad.append(f"{rid} ({r['Type']}): the stack policy lets an update replace or delete it")
        # Kept once created; a first deploy's rollback may delete what it made (README).
        if r.get("DeletionPolicy") != "RetainExceptOnCreate":
            bad.append(f"{rid}: DeletionPolicy is not RetainExceptOnCreate")
        if r.get("UpdateReplacePolicy") != "Retain":
            bad.append(f"{rid}: UpdateReplacePolicy is not Retain")
        if r["Type"] in PROTECTED:
            # Deletion protection follows ProtectData: off, a rollback of the first create can
            # delete; on (the default), nothing but an owner turning it off can.
            flag = r["Properties"].get("DeletionProtectionEnabled", r["Properties"].get("DeletionProtection"))
            if not (isinstance(flag, dict) and flag.get("Fn::If", [None])[0] == "Protected"):
                bad.append(f"{rid}: deletion protection does not follow ProtectData")
    return bad, (f"{len(protected)} stateful resources protected from replacement; "
                 f"{len(keep)} retained if they leave the template")


def described_routes():
    """(METHOD, /path) for every operation in infra/openapi.yaml's paths block."""
    routes, path = set(), None
    for line in (HERE / "openapi.yaml").read_text().splitlines():
        if line == "components:":
            break
        if line.startswith("  /"):
            path = line.strip().rstrip(":")
        elif path and line.rstrip() in ("    get:", "    post:", "    put:", "    delete:", "    patch:"):
            routes.add((line.strip().rstrip(":").upper(), path))
    return routes


def public_routes():
    """`METHOD /path` of every operation infra/openapi.yaml marks `security: []`."""
    public, path, op = set(), None, None
    for line in (HERE / "openapi.yaml").read_text().splitlines():
        if line == "components:":
            break
        if line.startswith("  /"):
            path, op = line.strip().rstrip(":"), None
        elif path and line.rstrip() in ("    get:", "    post:", "    put:", "    delete:", "    patch:"):
            op = f"{line.strip().rstrip(':').upper()} {path}"
        elif op and line.rstrip() == "      security: []":
            public.add(op)
    return public


def public_throttles(out):
    """The public routes are throttled below the default at the stage (a flood on them stops at
    the gateway, not in the account's Lambda concurrency)."""
    res = out["Resources"]
    bad = []
    public = public_routes()
    if not public:
        bad.append("openapi.yaml marks no route public")
    for rid, r in sorted(res.items()):
        if r["Type"] != "AWS::ApiGatewayV2::Stage":
            continue
        props = r["Properties"]
        default = props.get("DefaultRouteSettings", {})
        routes = props.get("RouteSettings", {})
        for key in sorted(public):
            limits = routes.get(key)
            if limits is None:
                bad.append(f"{rid}: public route {key} has no throttle of its own")
                continue
            for name in ("ThrottlingBurstLimit", "ThrottlingRateLimit"):
                if not limits.get(name, 10**9) < default.get(name, 0):
                    bad.append(f"{rid}: {key} {name} {limits.get(name)} is not below the default {default.get(name)}")
    return bad, f"{len(public)} public routes throttled below the default"


def api_routes(out):
    res = out["Resources"]
    apis = [r for r in res.values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    if len(apis) != 1:
        return [f"{len(apis)} HTTP APIs, expected one"], ""
    body = apis[0]["Properties"].get("Body", {})
    bad, routes, default = [], set(), None
    if body.get("components", {}).get("securitySchemes"):
        bad.append("the HTTP API declares an authorizer")
    permitted = {ref(r["Properties"].get("FunctionName")) for r in res.values()
                 if r["Type"] == "AWS::Lambda::Permission"
                 and r["Properties"].get("Principal") == "apigateway.amazonaws.com"}
    for path, ops in body.get("paths", {}).items():
        for method, op in ops.items():
            integration = op.get("x-amazon-apigateway-integration", {})
            uri = json.dumps(integration.get("uri"))
            # The function's `live` alias (AutoPublishAlias), never $LATEST: a canary moves it.
            alias = next((rid for rid, r in res.items() if r["Type"] == "AWS::Lambda::Alias"
                          and "${" + rid + "}" in uri), None)
            function = alias and ref(res[alias]["Properties"]["FunctionName"])
            where = f"{method.upper()} {path}"
            if alias is None:
                bad.append(f"{where}: does not invoke a function's alias")
            else:
                group = get(res[alias], "UpdatePolicy.CodeDeployLambdaAliasUpdate.DeploymentGroupName")
                alarms = get(res.get(ref(group) or "", {}), "Properties.AlarmConfiguration.Alarms") or []
                named = {ref(a.get("Name")) for a in alarms}
                if function.replace("Function", "ErrorsAlarm") not in named or "ApiServerErrorsAlarm" not in named:
                    bad.append(f"{where}: {function}'s deployment is not rolled back by its Errors and the API's server-errors alarms")
            if integration.get("type") != "aws_proxy" or integration.get("payloadFormatVersion") != "2.0":
                bad.append(f"{where}: not a payload 2.0 Lambda proxy")
            if function is None or alias not in permitted:
                bad.append(f"{where}: API Gateway may not invoke its function ({function})")
            if op.get("security"):
                bad.append(f"{where}: has an authorizer")
            if path == "$default":
                default = (method, function)
            else:
                routes.add((method.upper(), path))
    described = described_routes()
    for m, p in sorted(described - routes):
        bad.append(f"{m} {p}: described in openapi.yaml, not a route of the API")
    for m, p in sorted(routes - described):
        bad.append(f"{m} {p}: a route of the API that openapi.yaml does not describe")
    if default != ("x-amazon-apigateway-any-method", "FallbackFunction"):
        bad.append(f"$default is {default}, not any method to FallbackFunction")
    return bad, (f"{len(routes)} routes as described, no authorizer, each to a `live` alias whose "
                 "deployment rolls back on its alarms, and $default (any method) to the fallback function")


def metric_refs(alarm):
    """(namespace, metric, {dimension: logical id or value}) of each metric an alarm reads."""
    props = alarm["Properties"]
    found = []
    def dims(ds):
        return {d["Name"]: ref(d["Value"]) or json.dumps(d["Value"]) for d in ds or []}
    if "MetricName" in props:
        found.append((json.dumps(props.get("Namespace")), props["MetricName"], dims(props.get("Dimensions"))))
    for m in props.get("Metrics", []):
        metric = m.get("MetricStat", {}).get("Metric")
        if metric:
            found.append((json.dumps(metric.get("Namespace")), metric["MetricName"], dims(metric.get("Dimensions"))))
    return found


def alarms(out):
    res = out["Resources"]
    bad = []
    alarms = {rid: r for rid, r in res.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    reads = [(rid, m) for rid, a in alarms.items() for m in metric_refs(a)]

    def has(namespace, metric, **dims):
        return [rid for rid, (ns, name, d) in reads
                if ns == json.dumps(namespace) and name == metric
                and all(d.get(k) == v for k, v in dims.items())]

    for rid, a in sorted(alarms.items()):
        if {"Ref": "OpsAlarmTopic"} not in a["Properties"].get("AlarmActions", []):
            bad.append(f"{rid}: does not notify OpsAlarmTopic")
    functions = sorted(rid for rid, r in res.items() if r["Type"] == "AWS::Lambda::Function")
    for f in functions:
        for metric in ("Errors", "Throttles"):
            if not has("AWS/Lambda", metric, FunctionName=f):
                bad.append(f"{f}: no alarm on its {metric}")
    for metric in ("5xx", "Latency"):
        if not has("AWS/ApiGateway", metric, ApiId="Api"):
            bad.append(f"the API: no alarm on its {metric}")
    tables = sorted(rid for rid, r in res.items() if r["Type"] == "AWS::DynamoDB::Table")
    for t in tables:
        for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
            if not has("AWS/DynamoDB", metric, TableName=t):
                bad.append(f"{t}: no alarm on its {metric}")
    for metric in ("Reputation.BounceRate", "Reputation.ComplaintRate"):
        if not has("AWS/SES", metric):
            bad.append(f"SES: no alarm on its {metric}")
    queues = sorted(rid for rid, r in res.items() if r["Type"] == "AWS::SQS::Queue")
    for q in queues:
        if not has("AWS/SQS", "ApproximateNumberOfMessagesVisible", QueueName=q):
            bad.append(f"{q}: no alarm on its depth")
    def function_of(target):
        # A schedule invokes the function's `live` alias (AutoPublishAlias).
        r = res.get(target, {})
        return ref(r["Properties"]["FunctionName"]) if r.get("Type") == "AWS::Lambda::Alias" else target
    scheduled = sorted({function_of(ref(r["Properties"]["Target"]["Arn"])): rid for rid, r in res.items()
                        if r["Type"] == "AWS::Scheduler::Schedule"}.items())
    filters = {rid: r["Properties"] for rid, r in res.items() if r["Type"] == "AWS::Logs::MetricFilter"}
    for f, schedule in scheduled:
        group = ref(res[f]["Properties"].get("LoggingConfig", {}).get("LogGroup"))
        if not res[schedule]["Properties"]["Target"].get("DeadLetterConfig"):
            bad.append(f"{schedule}: no dead-letter queue for what it cannot deliver")
        invoke = [r for r in res.values() if r["Type"] == "AWS::Lambda::EventInvokeConfig"
                  and ref(r["Properties"]["FunctionName"]) == f]
        if not invoke or not get(invoke[0]["Properties"], "DestinationConfig.OnFailure.Destination"):
            bad.append(f"{f}: no on-failure destination for a run that fails")
        heartbeat = [rid for rid in has("AWS/Lambda", "Invocations", FunctionName=f)
                     if alarms[rid]["Properties"].get("TreatMissingData") == "breaching"
                     and alarms[rid]["Properties"].get("ComparisonOperator") == "LessThanThreshold"]
        if not heartbeat:
            bad.append(f"{f}: no alarm when it stops running (Invocations, missing data breaching)")
        failed = [m["MetricName"] for p in filters.values() if ref(p["LogGroupName"]) == group
                  and "$.fields.failed" in p["FilterPattern"] for m in p["MetricTransformations"]]
        if not any(name == metric for _, (_, name, _) in reads for metric in failed):
            bad.append(f"{f}: no alarm on the `failed` count of its runs")
    subs = [r for r in res.values() if r["Type"] == "AWS::SNS::Subscription"
            and ref(r["Properties"].get("TopicArn")) == "OpsAlarmTopic"
            and r["Properties"].get("Protocol") == "email"]
    if not subs:
        bad.append("OpsAlarmTopic: no email subscription for AlarmEmail")
    return bad, (f"{len(alarms)} alarms: {len(functions)} functions' errors and throttles, the API, "
                 f"{len(tables)} tables, SES, {len(scheduled)} scheduled jobs' failures and "
                 f"heartbeats, {len(queues)} queue(s); all to the ops topic")


def detail_types():
    """DETAIL_TYPES as the handler's code lists them."""
    code = (HERE.parent / "shared/src/domain/mail_event.rs").read_text()
    block = re.search(r"pub const DETAIL_TYPES: \[&str; \d+\] = \[(.*?)\];", code, re.S)
    return sorted(re.findall(r'"([^"]+)"', block.group(1)))


def mail(out):
    res = out["Resources"]
    bad = []
    sets = [rid for rid, r in res.items() if r["Type"] == "AWS::SES::ConfigurationSet"]
    if len(sets) != 1:
        return [f"{len(sets)} configuration sets, expected one"], ""
    cs = sets[0]
    reasons = set(get(res[cs]["Properties"], "SuppressionOptions.SuppressedReasons") or [])
    if reasons != {"BOUNCE", "COMPLAINT"}:
        bad.append(f"{cs}: suppresses {sorted(reasons)}, not BOUNCE and COMPLAINT")
    dests = [r["Properties"] for r in res.values() if r["Type"] == "AWS::SES::ConfigurationSetEventDestination"
             and ref(r["Properties"]["ConfigurationSetName"]) == cs]
    wanted_events = {"bounce", "complaint", "delivery", "reject"}
    if not any(d["EventDestination"].get("Enabled") and "EventBridgeDestination" in d["EventDestination"]
               and wanted_events <= set(d["EventDestination"].get("MatchingEventTypes", [])) for d in dests):
        bad.append(f"{cs}: no enabled EventBridge destination for {sorted(wanted_events)}")
    senders = 0
    for rid, r in sorted(res.items()):
        if r["Type"] != "AWS::Lambda::Function":
            continue
        env = get(r["Properties"], "Environment.Variables") or {}
        if "SENDER_EMAIL" not in env:
            continue
        senders += 1
        if ref(env.get("SES_CONFIGURATION_SET")) != cs:
            bad.append(f"{rid}: sends without SES_CONFIGURATION_SET naming {cs}")
        if env.get("SENDER_DOMAIN") != {"Ref": "SenderDomain"}:
            bad.append(f"{rid}: SENDER_DOMAIN does not follow the SenderDomain parameter")
        role = ref(r["Properties"].get("Role"))
        policies = json.dumps(get(res.get(role, {}), "Properties.Policies"))
        if f"configuration-set/${{{cs}}}" not in policies:
            bad.append(f"{rid}: may not send through the configuration set")
    if senders == 0:
        bad.append("no function sends email")
    rules = [(rid, r["Properties"]) for rid, r in res.items() if r["Type"] == "AWS::Events::Rule"
             and get(r["Properties"], "EventPattern.source") == ["aws.ses"]]
    if len(rules) != 1:
        return bad + [f"{len(rules)} rules for SES's events, expected one"], ""
    rid, rule = rules[0]
    pattern = rule["EventPattern"]
    if sorted(pattern.get("detail-type", [])) != detail_types():
        bad.append(f"{rid}: detail types {pattern.get('detail-type')} are not the handler's {detail_types()}")
    tagged = get(pattern, "detail.mail.tags") or {}
    if [ref(v) for v in tagged.get("ses:configuration-set", [])] != [cs]:
        bad.append(f"{rid}: does not take only {cs}'s events")
    targets = rule.get("Targets", [])
    if len(targets) != 1 or not targets[0].get("DeadLetterConfig") or not targets[0].get("RetryPolicy"):
        bad.append(f"{rid}: needs one target with a retry policy and a dead-letter queue")
    alias = ref(targets[0]["Arn"]) if targets else None
    function = ref(get(res.get(alias, {}), "Properties.FunctionName"))
    if function is None or res.get(function, {}).get("Type") != "AWS::Lambda::Function":
        bad.append(f"{rid}: does not invoke a function's alias")
    else:
        invoke = [r for r in res.values() if r["Type"] == "AWS::Lambda::EventInvokeConfig"
                  and ref(r["Properties"]["FunctionName"]) == function]
        if not invoke or not get(invoke[0]["Properties"], "DestinationConfig.OnFailure.Destination"):
            bad.append(f"{function}: no on-failure destination for an event it could not record")
    domain = [r["Properties"] for r in res.values() if r["Type"] == "AWS::SES::EmailIdentity"
              and r["Properties"].get("EmailIdentity") == {"Ref": "SenderDomain"}]
    if len(domain) != 1:
        bad.append("no domain identity for SenderDomain")
    else:
        d = domain[0]
        if get(d, "DkimSigningAttributes.NextSigningKeyLength") != "RSA_2048_BIT":
            bad.append("the domain identity does not sign with 2048-bit Easy DKIM")
        if "MailFromDomain" not in (d.get("MailFromAttributes") or {}):
            bad.append("the domain identity has no MAIL FROM domain")
    outputs = json.dumps(out.get("Outputs", {}))
    for attr in ("DkimDNSTokenName1", "DkimDNSTokenValue3", "feedback-smtp", "v=spf1", "v=DMARC1"):
        if attr not in outputs:
            bad.append(f"the outputs do not give the DNS record with {attr}")
    return bad, (f"{senders} senders through {cs}, which suppresses bounces and complaints; "
                 f"its events to {function} by {rid}; a DKIM/MAIL FROM domain identity and its DNS records")


def depends_on(resource, ids):
    """The logical ids a resource's definition names anywhere (Properties, UpdatePolicy,
    Condition-free parts alike): Ref, Fn::GetAtt, ${Id} or ${Id.Attr} in Fn::Sub, DependsOn.
    CloudFormation orders (and refuses cycles) on all of them."""
    found = set()
    def walk(v):
        if isinstance(v, dict):
            for k, x in v.items():
                if k == "Ref" and isinstance(x, str) and x in ids:
                    found.add(x)
                elif k == "Fn::GetAtt":
                    target = x[0] if isinstance(x, list) else str(x).split(".")[0]
                    if target in ids:
                        found.add(target)
                elif k == "Fn::Sub":
                    text = x[0] if isinstance(x, list) else x
                    for name in re.findall(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}", text):
                        if name in ids:
                            found.add(name)
                    if isinstance(x, list):
                        walk(x[1])
                else:
                    walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk({k: v for k, v in resource.items() if k != "DependsOn"})
    deps = resource.get("DependsOn", [])
    found |= set([deps] if isinstance(deps, str) else deps) & ids
    return found


def no_cycles(out):
    """CloudFormation refuses a template whose resources depend on each other in a circle; the
    SAM transform can make one from parts that each look fine (an alarm on the API that an
    alias's deployment names, while the API invokes the alias)."""
    res = out["Resources"]
    ids = set(res)
    graph = {rid: depends_on(r, ids) for rid, r in res.items()}
    state, stack, bad = {}, [], []
    def visit(n):
        state[n] = "open"
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == "open":
                cycle = stack[stack.index(m):] + [m]
                bad.append("circular dependency: " + " -> ".join(cycle))
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = "done"
    for n in sorted(graph):
        if n not in state:
            visit(n)
    edges = sum(len(v) for v in graph.values())
    return bad[:5], f"{len(ids)} resources, {edges} dependencies, no cycle"


def main():
    out = transformed()
    failed = False
    for check in (stage_names, logs, stateful, api_routes, public_throttles, alarms, mail, no_cycles):
        bad, ok = check(out)
        if bad:
            failed = True
            print(f"{check.__name__}:\n  " + "\n  ".join(bad))
        else:
            print(ok)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
