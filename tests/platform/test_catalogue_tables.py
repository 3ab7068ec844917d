"""DynamoDB tables in the catalogue (`tables:` and `uses.tables`): accepted, and every refusal
with its path and rule."""

from __future__ import annotations

import pytest

from osp.platform.catalogue import Access, load_catalogue, parse_catalogue
from osp.platform.catalogue.tables import Billing, KeyType, Projection
from tests.platform.test_catalogue import ORDERS_USES, problems, variant, write

SESSIONS = """\
tables:
  sessions:
    partition_key: {name: pk}
    sort_key: {name: session, type: string}
    ttl_attribute: expires_at
    tenant_partitioned: true
    indexes:
      by-user: {partition_key: {name: user}, sort_key: {name: created, type: number}}
  tokens:
    partition_key: {name: token}
    billing: provisioned
    capacity:
      read: {min: 5, max: 50}
      write: {min: 2, max: 20, target: 60}
"""


def with_tables(uses: str = "{sessions: read-write, tokens: read}", tables: str = SESSIONS) -> str:
    return variant((ORDERS_USES, f"    uses:\n      tables: {uses}\n      publishes")) + tables


def test_tables_and_what_a_service_does_with_them(tmp_path):
    catalogue = parse_catalogue(write(tmp_path, with_tables()))
    sessions, tokens = catalogue.tables
    assert (sessions.name, tokens.name) == ("sessions", "tokens")
    assert sessions.partition_key.type is KeyType.STRING
    assert sessions.sort_key.name == "session"
    assert sessions.ttl_attribute == "expires_at"
    assert sessions.tenant_partitioned is True
    assert sessions.billing is Billing.ON_DEMAND and sessions.capacity is None
    assert sessions.indexes["by-user"].projection is Projection.ALL
    assert tokens.billing is Billing.PROVISIONED
    assert (tokens.capacity.read.min, tokens.capacity.read.max, tokens.capacity.read.target) == (
        5,
        50,
        70,
    )
    assert tokens.capacity.write.target == 60
    assert tokens.tenant_partitioned is False
    assert catalogue.service("orders").uses.tables == {
        "sessions": Access.READ_WRITE,
        "tokens": Access.READ,
    }
    assert catalogue.service("billing").uses.tables == {}


def test_the_bundled_blueprints_have_no_tables_yet():
    for blueprint in ("osp", "learning-hub", "learning-platform", "code-learn"):
        assert load_catalogue(blueprint).tables == ()


def replaced(old: str, new: str) -> str:
    assert SESSIONS.count(old) == 1, old
    return SESSIONS.replace(old, new)


@pytest.mark.parametrize(
    ("uses", "tables", "expected"),
    [
        (
            "{carts: read}",
            SESSIONS,
            "services.orders.uses.tables.carts: got 'carts'; expected one of the blueprint's "
            "tables: sessions, tokens",
        ),
        (
            "{sessions: write}",
            SESSIONS,
            "services.orders.uses.tables.sessions: got 'write'; expected one of 'read', "
            "'read-write'",
        ),
        (
            "{}",
            replaced("    billing: provisioned\n", ""),
            "tables.tokens.capacity: expected no capacity with on-demand billing (or billing: "
            "provisioned)",
        ),
        (
            "{}",
            replaced(
                "    capacity:\n      read: {min: 5, max: 50}\n      write: {min: 2, max: 20, "
                "target: 60}\n",
                "",
            ),
            "tables.tokens.capacity: got None; expected read and write bounds, {read: {min, max, "
            "target}, write: {...}}, with billing: provisioned",
        ),
        (
            "{}",
            replaced("read: {min: 5, max: 50}", "read: {min: 5, max: 4}"),
            "tables.tokens.capacity.read.max: got 4; expected a number >= min (5)",
        ),
        (
            "{}",
            replaced("target: 60", "target: 95"),
            "tables.tokens.capacity.write.target: got 95; expected a number <= 90",
        ),
        (
            "{}",
            replaced("ttl_attribute: expires_at", "ttl_attribute: session"),
            "tables.sessions.ttl_attribute: got 'session'; expected a Number attribute (epoch "
            "seconds), not a key declared string",
        ),
        (
            "{}",
            replaced("sort_key: {name: created, type: number}", "sort_key: {name: session, type: "
                     "number}"),
            "tables.sessions.indexes.by-user.sort_key.type: got 'number'; expected string: "
            "attribute 'session' is declared string elsewhere in this table",
        ),
        (
            "{}",
            replaced("sort_key: {name: session, type: string}", "sort_key: {name: pk}"),
            "tables.sessions.sort_key.name: got 'pk'; expected another attribute than the "
            "partition key",
        ),
        (
            "{}",
            replaced("partition_key: {name: pk}", "partition_key: {name: pk, type: number}"),
            "tables.sessions.partition_key.type: got 'number'; expected string: a "
            "tenant-partitioned table's partition key begins with the tenant's slug",
        ),
        (
            "{}",
            replaced("partition_key: {name: pk}", "partition_key: {name: 'p k'}"),
            "tables.sessions.partition_key.name: got 'p k'; expected",
        ),
        (
            "{}",
            replaced("  sessions:\n", "  tenants:\n"),
            "tables.tenants: got 'tenants'; expected a table name other than 'tenants' (the "
            "estate's tenant registry is osp-<env>-tenants)",
        ),
        (
            "{}",
            replaced("    tenant_partitioned: true\n", "    tenant_partitioned: true\n    stream: "
                     "true\n"),
            "tables.sessions.stream: unknown key 'stream'; expected one of billing, capacity, "
            "description, indexes, name, partition_key, sort_key, tenant_partitioned, "
            "ttl_attribute",
        ),
    ],
)  # fmt: skip
def test_refused_with_the_path_and_the_rule(tmp_path, uses, tables, expected):
    found = [p.split(": ", 1)[1] for p in problems(tmp_path, with_tables(uses, tables))]
    assert len(found) == 1, found
    assert found[0].startswith(expected), found[0]


def test_every_problem_at_once(tmp_path):
    tables = replaced("target: 60", "target: 95").replace("{name: pk}", "{name: pk, type: x}")
    found = problems(tmp_path, with_tables("{carts: read}", tables))
    assert [p.split(": ")[1] for p in found] == [
        "services.orders.uses.tables.carts",
        "tables.sessions.partition_key.type",
        "tables.tokens.capacity.write.target",
    ]
