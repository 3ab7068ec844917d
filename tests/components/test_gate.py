"""`TenantGate` through the offline engine (the store, the function and their association),
the shipped function source, and the function's decisions run in Node against a fake store."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib import resources

import pytest

from osp.components import cdn
from osp.components.gate import (
    ACTIVE,
    GATE_HANDLER_FILE,
    REFUSAL_STATUS,
    RUNTIME,
    SUSPENDED,
    TenantGate,
    TenantGateArgs,
    gate_code,
    problems,
)
from osp.platform import limits
from osp.platform.engine import offline
from osp.platform.validation import InvalidArguments
from tests.support import REPO, plan_component, spec_of

STORE = "aws:cloudfront/keyValueStore:KeyValueStore"
FUNCTION = "aws:cloudfront/function:Function"
TAGS = {"osp:environment": "t", "osp:component": "portals", "osp:managed-by": "osp"}
SOURCE = REPO / "components" / "handlers" / "tenant_gate.js"


@pytest.fixture(scope="module")
def gate():
    return plan_component(
        TenantGate,
        TenantGateArgs(tags=TAGS),
        name="osp-t-tenant-gate",
        exports=("store_arn", "function_arn"),
    )


def test_one_store_named_after_the_gate(gate):
    (store,) = gate.of_type(STORE)
    assert store.name == "osp-t-tenant-gate-store"
    assert store.inputs["name"] == "osp-t-tenant-gate"
    assert store.inputs["tags"] == {"Name": "osp-t-tenant-gate", **TAGS}
    assert limits.CLOUDFRONT_KEY_VALUE_STORE_ARN.accepts(gate.outputs["store_arn"])


def test_one_published_viewer_request_function_reading_the_store(gate):
    (function,) = gate.of_type(FUNCTION)
    (store,) = gate.of_type(STORE)
    assert function.name == function.inputs["name"] == "osp-t-tenant-gate-viewer-request"
    assert function.inputs["runtime"] == RUNTIME == "cloudfront-js-2.0"
    assert function.inputs["publish"] is True
    assert function.inputs["keyValueStoreAssociations"] == [gate.outputs["store_arn"]]
    assert function.property_dependencies["keyValueStoreAssociations"] == (store.urn,)
    assert function.inputs["tags"] == {"Name": "osp-t-tenant-gate-viewer-request", **TAGS}
    assert gate.outputs["function_arn"] == (
        "arn:aws:cloudfront::123456789012:function/osp-t-tenant-gate-viewer-request"
    )
    assert len(function.inputs["comment"]) <= 128


def test_the_function_code_is_the_shipped_file(gate):
    (function,) = gate.of_type(FUNCTION)
    shipped = resources.files("osp.components").joinpath(GATE_HANDLER_FILE)
    assert shipped.is_file()
    assert function.inputs["code"] == gate_code() == SOURCE.read_text(encoding="utf-8")
    # CloudFront's limit on a function's code.
    assert 0 < len(gate_code().encode()) <= 10 * 1024


def test_the_function_and_python_agree_on_the_words():
    code = gate_code()
    assert f"const SUSPENDED = '{SUSPENDED}';" in code
    assert f"statusCode: {REFUSAL_STATUS}," in code
    # The portals' SPA routing rewrites these to index.html with 200: a refusal must not be one.
    assert REFUSAL_STATUS not in cdn._SPA_ERRORS
    assert ACTIVE != SUSPENDED


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("osp.t.gate", "name: got 'osp.t.gate'; expected a CloudFront KeyValueStore name"),
        ("g" * 65, "name: got 'ggg"),
        ("g" * 50, "name (+ '-viewer-request'): got 'ggg"),
    ],
)
def test_names_the_store_and_function_cannot_take_are_refused(name, message):
    found = problems(name, TenantGateArgs())
    assert found and f"TenantGate {name}: {message}" in found[0], found


def test_nothing_is_created_from_a_bad_name():
    def program(spec):
        with pytest.raises(InvalidArguments):
            TenantGate("osp t gate", TenantGateArgs())

    assert offline.run(spec_of("prod"), program).custom_count == 0


# --- The function's decisions, run in Node ----------------------------------------------

NODE = shutil.which("node")

# `cloudfront` is the runtime's module: this stand-in serves cf.kvs() from globalThis.store,
# throwing for a missing key as the runtime does, and for every key when the store is down.
FAKE_CLOUDFRONT = """
export default {
    kvs() {
        return {
            async get(key) {
                if (globalThis.storeDown) throw new Error('KeyValueStore unavailable');
                if (!Object.prototype.hasOwnProperty.call(globalThis.store, key)) {
                    throw new Error('Key not found');
                }
                return globalThis.store[key];
            },
        };
    },
};
"""

DRIVER = """
import { handler } from './gate.mjs';
const cases = JSON.parse(process.argv[2]);
const results = [];
for (const c of cases) {
    globalThis.store = c.store;
    globalThis.storeDown = Boolean(c.down);
    results.push(await handler({ version: '1.0', context: { eventType: 'viewer-request' },
                                 viewer: { ip: '192.0.2.1' }, request: c.request }));
}
process.stdout.write(JSON.stringify(results));
"""


def request_for(host: str | None) -> dict:
    headers = {"accept": {"value": "text/html"}}
    if host is not None:
        headers["host"] = {"value": host}
    return {
        "method": "GET",
        "uri": "/courses/1",
        "querystring": {"tab": {"value": "grades"}},
        "headers": headers,
        "cookies": {},
    }


def run_gate(tmp_path, cases: list[dict]) -> list[dict]:
    module = tmp_path / "node_modules" / "cloudfront"
    module.mkdir(parents=True)
    (module / "package.json").write_text(
        json.dumps({"name": "cloudfront", "type": "module", "main": "index.js"})
    )
    (module / "index.js").write_text(FAKE_CLOUDFRONT)
    # The runtime calls the top-level `handler`; Node needs it exported to reach it.
    (tmp_path / "gate.mjs").write_text(gate_code() + "\nexport { handler };\n")
    (tmp_path / "driver.mjs").write_text(DRIVER)
    done = subprocess.run(
        [NODE, "driver.mjs", json.dumps(cases)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


SCHOOL = "springfield.example.com"
STORE_STATE = {
    SCHOOL: SUSPENDED,
    "shelbyville.example.com": ACTIVE,
    "school.example.org": SUSPENDED,
}

#: (what, Host header, store down?, refused?)
DECISIONS = [
    ("a suspended school", SCHOOL, False, True),
    ("its custom domain", "school.example.org", False, True),
    ("the name in capitals", "SpringField.Example.COM", False, True),
    ("with the HTTPS port", f"{SCHOOL}:443", False, True),
    ("with a final dot", f"{SCHOOL}.", False, True),
    ("an active school", "shelbyville.example.com", False, False),
    ("the portal's own name (no key)", "student.example.com", False, False),
    ("a name nobody registered", "ogdenville.example.com", False, False),
    ("no Host header", None, False, False),
    ("a store that cannot be read", SCHOOL, True, False),
]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_function_refuses_exactly_the_suspended_hosts(tmp_path):
    cases = [
        {"store": STORE_STATE, "down": down, "request": request_for(host)}
        for _, host, down, _ in DECISIONS
    ]
    results = run_gate(tmp_path, cases)
    for (what, _, _, refused), case, result in zip(DECISIONS, cases, results, strict=True):
        if refused:
            assert result == {
                "statusCode": REFUSAL_STATUS,
                "statusDescription": "Service Unavailable",
                "headers": {
                    "content-type": {"value": "text/plain; charset=utf-8"},
                    "cache-control": {"value": "no-store"},
                },
                "body": {"encoding": "text", "data": "This school's access is suspended.\n"},
            }, what
        else:
            # Passed on unchanged: the very request, Host and all.
            assert result == case["request"], what


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_only_the_exact_suspended_value_refuses(tmp_path):
    values = [SUSPENDED, ACTIVE, "Suspended", "suspended ", ""]
    cases = [{"store": {SCHOOL: v}, "request": request_for(SCHOOL)} for v in values]
    refused = [r.get("statusCode") == REFUSAL_STATUS for r in run_gate(tmp_path, cases)]
    assert refused == [True, False, False, False, False]


def test_the_function_uses_only_what_cloudfront_js_2_offers():
    code = gate_code()
    # The runtime's module and its store helper, which needs the store associated.
    assert code.count("import cf from 'cloudfront';") == 1
    assert "cf.kvs()" in code
    assert re.search(r"^async function handler\(event\)", code, re.MULTILINE)
    # No Node-only APIs, no export (the runtime rejects them), no promise combinators (they
    # cost the function's small memory quota).
    for forbidden in ("require(", "process.", "export ", "Promise.all", "Promise.any", "?."):
        assert forbidden not in code, forbidden
