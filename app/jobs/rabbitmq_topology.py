"""Applies osp's RabbitMQ topology through the management HTTP API (RabbitMqTopology).

Reads TOPOLOGY_FILE (exchanges, queues, bindings, users and their permissions) and, from
CREDENTIALS_DIR, admin.json and stored/<service>.json, then makes the broker match: every
call is a PUT or an idempotent POST, so a second run changes nothing. A service whose stored
credentials are missing gets a new password; whatever must be (re)stored is written to
CREDENTIALS_DIR/new/<service>.json for the next container. Nothing is ever deleted.
"""

import base64
import json
import os
import secrets
import ssl
import string
import sys
import urllib.error
import urllib.parse
import urllib.request

ALPHABET = string.ascii_letters + string.digits
PASSWORD_LENGTH = 32  # letters and digits: ~190 bits, nothing to escape in a URL
TIMEOUT_SECONDS = 30


class Refused(Exception):
    """The broker, or the input, said no: the message says what and why."""


def new_password():
    return "".join(secrets.choice(ALPHABET) for _ in range(PASSWORD_LENGTH))


def read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None


def quoted(name):
    return urllib.parse.quote(name, safe="")


class Broker:
    def __init__(self, url, username, password):
        if urllib.parse.urlsplit(url).scheme != "https":
            raise Refused(f"MANAGEMENT_URL: got {url!r}; expected an https:// URL")
        self.url = url.rstrip("/")
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        # The system CA bundle, certificate and host name verified (Amazon MQ presents a
        # public certificate for *.mq.<region>.amazonaws.com).
        self.tls = ssl.create_default_context()

    def send(self, method, path, body, what):
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers=self.headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS, context=self.tls):
                pass
        except urllib.error.HTTPError as error:
            raise Refused(f"{what}: HTTP {error.code}: {reason(error)}") from None
        except urllib.error.URLError as error:
            raise Refused(f"{what}: cannot reach {self.url}: {error.reason}") from None
        print(f"{what}: ok", flush=True)


def reason(error):
    try:
        detail = json.loads(error.read().decode("utf-8", "replace"))
        text = str(detail.get("reason") or detail.get("error") or detail)
    except Exception:
        text = str(error.reason)
    if "inequivalent" in text:
        text += (
            " (RabbitMQ cannot change an existing queue's or exchange's arguments and osp "
            "never deletes one: delete it by hand, losing its messages, or keep its settings)"
        )
    return text[:1000]


def apply(broker, topology, stored, endpoint):
    """Make the broker match `topology`; returns {user: document} to (re)store."""
    vhost = quoted(topology["vhost"])
    for exchange in topology["exchanges"]:
        name = exchange["name"]
        broker.send(
            "PUT",
            f"/api/exchanges/{vhost}/{quoted(name)}",
            {"type": exchange["type"], "durable": True, "auto_delete": False,
             "internal": False, "arguments": {}},
            f"exchange {name}",
        )
    for queue in topology["queues"]:
        name = queue["name"]
        broker.send(
            "PUT",
            f"/api/queues/{vhost}/{quoted(name)}",
            {"durable": True, "auto_delete": False, "arguments": queue["arguments"]},
            f"queue {name}",
        )
    for binding in topology["bindings"]:
        source, destination = binding["source"], binding["destination"]
        # Binding again what is already bound changes nothing.
        broker.send(
            "POST",
            f"/api/bindings/{vhost}/e/{quoted(source)}/q/{quoted(destination)}",
            {"routing_key": binding["routing_key"], "arguments": {}},
            f"binding {source} -> {destination}",
        )
    to_store = {}
    for user in topology["users"]:
        name = user["name"]
        previous = stored.get(name)
        kept = previous.get("password") if isinstance(previous, dict) else None
        password = kept if isinstance(kept, str) and kept else new_password()
        # PUT sets the password: a user that exists gets the stored one back (a no-op when
        # nobody changed it), one that does not is created with it.
        broker.send("PUT", f"/api/users/{quoted(name)}",
                    {"password": password, "tags": ""}, f"user {name}")
        broker.send(
            "PUT",
            f"/api/permissions/{vhost}/{quoted(name)}",
            {"configure": user["configure"], "write": user["write"], "read": user["read"]},
            f"permissions of {name}",
        )
        document = {"username": name, "password": password, "endpoint": endpoint}
        if document != previous:
            to_store[name] = document
    return to_store


def write_private(path, document):
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle, sort_keys=True)


def main(environ):
    credentials = environ["CREDENTIALS_DIR"]
    topology = read_json(environ["TOPOLOGY_FILE"])
    admin = read_json(os.path.join(credentials, "admin.json"))
    if not isinstance(admin, dict) or not admin.get("username") or not admin.get("password"):
        raise Refused("admin.json: expected the broker's admin credentials (username, password)")
    stored = {
        user["name"]: read_json(os.path.join(credentials, "stored", user["name"] + ".json"))
        for user in topology["users"]
    }
    broker = Broker(environ["MANAGEMENT_URL"], admin["username"], admin["password"])
    to_store = apply(broker, topology, stored, environ["AMQPS_ENDPOINT"])
    os.makedirs(os.path.join(credentials, "new"), mode=0o700, exist_ok=True)
    for name, document in to_store.items():
        write_private(os.path.join(credentials, "new", name + ".json"), document)
        print(f"credentials of {name}: to store", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(os.environ))
    except Refused as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
