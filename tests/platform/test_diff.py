"""Diffs of two plans (osp.platform.diff) built from real edits: a stack file (instance class,
Multi-AZ), a project's catalogue (a service added), and the composition's code (the database's
KMS key, the database component renamed), each planned once for the module; and reading a
saved plan, every way it can be refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from osp.platform.callouts import Kind, callouts
from osp.platform.diff import (
    SavedPlanError,
    changed_paths,
    diff,
    plan_from_json,
    property_changes,
    read_plan,
)
from osp.platform.engine import offline
from osp.platform.project import find_project
from osp.platform.replacement import FORCES_REPLACEMENT, forces_replacement
from osp.platform.spec import load_environment
from osp.stacks import foundation
from osp.stacks.estate import build
from tests.support import REPO, estate_plan, plan_of, project_copy, spec_of

PRIMARY = "osp-prod-postgres-primary"
RDS = "aws:rds/instance:Instance"


def _edited(folder: Path, edit: dict) -> Path:
    project = project_copy(folder, ["prod"])
    stack = project / "stacks" / "Pulumi.prod.yaml"
    config = yaml.safe_load(stack.read_text())
    for key, value in edit.items():
        config["config"][key] = {**config["config"].get(key, {}), **value}
    stack.write_text(yaml.safe_dump(config))
    return project


def _spec(project: Path):
    return load_environment(find_project(project), "prod")


@pytest.fixture(scope="module")
def base():
    return plan_of("prod")


@pytest.fixture(scope="module")
def bigger_instance(tmp_path_factory):
    project = _edited(
        tmp_path_factory.mktemp("class"), {"osp:database": {"instance_class": "db.r6g.2xlarge"}}
    )
    return estate_plan(_spec(project))


@pytest.fixture(scope="module")
def single_az_and_a_new_service(tmp_path_factory):
    project = _edited(tmp_path_factory.mktemp("service"), {"osp:database": {"multi_az": False}})
    catalogue = project / "blueprints" / "osp" / "blueprint.yaml"
    catalogue.parent.mkdir(parents=True)
    text = (REPO / "blueprints" / "osp" / "blueprint.yaml").read_text()
    catalogue.write_text(
        text.rstrip("\n")
        + "\n  library:\n    image: library:1.0.0\n    port: 8080\n    route: /api/library\n"
        "    replicas: {min: 1, baseline: 2, max: 4}\n"
        "    resources:\n      requests: {cpu: 250m, memory: 256Mi}\n"
        '      limits: {cpu: "1", memory: 512Mi}\n'
        "    uses:\n      database: own\n"
    )
    return estate_plan(_spec(project))


class _StorageKeyForData:
    """The key ring, with the storage key where the data key was: the database's key changed
    in the composition, as a pull request would change stacks/foundation.py."""

    def __init__(self, keys):
        self._keys = keys

    def __getattr__(self, name):
        return getattr(self._keys, name)

    @property
    def data_key_arn(self):
        return self._keys.storage_key_arn


class _Renamed:
    """The composition's context, naming the database `pg` instead of `postgres`."""

    def __init__(self, ctx):
        self._ctx = ctx

    def __getattr__(self, name):
        return getattr(self._ctx, name)

    def name(self, role, *args):
        return self._ctx.name("pg" if role == "postgres" else role, *args)


def _plan_with(database):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(foundation, "_database", database)
        return offline.run(spec_of("prod"), build)


@pytest.fixture(scope="module")
def other_kms_key():
    original = foundation._database
    return _plan_with(lambda ctx, keys, *rest: original(ctx, _StorageKeyForData(keys), *rest))


@pytest.fixture(scope="module")
def renamed_database():
    original = foundation._database
    return _plan_with(lambda ctx, *rest: original(_Renamed(ctx), *rest))


def _only(changes, op=None):
    found = [c for c in changes.changed if c.custom and (op is None or c.op == op)]
    return {c.name: c for c in found}


