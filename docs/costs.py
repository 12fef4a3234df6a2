#!/usr/bin/env python3
"""The monthly AWS cost of one company on this stack (docs/costs.md): `python3 docs/costs.py`.

Inputs, each stated where it is set: public prices (eu-west-1), AWS calls per operation as
measured (docs/benchmarks.md section 4, with the Idempotency-Key the console always sends), and
an activity model per user. Prints the per-company table, the stack's fixed monthly cost and
the largest lines. No network: the prices are copies, dated in PRICES.
"""

import math
import pathlib

# ---- prices, eu-west-1, USD. Price List API copies captured 2026-10-02/04 unless noted.
PRICES = {
    "lambda_gb_s": 0.0000133334,  # arm64, per GB-second (first tier)
    "lambda_req": 0.20 / 1e6,
    "http_api_req": 1.11 / 1e6,  # HTTP API, first 300 M a month
    "ddb_wru": 0.705 / 1e6,  # on-demand write request unit
    "ddb_rru": 0.1415 / 1e6,  # on-demand read request unit
    "ddb_gb_month": 0.283,  # standard table class storage (first 25 GB free per account)
    "ses_email": 0.10 / 1000,  # pay-as-you-go outbound email (no free tier for new accounts)
    "cognito_lite_mau": 0.0055,  # Lite plan (the template's UserPoolTier), past 10,000 MAU free
    "logs_ingest_gb": 0.57,
    "logs_store_gb_month": 0.03,
    "alarm_metric_month": 0.10,  # standard-resolution alarm, per metric
    "dashboard_month": 3.00,  # past 3 free per account
    "custom_metric_month": 0.30,  # first 10,000 metrics tier
    "xray_trace": 5.00 / 1e6,  # aws.amazon.com/xray/pricing, read 2026-12-06; 100,000 a month free
    "cloudfront_gb": 0.085,  # Europe, first 10 TB
    "cloudfront_https_req": 0.012 / 10000,
    "cloudfront_fn_inv": 0.10 / 1e6,
    "s3_gb_month": 0.023,
    "eventbridge_aws_events": 0.0,  # SES's events on the default bus: AWS service events are free
}

# ---- what one request costs on AWS, per operation. Calls from docs/benchmarks.md section 4
# (2026-12-06 run), plus what an Idempotency-Key adds to a write (a PutItem claim, one item in
# the transaction, an UpdateItem recording the answer; section 4's note). Units: DynamoDB
# request units for ~1 KB items (a consistent read of ≤4 KB = 1 RRU; a transactional write of
# ≤1 KB = 2 WRU per item; a plain write 1 WRU). Cognito's admin API calls are not billed (the
# pool is billed per monthly active user). Lambda time on AWS: DynamoDB ~6 ms, Cognito and SES
# ~40 ms a call, plus the code's measured few ms; an estimate, as no AWS run measured them.
DDB_MS, SLOW_MS = 6, 40


def op(rru, wru, ddb_calls, slow_calls=0, emails=0, code_ms=3, memory_gb=0.125):
    return {
        "rru": rru,
        "wru": wru,
        "ms": code_ms + ddb_calls * DDB_MS + slow_calls * SLOW_MS,
        "emails": emails,
        "gb": memory_gb,
    }


def list_page(rows):
    # Caller read + one query of `rows` items of ~0.5 KB, read consistently.
    return op(rru=1 + math.ceil(rows * 0.5 / 4), wru=0, ddb_calls=2, code_ms=4)


