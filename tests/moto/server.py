"""Moto in server mode on loopback, single-threaded.

The stock `moto_server` is multi-threaded and does not make a DynamoDB transaction atomic
against concurrent requests, so a race test against it proves nothing. Serving one request at
a time gives the isolation DynamoDB's transactions promise.

usage: server.py PORT [PARENT_PID]
With PARENT_PID the server exits when that process is gone, so a test run that is killed
does not leave an emulator behind. MOTO_HOST sets the address it listens on (default
127.0.0.1; infra/sam-local.sh uses the Docker bridge's, so Lambda containers reach it).

Two additions: RevokeToken (see `revoke_token`), which moto lacks and the console uses; and
the whole of a simple SES v2 email kept (see `whole_simple_email`): moto records only the HTML
part, while the tests read the text part and the Reply-To too.

Two speed fixes, same behaviour. The sent mail without the rest of moto: /moto-api/data.json
serialises every model instance moto ever made (each DynamoDB item version, each Cognito
user), and the local run's mailbox reads it every second; as a run's data grew, that read came
to take most of the emulator's time (a py-spy profile of the contract fuzz's stateful phase:
95% in `MotoAPIResponse.model_data`). With `?model=Message` it answers only that model, and
with `&after=N` only the instances after the first N (see `lighter_model_data`).

And moto's TransactWriteItems backs up a table (deep copy, for
rollback) once per *item* of the transaction, before it applies any of them. Every backup of a
table within one call is therefore identical; taking it once per table per call gives the same
rollback at a fraction of the cost, which matters when a benchmark holds 20,000 items.
"""
import copy
import os
import sys
import threading
import time