# --- real edits --------------------------------------------------------------------------


def test_the_same_plan_has_no_changes(base):
    changes = diff(base, base)
    assert not changes.has_changes
    assert changes.counts["same"] == len(base.resources) - 1  # the stack itself is left out


def test_an_instance_class_is_an_update_in_place_with_no_callout(base, bigger_instance):
    changes = diff(base, bigger_instance)
    changed = _only(changes)
    for name in (PRIMARY, "osp-prod-postgres-replica-1"):
        assert [(p.path, p.kind, p.new) for p in property_changes(changed[name])] == [
            ("instanceClass", "update", "db.r6g.2xlarge")
        ]
    # What follows the class (the dashboard, the connection alarms' thresholds) updates too.
    assert {c.op for c in changes.changed} == {"update"}
    assert {c.type for c in changed.values()} == {
        RDS,
        "aws:cloudwatch/dashboard:Dashboard",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
    }
    assert callouts(changes) == []


def test_multi_az_off_is_an_update_and_a_new_service_only_creates(
    base, single_az_and_a_new_service
):
    changes = diff(base, single_az_and_a_new_service)
    primary = _only(changes)[PRIMARY]
    assert primary.op == "update"
    assert [(p.path, p.old, p.new) for p in property_changes(primary)] == [("multiAz", True, False)]
    created = _only(changes, "create")
    assert created, "the library service's resources"
    assert all("library" in name for name in created)
    assert {"kubernetes:apps/v1:Deployment", "aws:iam/role:Role"} <= {
        c.type for c in created.values()
    }
    assert changes.counts["delete"] == 0
    # The database setup Job (and its script) are named by a hash of the script, which now
    # creates the library's database: replaced, so the Job runs again. They hold no data.
    assert {c.name: c.replace_keys for c in changes.changed if c.op == "replace"} == {
        "osp-prod-databases-job": ("metadata.name",),
        "osp-prod-databases-script": ("metadata.name",),
    }
    kinds = {c.kind for c in callouts(changes)}
    assert Kind.DATA_LOSS not in kinds
    # The new service's role is new access: it is called out.
    assert Kind.IAM in kinds


def test_a_new_kms_key_replaces_the_primary_database_with_a_data_loss_callout(base, other_kms_key):
    changes = diff(base, other_kms_key)
    primary = _only(changes)[PRIMARY]
    assert primary.op == "replace"
    assert primary.replace_keys == ("kmsKeyId",)
    assert primary.dangerous
    forcing = [p for p in property_changes(primary) if p.forces_replacement]
    assert [p.path for p in forcing] == ["kmsKeyId"]
    assert forcing[0].old == base.named(PRIMARY).inputs["kmsKeyId"]
    assert forcing[0].new == other_kms_key.named(PRIMARY).inputs["kmsKeyId"]
    loss = [c for c in callouts(changes) if c.kind is Kind.DATA_LOSS and c.name == PRIMARY]
    assert len(loss) == 1
    assert "`kmsKeyId`" in loss[0].text and forcing[0].new in loss[0].text


def test_a_renamed_component_is_a_replacement_of_each_resource_paired_with_its_old_self(
    base, renamed_database
):
    changes = diff(base, renamed_database)
    assert changes.counts["delete"] == 0
    replaced = {c.name: c for c in changes.changed if c.op == "replace"}
    primary = replaced["osp-prod-pg-primary"]
    assert primary.old_urn == base.named(PRIMARY).urn
    assert "osp-prod-postgres was renamed" in primary.paired_by
    assert primary.replace_keys[0] == "urn"
    assert "identifier" in primary.replace_keys
    component = replaced["osp-prod-pg"]
    assert component.old_urn.endswith("::osp-prod-postgres")
    assert not any(c.op == "create" and "-pg" in c.name for c in changes.changed)
    assert any(
        c.kind is Kind.DATA_LOSS and c.name == "osp-prod-pg-primary" for c in callouts(changes)
    )