OPS = {
    "GET /me or one user or the company": op(1, 0, 1, code_ms=1.5),
    "activity write (first request in 5 min)": op(0, 1, 1, code_ms=0),
    "audit page (25 entries)": op(2 + math.ceil(25 * 0.6 / 4), 0, 3),
    # invite 1: caller + tenant reads, a 4-item transaction + key, delivery write, key claim and
    # answer; 256 MB (the template) for the argon2id hash.
    "invite (1 person)": op(3, 2 * 5 + 1 + 2, 6, slow_calls=1, emails=1, code_ms=10, memory_gb=0.25),
    "resend": op(4, 2 * 4 + 1 + 2, 6, slow_calls=1, emails=1, code_ms=10, memory_gb=0.25),
    # accept: claim (2 items), commit (~6 items), unlock; Cognito create, set password, get.
    "accept": op(3, 2 * 2 + 2 * 6 + 1 + 2, 7, slow_calls=3, code_ms=40),
    "role change / revoke": op(3, 2 * 3 + 2, 4),
    "suspend / reactivate": op(4, 2 * 4 + 1 + 1 + 2, 7, slow_calls=3),
    "delete": op(5, 2 * 5 + 1 + 1 + 2, 8, slow_calls=4),
    "password reset asked (email sent)": op(3, 2 * 2 + 2, 4, slow_calls=1, emails=1, code_ms=10),
    "password reset confirmed": op(4, 2 * 4 + 1 + 1 + 2, 7, slow_calls=3, code_ms=40),
    # SES's delivery (or bounce) event for each email: one conditional UpdateItem.
    "mail event": op(0, 1, 1, code_ms=1),
}

# ---- activity, per month. A workday is one sign-in per person (Cognito's MAU counts them).
WORKDAYS = 22
PER_USER_DAY = {
    "GET /me or one user or the company": 6,  # each page load reads /me; a user page or two
    "activity write (first request in 5 min)": 10,  # requests spread over the day
    "list": 4,  # the Users screen (agents see one row: themselves)
}
ADMIN_SHARE = 0.1  # one admin per ten people, at least one
PER_ADMIN_DAY = {"audit page (25 entries)": 3, "list": 6}


def per_company_month(users):
    admins = max(1, round(users * ADMIN_SHARE))
    n = {}

    def add(name, count):
        n[name] = n.get(name, 0) + count

    for name, per_day in PER_USER_DAY.items():
        add(name, per_day * users * WORKDAYS)
    for name, per_day in PER_ADMIN_DAY.items():
        add(name, per_day * admins * WORKDAYS)
    invites = max(2, round(users * 0.10))  # growth and turnover: a tenth of the team a month
    add("invite (1 person)", invites)
    add("accept", invites)
    add("resend", max(1, round(invites * 0.1)))
    add("role change / revoke", max(1, round(users * 0.05)))
    add("suspend / reactivate", max(1, round(users * 0.04)))
    add("delete", max(1, round(users * 0.02)))
    add("password reset asked (email sent)", max(1, round(users * 0.07)))
    add("password reset confirmed", max(1, round(users * 0.05)))
    emails = sum(OPS[k]["emails"] * c for k, c in n.items() if k in OPS)
    add("mail event", emails)

    rows = min(users, 50)
    lines = {"Lambda": 0.0, "API Gateway": 0.0, "DynamoDB requests": 0.0, "SES": 0.0,
             "CloudWatch Logs": 0.0, "X-Ray": 0.0, "Cognito (Lite)": 0.0, "DynamoDB storage": 0.0,
             "Console (CloudFront, S3)": 0.0}
    requests = 0
    for name, count in n.items():
        o = list_page(rows) if name == "list" else OPS[name]
        # Activity writes ride on a request already counted; mail events are not API requests.
        api = name not in ("activity write (first request in 5 min)", "mail event")
        invocations = count if name != "activity write (first request in 5 min)" else 0
        lines["Lambda"] += invocations * PRICES["lambda_req"] + count * o["ms"] / 1000 * o["gb"] * PRICES["lambda_gb_s"]
        if api:
            requests += count
            lines["API Gateway"] += count * PRICES["http_api_req"]
        lines["DynamoDB requests"] += count * (o["rru"] * PRICES["ddb_rru"] + o["wru"] * PRICES["ddb_wru"])
        lines["SES"] += count * o["emails"] * PRICES["ses_email"]
        # ~1.2 KB per invocation (platform start and report lines, the function's own line),
        # ~0.4 KB per access-log line; kept 30 days (LogRetentionDays).
        kb = (1.2 if invocations else 0) + (0.4 if api else 0)
        gb = count * kb / 1024 / 1024
        lines["CloudWatch Logs"] += gb * (PRICES["logs_ingest_gb"] + PRICES["logs_store_gb_month"])
        # Default sampling (1 a second and 5% of the rest) records almost every request at
        # these rates: one trace each.
        if invocations:
            lines["X-Ray"] += count * PRICES["xray_trace"]
    lines["Cognito (Lite)"] = users * PRICES["cognito_lite_mau"]
    # Users (~1 KB with its index entries), ~12 audit entries per person a year (0.6 KB).
    gb = (users * 1.0 + users * 12 * 0.6) / 1024 / 1024
    lines["DynamoDB storage"] = gb * PRICES["ddb_gb_month"]
    # The console: ~160 KB on a first load (docs/benchmarks.md section 7), cached after; one
    # cold load per person a week, 8 requests each, one edge function run per HTML request.
    loads = users * 4.3
    lines["Console (CloudFront, S3)"] = (loads * 160 / 1024 / 1024 * PRICES["cloudfront_gb"]
                                         + loads * 8 * PRICES["cloudfront_https_req"]
                                         + loads * PRICES["cloudfront_fn_inv"])
    return lines, requests, emails


