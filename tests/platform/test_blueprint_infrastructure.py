"""A blueprint's `infrastructure:` section: preset < blueprint < stack file, each layer's
problems named in its own file, and the keys a blueprint may not state refused."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from osp.platform import blueprints
from osp.platform.catalogue import load_catalogue
from osp.platform.errors import SpecError
from osp.platform.spec import parse_stack_file

ADMIN = "arn:aws:iam::123456789012:role/platform-admin"
SOURCE = "stacks/Pulumi.prod.yaml"
BLUEPRINT_FILE = "blueprints/shop/blueprint.yaml"
CATALOGUE = """\
name: shop
description: One service with a database and the cache
transport: sns-sqs
services:
  web:
    image: web:1.0.0
    port: 8080
    route: /api/web
    replicas: {min: 1, baseline: 2, max: 4}
    uses: {database: own, cache: true}
"""


def library(tmp_path: Path, infrastructure: str | None) -> blueprints.Library:
    folder = tmp_path / "blueprints"
    (folder / "shop").mkdir(parents=True, exist_ok=True)
    text = CATALOGUE + ("" if infrastructure is None else textwrap.dedent(infrastructure))
    (folder / "shop" / "blueprint.yaml").write_text(text)
    return blueprints.Library(folder)


def parse(lib: blueprints.Library, extra: str = "", environment: str = "prod"):
    text = (
        "config:\n"
        "  aws:region: eu-west-2\n"
        "  osp:domain: shop.example.com\n"
        "  osp:blueprint: shop\n"
        f"  osp:cluster: {{admin_role_arns: [{ADMIN}]}}\n" + extra
    )
    return parse_stack_file(text, environment=environment, source=SOURCE, library=lib)


def refused(lib: blueprints.Library) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse(lib)
    return caught.value.problems


INFRA = """\
infrastructure:
  osp:database:
    engine_version: "15"
    instance_class: db.t3.medium
  osp:cache:
    cluster_mode: true
    shards: 3
  osp:cluster:
    karpenter: {enabled: false}
    workload_pool: {instance_types: [t3.medium], min_size: 2, max_size: 10, desired_size: 3}