# --- the replacement table ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_token", "path", "forces"),
    [
        (RDS, "kmsKeyId", True),
        (RDS, "instanceClass", False),
        (RDS, "multiAz", False),
        (RDS, "tags.Name", False),
        ("aws:elasticache/replicationGroup:ReplicationGroup", "atRestEncryptionEnabled", True),
        ("aws:mq/broker:Broker", "deploymentMode", True),
        ("aws:s3/bucket:Bucket", "bucket", True),
        ("aws:dynamodb/table:Table", "hashKey", True),
        ("aws:eks/cluster:Cluster", "encryptionConfig.provider.keyArn", True),
        ("aws:eks/cluster:Cluster", "version", False),
        ("aws:kms/key:Key", "keyUsage", True),
        ("aws:kms/key:Key", "enableKeyRotation", False),
        ("aws:sqs/queue:Queue", "name", True),
        ("kubernetes:apps/v1:Deployment", "metadata.name", True),
        ("kubernetes:apps/v1:Deployment", "spec.replicas", False),
    ],
)
def test_which_changes_force_a_replacement(type_token, path, forces):
    assert forces_replacement(type_token, path) is forces


def test_every_stateful_type_has_an_entry():
    from osp.platform.automation.stateful import STATEFUL_TYPES

    assert set(FORCES_REPLACEMENT) >= STATEFUL_TYPES


def test_changed_paths_read_documents_held_as_text_and_lists_by_element():
    old = {"policy": json.dumps({"Statement": [{"Action": "s3:GetObject"}]}), "ids": ["a", "b"]}
    new = {
        "policy": json.dumps({"Statement": [{"Action": "s3:GetObject"}, {"Action": "s3:*"}]}),
        "ids": ["a", "c", "d"],
    }
    assert changed_paths(old, new) == [
        ("ids[1]", "delete"),
        ("ids[1]", "add"),
        ("ids[2]", "add"),
        ("policy.Statement[1]", "add"),
    ]


# --- saved plans --------------------------------------------------------------------------


def _plan_json(**changes) -> dict:
    data = json.loads(plan_of("dev").dumps())
    data.update(changes)
    return data


def test_a_saved_plan_reads_back_to_the_same_plan(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(plan_of("dev").dumps())
    assert read_plan(path, environment="dev") == plan_of("dev")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "--against {path}: no such file; expected a plan JSON file written by"),
        ("{not json", "--against {path}: not JSON ("),
        ("[1, 2]", "--against {path}: not a plan (expected an object with schemaVersion"),
        (
            json.dumps({"schemaVersion": 2, "resources": []}),
            "--against {path}: schemaVersion: got 2; expected 1",
        ),
        (
            "OTHER-ENV",
            "--against {path}: a plan of environment 'dev'; expected one of 'prod' (the --env "
            "being previewed)",
        ),
        (
            "BAD-RESOURCE",
            "--against {path}: resources[0].urn: got 7; expected a str",
        ),
    ],
)
def test_a_saved_plan_that_cannot_be_used_is_refused_naming_the_file(tmp_path, content, message):
    path = tmp_path / "base.json"
    environment = "prod"
    if content == "OTHER-ENV":
        content = plan_of("dev").dumps()
    elif content == "BAD-RESOURCE":
        data = _plan_json()
        data["resources"][0]["urn"] = 7
        content = json.dumps(data)
        environment = "dev"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SavedPlanError) as raised:
        read_plan(path, environment=environment)
    assert str(raised.value).startswith(message.format(path=path))
    assert raised.value.exit_code == 2


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(SavedPlanError, match="is a folder"):
        read_plan(tmp_path, environment="dev")


def test_plan_from_json_checks_every_field():
    data = _plan_json()
    data["resources"][1]["options"] = "protect"
    with pytest.raises(SavedPlanError, match=r"resources\[1\]\.options: got 'protect'"):
        plan_from_json(data, "x")