def stack_fixed_month():
    # The template's alarms and metric filters (each filter one custom metric), one
    # dashboard, the two schedules' runs, idle queues.
    template = (pathlib.Path(__file__).resolve().parent.parent / "infra/template.yaml").read_text()
    alarms = template.count("Type: AWS::CloudWatch::Alarm")
    metrics = template.count("Type: AWS::Logs::MetricFilter")
    runs = 720 + 8640  # expiry hourly, reconciler every 5 minutes
    lambda_jobs = runs * PRICES["lambda_req"] + runs * 0.05 * 0.125 * PRICES["lambda_gb_s"]
    ddb_jobs = runs * 1 * PRICES["ddb_rru"]
    return {
        f"CloudWatch alarms ({alarms})": alarms * PRICES["alarm_metric_month"],
        "CloudWatch dashboard": PRICES["dashboard_month"],
        f"CloudWatch custom metrics ({metrics})": metrics * PRICES["custom_metric_month"],
        "scheduled jobs (Lambda, DynamoDB)": lambda_jobs + ddb_jobs,
        # The queues: no request unless a run fails (nothing polls them; alarms read
        # CloudWatch's metrics). The console's files: about 1 MB.
        "S3 console files (queues idle)": 0.001 * PRICES["s3_gb_month"],
    }


def main():
    sizes = [10, 100, 1000]
    results = {u: per_company_month(u) for u in sizes}
    names = list(results[sizes[0]][0].keys())
    print("| per company, a month | " + " | ".join(f"{u:,} users" for u in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    for name in names:
        print(f"| {name} | " + " | ".join(f"${results[u][0][name]:.4f}" for u in sizes) + " |")
    print("| **total** | " + " | ".join(f"**${sum(results[u][0].values()):.2f}**" for u in sizes) + " |")
    print("| per user | " + " | ".join(f"${sum(results[u][0].values()) / u:.4f}" for u in sizes) + " |")
    print("| API requests / emails | " + " | ".join(f"{results[u][1]:,} / {results[u][2]:,}" for u in sizes) + " |")
    print()
    for u in sizes:
        lines = results[u][0]
        top = sorted(lines.items(), key=lambda kv: -kv[1])[:2]
        print(f"largest lines at {u:,} users: {top[0][0]} (${top[0][1]:.2f}), then {top[1][0]} (${top[1][1]:.2f})")
    print()
    fixed = stack_fixed_month()
    print("| the stack, a month (shared by every company) | |")
    print("|---|---:|")
    for name, cost in fixed.items():
        print(f"| {name} | ${cost:.2f} |")
    print(f"| **total** | **${sum(fixed.values()):.2f}** |")


if __name__ == "__main__":
    main()