"""


def test_the_blueprint_lies_on_the_preset(tmp_path):
    spec = parse(library(tmp_path, INFRA))
    assert spec.database.engine_version == "15"
    assert spec.database.instance_class == "db.t3.medium"
    # The preset's other keys of the same section stay (mappings merge key by key).
    assert spec.database.allocated_storage_gib == 100 and spec.database.multi_az is True
    assert spec.database.backup_retention_days == 35
    assert (spec.cache.cluster_mode, spec.cache.shards, spec.cache.replicas) == (True, 3, 2)
    assert spec.cluster.karpenter.enabled is False
    assert spec.cluster.workload_pool.instance_types == ("t3.medium",)
    assert spec.cluster.workload_pool.capacity_type == "ON_DEMAND"  # the prod preset's
    assert spec.cluster.system_pool.instance_types == ("m6i.large",)


def test_the_stack_file_lies_on_the_blueprint(tmp_path):
    spec = parse(
        library(tmp_path, INFRA),
        "  osp:database: {instance_class: db.r5.large}\n  osp:cache: {shards: 4}\n",
    )
    assert spec.database.instance_class == "db.r5.large"
    assert spec.database.engine_version == "15"  # the blueprint's, not overridden
    assert (spec.cache.cluster_mode, spec.cache.shards) == (True, 4)


def test_the_blueprint_applies_to_every_profile_under_each_preset(tmp_path):
    spec = parse(library(tmp_path, INFRA), environment="dev")
    assert spec.database.engine_version == "15" and spec.database.multi_az is False
    assert (spec.cache.shards, spec.cache.replicas) == (3, 0)
    assert spec.cluster.workload_pool.capacity_type == "SPOT"  # the dev preset's


def test_a_blueprint_without_the_section_changes_nothing(tmp_path):
    with_none = parse(library(tmp_path, None))
    assert with_none.database.engine_version == "16"
    assert with_none.cache.cluster_mode is False and with_none.cache.shards == 1


def test_the_catalogue_accepts_the_section(tmp_path):
    lib = library(tmp_path, INFRA)
    catalogue = load_catalogue("shop", lib)
    assert catalogue.infrastructure["osp:cache"] == {"cluster_mode": True, "shards": 3}
    assert load_catalogue("code-learn").infrastructure["osp:cache"]["cluster_mode"] is True


@pytest.mark.parametrize(
    ("infrastructure", "expected"),
    [
        (
            "infrastructure:\n  osp:database: {multi_az: false}\n",
            [
                f"{BLUEPRINT_FILE}:12: infrastructure.osp:database.multi_az: not a "
                "blueprint's to state; a protective stance of the profile: its preset states "
                "it, a stack file may override it"
            ],
        ),
        (
            "infrastructure:\n  osp:cache:\n    replicas: 0\n    snapshot_retention_days: 1\n",
            [
                f"{BLUEPRINT_FILE}:13: infrastructure.osp:cache.replicas: not a blueprint's "
                "to state; a protective stance of the profile: its preset states it, a stack "
                "file may override it",
                f"{BLUEPRINT_FILE}:14: infrastructure.osp:cache.snapshot_retention_days: not "
                "a blueprint's to state; a protective stance of the profile: its preset "
                "states it, a stack file may override it",
            ],
        ),
        (
            "infrastructure:\n  osp:cluster:\n    workload_pool: {capacity_type: SPOT}\n",
            [
                f"{BLUEPRINT_FILE}:13: infrastructure.osp:cluster.workload_pool.capacity_type:"
                " not a blueprint's to state; a protective stance of the profile: its preset "
                "states it, a stack file may override it"
            ],
        ),
        (
            f"infrastructure:\n  osp:cluster: {{admin_role_arns: [{ADMIN}]}}\n",
            [
                f"{BLUEPRINT_FILE}:12: infrastructure.osp:cluster.admin_role_arns: not a "
                "blueprint's to state; the environment's own (its stack file states it): a "
                "blueprint cannot know it"
            ],
        ),
        (
            "infrastructure:\n  osp:network: {cidr: 10.9.0.0/16}\n",
            [
                f"{BLUEPRINT_FILE}:12: infrastructure.osp:network: unknown key "
                "'osp:network'; expected one of osp:broker, osp:cache, osp:cluster, "
                "osp:database, osp:kafka"
            ],
        ),
        (
            "infrastructure: [osp:database]\n",
            [
                f"{BLUEPRINT_FILE}:11: infrastructure: got ['osp:database']; expected a "
                "mapping of stack-file keys: osp:broker, osp:cache, osp:cluster, osp:database, "
                "osp:kafka"
            ],
        ),
        (
            "infrastructure:\n  osp:cache: cluster\n",
            [f"{BLUEPRINT_FILE}:12: infrastructure.osp:cache: got 'cluster'; expected a mapping"],
        ),
        (
            'infrastructure:\n  osp:database:\n    engine_version: "12"\n',
            [
                f"{BLUEPRINT_FILE}:13: infrastructure.osp:database.engine_version: got '12'; "
                "expected a PostgreSQL version of major 14, 15, 16, 17, such as 16 or 16.4"
            ],
        ),
        (
            "infrastructure:\n  osp:cache: {shards: 2}\n",
            [
                f"{BLUEPRINT_FILE}:12: infrastructure.osp:cache: expected shards 1 without "
                "cluster_mode, got 2: only a cluster splits the keyspace over shards (set "
                "cluster_mode: true)"
            ],
        ),
        (
            "infrastructure:\n  osp:database: {allocated_storage_gib: 2000}\n",
            [
                f"{BLUEPRINT_FILE}:12: infrastructure.osp:database: expected "
                "max_allocated_storage_gib (1000) >= allocated_storage_gib (2000)"
            ],
        ),
        (
            "infrastructure:\n  osp:broker: {instance_type: mq.t3.micro}\n",
            [
                f"{BLUEPRINT_FILE}:12: infrastructure.osp:broker.instance_type: got "
                "'mq.t3.micro'; expected an mq.m5.large or larger instance type: mq.t3 "
                "brokers run as SINGLE_INSTANCE only, never CLUSTER_MULTI_AZ"
            ],
        ),
    ],
    ids=[
        "stance",
        "two-stances",
        "nested-stance",
        "environment-only",
        "unknown-key",
        "not-a-mapping",
        "section-not-a-mapping",
        "bad-value",
        "shards-without-cluster-mode",
        "cross-field",
        "cross-field-with-key",
    ],
)
def test_a_bad_section_is_named_in_the_blueprint_file(tmp_path, infrastructure, expected):
    assert refused(library(tmp_path, infrastructure)) == expected


def test_a_stack_file_contradicting_the_blueprint_is_the_stack_files_problem(tmp_path):
    lib = library(tmp_path, INFRA)
    with pytest.raises(SpecError) as caught:
        parse(lib, "  osp:cache: {cluster_mode: false}\n")
    assert caught.value.source == SOURCE
    assert "osp:cache" in caught.value.problems[0] and "cluster_mode" in caught.value.problems[0]