# Moto checks authenticator codes only when asked to (its one secret for every user is
# COGNITO_TOTP_MFA_SECRET): the tests compute real codes, so a wrong one must be refused.
os.environ.setdefault("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.table import Table
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, run_simple


class _OneBackupPerTable:
    """Stands in for the `copy` module inside moto.dynamodb.models.

    The backup shares the table's stream shard instead of copying it, and the shard's length is
    noted: a cancelled transaction then cuts the shard back (see `one_backup_per_table`)."""

    def __init__(self):
        self.backups = None
        self.shards = []

    def deepcopy(self, obj, *args, **kwargs):
        if self.backups is not None and isinstance(obj, Table):
            if id(obj) not in self.backups:
                memo = {}
                shard = obj.stream_shard
                if shard is not None:
                    memo[id(shard)] = shard
                    self.shards.append((shard, len(shard.items)))
                self.backups[id(obj)] = copy.deepcopy(obj, memo)
            return self.backups[id(obj)]
        return copy.deepcopy(obj, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(copy, name)


def one_backup_per_table():
    """And a cancelled transaction's stream records undone. moto applies a transaction's items
    one by one, each Put adding its stream record, then on a failed condition swaps the table
    for its backup. With a copied shard, a stream iterator issued before (a poller's) would go
    on reading the old shard, rolled-back records included, and miss every later one; the new
    shard would reuse their sequence numbers. DynamoDB's stream never shows a cancelled
    transaction's writes."""
    shim = _OneBackupPerTable()
    dynamodb_models.copy = shim
    original = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, *args, **kwargs):
        shim.backups = {}
        shim.shards = []
        try:
            return original(self, *args, **kwargs)
        except Exception:
            for shard, length in shim.shards:
                del shard.items[length:]
            for backup in shim.backups.values():
                if backup.stream_shard is not None:
                    backup.stream_shard.table = backup
            raise
        finally:
            shim.backups = None
            shim.shards = []

    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items


def revoke_token():
    """Cognito's RevokeToken, which moto 5.2 lacks: the console's sign-out revokes the refresh
    token. As Cognito does, the token stops working for refresh; revoking a token another app
    client was issued is refused; an unknown token is not an error."""
    from moto.cognitoidp.exceptions import NotAuthorizedError
    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.core.responses import EmptyResult

    def revoke(self):
        token = self._get_param("Token")
        client_id = self._get_param("ClientId")
        for pool in self.backend.user_pools.values():
            if client_id not in pool.clients:
                continue
            issued = pool.refresh_tokens.get(token)
            if issued is not None and issued[0] != client_id:
                raise NotAuthorizedError("Invalid token for this client")
            if token in pool.refresh_tokens:
                pool.refresh_tokens[token] = None
            return EmptyResult()
        raise NotAuthorizedError("Invalid client")

    CognitoIdpResponse.revoke_token = revoke


def lighter_model_data():
    """/moto-api/data.json?model=NAME[&service=S][&after=N]: only NAME's instances (of service
    S's model of that name; every service's without `service`), from the (N+1)th on, and
    `_count`, how many there are in all. Instances are only ever appended, so a poller that
    passes the last `_count` as `after` reads each once. Name one service: SQS's `Message`
    (the events' queues) shares SES's name, and its count would move the mailbox's place.
    Without `model`, moto's own answer."""
    import json
    from urllib.parse import parse_qs, urlparse

    from moto.moto_api._internal.responses import MotoAPIResponse

    original = MotoAPIResponse.model_data

    def model_data(self, request, full_url, headers):
        query = parse_qs(urlparse(full_url).query)
        if "model" not in query:
            return original(self, request, full_url, headers)
        from moto.core.model_instances import model_data as tracked

        wanted = query["model"][0]
        after = int(query.get("after", ["0"])[0])
        only = query.get("service", [None])[0]
        results = {"_count": 0}
        for service in sorted(tracked):
            if only is not None and service != only:
                continue
            model = tracked[service].get(wanted)
            if model is None:
                continue
            instances = model.instances_tracked
            results["_count"] = max(results["_count"], len(instances))
            rows = []
            for instance in instances[after:]:
                row = {}
                for attr in dir(instance):
                    if attr.startswith("_"):
                        continue
                    try:
                        value = getattr(instance, attr)
                        json.dumps(value)
                    except (TypeError, AttributeError, ValueError):
                        continue
                    row[attr] = value
                rows.append(row)
            results[service] = {wanted: rows}
        return 200, {"Content-Type": "application/json"}, json.dumps(results)

    MotoAPIResponse.model_data = model_data


def whole_simple_email():
    """moto's SES v2 SendEmail keeps a simple message's HTML part (or its text part if there is
    no HTML) as `body` and drops the rest. Keep the text part, the Reply-To addresses, the
    configuration set and the message tags on the recorded message too, where
    /moto-api/data.json shows them as `text`, `reply_to`, `configuration_set` and `tags` (the
    harness's mailbox simulator publishes SES's events from them, tests/src/mailbox.rs).

    And as SES does, refuse a send that names a configuration set that does not exist (moto
    ignores the name): a function pointed at the wrong set must fail here as it would on AWS.
    SES v2 answers NotFoundException (404)."""
    import json

    from moto.ses.exceptions import NotFoundException
    from moto.sesv2.responses import SESV2Response

    original = SESV2Response.send_email

    def send_email(self):
        params = json.loads(self.body)
        config_set = params.get("ConfigurationSetName")
        if config_set and config_set not in self.sesv2_backend.core_backend.config_sets:
            raise NotFoundException(f"Configuration set <{config_set}> does not exist.")
        answer = original(self)
        simple = (params.get("Content") or {}).get("Simple")
        if simple is not None:
            message_id = json.loads(answer)["MessageId"]
            for m in reversed(self.sesv2_backend.core_backend.sent_messages):
                if m.id == message_id:
                    m.text = (simple.get("Body", {}).get("Text") or {}).get("Data")
                    m.reply_to = params.get("ReplyToAddresses", [])
                    m.configuration_set = config_set
                    m.tags = {t["Name"]: t["Value"] for t in params.get("EmailTags", [])}
                    break
        return answer

    SESV2Response.send_email = send_email


def one_record_per_update():
    """moto's UpdateItem of an item that does not exist yet first puts the bare key (a stream
    record whose new image is only the key) and then records the update: two INSERT records
    where DynamoDB writes one, with the whole new image. Drop the bare key's."""
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.update_item

    def update_item(self, table_name, key, *args, **kwargs):
        table = self.get_table(table_name)
        shard = table.stream_shard
        try:
            exists = table.get_item(*self.get_keys_value(table, key)) is not None
        except Exception:
            exists = True  # let moto refuse the key its own way
        if shard is None or exists:
            return original(self, table_name, key, *args, **kwargs)
        add = shard.add
        seen = []

        def all_but_the_first(old, new):
            if not seen:
                seen.append(True)
                return None
            return add(old, new)

        shard.add = all_but_the_first
        try:
            return original(self, table_name, key, *args, **kwargs)
        finally:
            del shard.add

    DynamoDBBackend.update_item = update_item


def whole_event_envelope():
    """moto builds the event a rule hands its target from a text template: the envelope has no
    `account`, and any `<id>`, `<source>`, `<time>`... inside the detail (a person's name can
    hold one) is replaced as if it were the template's. Without an input transformer,
    EventBridge hands the target the event itself: so does this (less moto's own
    `ingestion-time`)."""
    import copy

    from moto.events.utils import EventTemplateParser

    original = EventTemplateParser.parse

    def parse(input_template, input_paths_map, event):
        if not input_template and not input_paths_map:
            return copy.deepcopy({k: v for k, v in event.items() if k != "ingestion-time"})
        return original(input_template, input_paths_map, event)

    # moto.events.models uses the same class object, so the rule's targets see this.
    EventTemplateParser.parse = staticmethod(parse)


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def watch_parent(pid):
    while True:
        try:
            os.kill(pid, 0)
        except OSError:
            os._exit(0)
        time.sleep(0.5)


def main():
    port = int(sys.argv[1])
    if len(sys.argv) > 2:
        threading.Thread(target=watch_parent, args=(int(sys.argv[2]),), daemon=True).start()
    one_backup_per_table()
    revoke_token()
    whole_simple_email()
    lighter_model_data()
    whole_event_envelope()
    one_record_per_update()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        os.environ.get("MOTO_HOST", "127.0.0.1"),
        port,
        app,
        threaded=False,
        use_reloader=False,
        request_handler=QuietHandler,
    )


if __name__ == "__main__":
    main()
