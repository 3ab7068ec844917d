"""Engine events → osp's model: the progress of a run, the changes of a preview, the plan, JSON.

The builders at the top make `pulumi.automation.events` objects as the engine sends them; the
other automation tests import them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi.automation import events as ev

from osp.platform.automation.changes import SECRET, UNKNOWN, ChangeRecorder, clean, lookup
from osp.platform.automation.progress import (
    Failed,
    Finished,
    Message,
    PolicyViolation,
    Prelude,
    Progress,
    Started,
    Status,
    StreamEnded,
    Summary,
    event_to_json,
    plain_text,
)
from osp.platform.plan import Plan
from tests.support import spec_of

STACK_TYPE = "pulumi:pulumi:Stack"
SECRET_VALUE = {
    "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
    "value": "hunter2",
}
UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def stack_urn(env: str = "dev") -> str:
    return f"urn:pulumi:{env}::osp::{STACK_TYPE}::osp-{env}"


def urn(type_token: str, name: str, env: str = "dev", parent: str = "osp:database:Postgres") -> str:
    return f"urn:pulumi:{env}::osp::{parent}${type_token}::{name}"


def provider_urn(env: str = "dev", name: str = "default_7_51_1") -> str:
    return f"urn:pulumi:{env}::osp::pulumi:providers:aws::{name}"


def state(
    type_token: str,
    resource_urn: str,
    *,
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    protect: bool = False,
    parent: str | None = None,
    custom: bool = True,
    provider: str = "",
) -> ev.StepEventStateMetadata:
    return ev.StepEventStateMetadata(
        type=type_token,
        urn=resource_urn,
        id="",
        parent=parent if parent is not None else stack_urn(),
        provider=provider,
        custom=custom,
        protect=protect,
        retain_on_delete=False,
        inputs=inputs,
        outputs=outputs,
    )


def step(
    op: str,
    type_token: str,
    resource_urn: str,
    *,
    old: ev.StepEventStateMetadata | None = None,
    new: ev.StepEventStateMetadata | None = None,
    diffs: list[str] | None = None,
    keys: list[str] | None = None,
    detailed: dict[str, str] | None = None,
) -> ev.StepEventMetadata:
    return ev.StepEventMetadata(
        op=ev.OpType(op),
        urn=resource_urn,
        type=type_token,
        provider="",
        old=old,
        new=new,
        keys=keys,
        diffs=diffs,
        detailed_diff={
            path: ev.PropertyDiff(diff_kind=ev.DiffKind(kind), input_diff=True)
            for path, kind in (detailed or {}).items()
        },
    )


_sequence = iter(range(1, 1_000_000))


def engine_event(**kind: Any) -> ev.EngineEvent:
    number = next(_sequence)
    return ev.EngineEvent(sequence=number, timestamp=1_700_000_000 + number, **kind)


def pre(metadata: ev.StepEventMetadata, planning: bool | None = None) -> ev.EngineEvent:
    return engine_event(resource_pre_event=ev.ResourcePreEvent(metadata, planning))


def done(metadata: ev.StepEventMetadata, planning: bool | None = None) -> ev.EngineEvent:
    return engine_event(res_outputs_event=ev.ResOutputsEvent(metadata, planning))


def failed(metadata: ev.StepEventMetadata) -> ev.EngineEvent:
    return engine_event(res_op_failed_event=ev.ResOpFailedEvent(metadata, status=1, steps=0))


def diagnostic(
    message: str, severity: str = "warning", resource_urn: str | None = None, **more: Any
) -> ev.EngineEvent:
    return engine_event(
        diagnostic_event=ev.DiagnosticEvent(
            message=message, color="raw", severity=severity, urn=resource_urn, **more
        )
    )


def stdout(message: str) -> ev.EngineEvent:
    return engine_event(stdout_event=ev.StdoutEngineEvent(message=message, color="raw"))


def prelude(config: dict[str, str]) -> ev.EngineEvent:
    return engine_event(prelude_event=ev.PreludeEvent(config=config))


def summary(changes: dict[str, int], seconds: int = 42, corrupt: bool = False) -> ev.EngineEvent:
    return engine_event(
        summary_event=ev.SummaryEvent(
            maybe_corrupt=corrupt,
            duration_seconds=seconds,
            resource_changes=changes,
            policy_packs={},
        )
    )


def policy(message: str, level: str = "mandatory", resource_urn: str | None = None):
    return engine_event(
        policy_event=ev.PolicyEvent(
            message=message,
            color="raw",
            policy_name="s3-no-public-read",
            policy_pack_name="osp-guardrails",
            policy_pack_version="1",
            policy_pack_version_tag="v1",
            enforcement_level=level,
            resource_urn=resource_urn,
        )
    )


def cancel() -> ev.EngineEvent:
    return engine_event(cancel_event=ev.CancelEvent())


# --- a preview of dev, as the engine reports it --------------------------------------------

DB = "aws:rds/instance:Instance"
SG = "aws:ec2/securityGroup:SecurityGroup"
BUCKET = "aws:s3/bucket:Bucket"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPONENT = "osp:database:Postgres"
DB_URN = urn(DB, "osp-dev-database")
SG_URN = urn(SG, "osp-dev-database-sg")
BUCKET_URN = urn(BUCKET, "osp-dev-assets", parent="osp:storage:Storage")
ALARM_URN = urn(ALARM, "osp-dev-database-cpu")
COMPONENT_URN = f"urn:pulumi:dev::osp::{COMPONENT}::osp-dev-database"
EXPLICIT_PROVIDER = provider_urn(name="osp-dev-us-east-1")


def preview_events() -> list[ev.EngineEvent]:
    """Stack unchanged, a component, a DB update, an SG create, a bucket replaced, an alarm
    deleted, the default provider and an explicit one — every step kind the preview folds."""
    db_old = {"instanceClass": "db.t4g.medium", "password": SECRET_VALUE, "tags": {"Name": "a"}}
    db_new = {"instanceClass": "db.t4g.large", "password": "[secret]", "tags": {"Name": "a"}}
    return [
        prelude({"aws:region": "us-east-1", "osp:domain": "dev.osp.example.com"}),
        pre(
            step("same", STACK_TYPE, stack_urn(), new=state(STACK_TYPE, stack_urn(), parent="")),
            planning=True,
        ),
        pre(
            step(
                "create",
                "pulumi:providers:aws",
                provider_urn(),
                new=state("pulumi:providers:aws", provider_urn(), inputs={"region": "us-east-1"}),
            )
        ),
        pre(
            step(
                "same",
                "pulumi:providers:aws",
                EXPLICIT_PROVIDER,
                new=state("pulumi:providers:aws", EXPLICIT_PROVIDER, inputs={"region": "x"}),
            )
        ),
        pre(
            step(
                "same",
                COMPONENT,
                COMPONENT_URN,
                new=state(COMPONENT, COMPONENT_URN, custom=False),
            )
        ),
        pre(
            step(
                "update",
                DB,
                DB_URN,
                old=state(DB, DB_URN, inputs=db_old, protect=True, parent=COMPONENT_URN),
                new=state(
                    DB,
                    DB_URN,
                    inputs=db_new,
                    protect=True,
                    parent=COMPONENT_URN,
                    provider=f"{provider_urn()}::04da6b54-80e4-46f7-96ec-b56ff0331ba9",
                ),
                diffs=["instanceClass"],
                detailed={"instanceClass": "update"},
            )
        ),
        pre(
            step(
                "create",
                SG,
                SG_URN,
                new=state(
                    SG,
                    SG_URN,
                    inputs={"vpcId": UNKNOWN_VALUE, "description": "db"},
                    parent=COMPONENT_URN,
                    provider=f"{EXPLICIT_PROVIDER}::abc",
                ),
            )
        ),
        pre(
            step(
                "create-replacement",
                BUCKET,
                BUCKET_URN,
                old=state(BUCKET, BUCKET_URN, inputs={"bucket": "old"}),
                new=state(BUCKET, BUCKET_URN, inputs={"bucket": "new"}),
                keys=["bucket"],
                diffs=["bucket"],
                detailed={"bucket": "update-replace"},
            )
        ),
        pre(
            step(
                "replace",
                BUCKET,
                BUCKET_URN,
                old=state(BUCKET, BUCKET_URN, inputs={"bucket": "old"}),
                new=state(BUCKET, BUCKET_URN, inputs={"bucket": "new"}),
                keys=["bucket"],
            )
        ),
        pre(
            step(
                "delete-replaced",
                BUCKET,
                BUCKET_URN,
                old=state(BUCKET, BUCKET_URN, inputs={"bucket": "old"}),
            )
        ),
        pre(step("delete", ALARM, ALARM_URN, old=state(ALARM, ALARM_URN, inputs={"x": 1}))),
        done(
            step(
                "same",
                STACK_TYPE,
                stack_urn(),
                new=state(
                    STACK_TYPE,
                    stack_urn(),
                    parent="",
                    outputs={"vpcId": UNKNOWN_VALUE, "dbPassword": SECRET_VALUE},
                ),
            ),
            planning=True,
        ),
        summary({"same": 3, "update": 1, "create": 1, "replace": 1, "delete": 1}),
    ]


@pytest.fixture(scope="module")
def recorded() -> ChangeRecorder:
    recorder = ChangeRecorder()
    for event in preview_events():
        recorder.record(event)
    return recorder


# --- values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (SECRET_VALUE, SECRET),
        ("[secret]", SECRET),
        (UNKNOWN_VALUE, UNKNOWN),
        ({"b": [SECRET_VALUE, 1], "a": "x"}, {"a": "x", "b": [SECRET, 1]}),
        (3, 3),
    ],
)
def test_clean_masks_secrets_and_unknowns(value, expected):
    assert clean(value) == expected


def test_lookup_follows_property_paths():
    inputs = {"tags": {"Name": "a"}, "ingress": [{"cidrBlocks": ["10.0.0.0/8"]}]}
    assert lookup(inputs, "tags.Name") == "a"
    assert lookup(inputs, "ingress[0].cidrBlocks") == ["10.0.0.0/8"]
    assert lookup(inputs, "ingress[3]") is None
    assert lookup(None, "x") is None


def test_plain_text_strips_pulumi_colour_directives():
    assert plain_text("<{%fg 1%}>error<{%reset%}>: boom\n") == "error: boom"


# --- the change set --------------------------------------------------------------------------


def test_a_preview_folds_into_one_change_per_resource(recorded):
    changes = recorded.change_set()
    by_urn = {c.urn: c for c in changes.changes}
    # The default provider is Pulumi's bookkeeping, not part of the estate.
    assert provider_urn() not in by_urn
    assert {urn_: c.op for urn_, c in by_urn.items()} == {
        stack_urn(): "same",
        EXPLICIT_PROVIDER: "same",
        COMPONENT_URN: "same",
        DB_URN: "update",
        SG_URN: "create",
        BUCKET_URN: "replace",
        ALARM_URN: "delete",
    }
    assert dict(changes.counts) == {
        "create": 1, "update": 1, "replace": 1, "delete": 1, "import": 0, "same": 3,
    }  # fmt: skip
    assert changes.summary() == "1 to create, 1 to update, 1 to replace, 1 to delete, 3 unchanged"
    assert changes.has_changes
    assert [c.urn for c in changes.changed] == [DB_URN, SG_URN, BUCKET_URN, ALARM_URN]


def test_stateful_replacements_and_deletions_are_dangerous(recorded):
    changes = recorded.change_set()
    # The bucket holds data and is replaced: dangerous. The DB is stateful but only updated;
    # the alarm is deleted but holds nothing.
    assert [c.urn for c in changes.dangerous] == [BUCKET_URN]
    bucket = next(c for c in changes.changes if c.urn == BUCKET_URN)
    assert bucket.replace_keys == ("bucket",)
    assert bucket.old_inputs == {"bucket": "old"} and bucket.new_inputs == {"bucket": "new"}


def test_changes_keep_the_property_diffs_with_secrets_masked(recorded):
    database = next(c for c in recorded.change_set().changes if c.urn == DB_URN)
    assert database.detailed == {"instanceClass": "update"}
    assert database.protected
    assert database.old_inputs["password"] == SECRET
    assert database.new_inputs["password"] == SECRET
    assert "hunter2" not in json.dumps(recorded.change_set().to_json())


def test_no_changes_when_everything_is_same():
    recorder = ChangeRecorder()
    recorder.record(pre(step("same", DB, DB_URN, new=state(DB, DB_URN, inputs={}))))
    assert not recorder.change_set().has_changes
    assert recorder.change_set().summary() == (
        "0 to create, 0 to update, 0 to replace, 0 to delete, 1 unchanged"
    )


# --- the plan from a preview -----------------------------------------------------------------


@pytest.fixture(scope="module")
def real_plan(recorded) -> Plan:
    return recorded.plan(project="osp", environment="dev", stack="dev", blueprint="osp")


def test_the_plan_of_a_real_preview_has_the_offline_schema(real_plan):
    import pulumi

    from osp.platform.engine import offline as engine

    document = json.loads(real_plan.dumps())
    # Any program shows the offline engine's JSON shape; one component keeps this quick.
    tiny = engine.run(spec_of("dev"), lambda spec: pulumi.ComponentResource("osp:t:T", "t"))
    offline = json.loads(tiny.dumps())
    assert document["engine"] == "pulumi" and offline["engine"] == "offline"
    assert document.keys() == offline.keys()
    assert document["schemaVersion"] == 1
    for resource in document["resources"]:
        assert resource.keys() == offline["resources"][0].keys()
        assert resource["options"].keys() == offline["resources"][0]["options"].keys()


def test_the_plan_holds_what_the_program_declares(real_plan):
    urns = [r.urn for r in real_plan.resources]
    # Sorted like the offline plan; the deleted alarm and the default provider are not declared.
    assert urns == sorted(urns)
    assert set(urns) == {
        stack_urn(), EXPLICIT_PROVIDER, COMPONENT_URN, DB_URN, SG_URN, BUCKET_URN,
    }  # fmt: skip
    database = real_plan.get(DB_URN)
    assert database.name == "osp-dev-database"
    assert database.parent == COMPONENT_URN
    assert database.provider is None  # the default provider, as offline
    assert database.options.protect
    assert database.inputs == {
        "instanceClass": "db.t4g.large", "password": SECRET, "tags": {"Name": "a"},
    }  # fmt: skip
    group = real_plan.get(SG_URN)
    assert group.provider == EXPLICIT_PROVIDER
    assert group.inputs["vpcId"] == UNKNOWN
    assert real_plan.get(COMPONENT_URN).custom is False
    assert real_plan.get(stack_urn()).parent is None
    assert real_plan.outputs == {"dbPassword": SECRET, "vpcId": UNKNOWN}
    assert "hunter2" not in real_plan.dumps()


# --- the progress model ----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_tracks_each_resource_from_start_to_end():
    clock = Clock()
    progress = Progress(clock)
    create = step("create", SG, SG_URN, new=state(SG, SG_URN))
    (started,) = progress.apply(pre(create))
    assert isinstance(started, Started)
    assert started.resource.verb == "creating" and started.resource.status is Status.RUNNING
    assert progress.running() == [started.resource]
    clock.now = 112.5
    assert started.resource.elapsed() == 12.5
    (finished,) = progress.apply(done(create))
    assert isinstance(finished, Finished) and finished.resource is started.resource
    assert finished.resource.verb == "created" and finished.resource.elapsed() == 12.5
    assert progress.running() == []


def test_a_failure_carries_the_diagnostics_of_its_resource():
    progress = Progress(Clock())
    create = step("create", DB, DB_URN, new=state(DB, DB_URN))
    progress.apply(pre(create))
    # The reason arrives first (as a diagnostic with the resource's URN), then the failure.
    assert (
        progress.apply(
            diagnostic("<{%fg 1%}>InvalidParameterCombination<{%reset%}>", "error", DB_URN)
        )
        == []
    )
    (notice,) = progress.apply(failed(create))
    assert isinstance(notice, Failed)
    assert notice.resource.status is Status.FAILED
    assert notice.resource.verb == "create failed"
    assert notice.resource.reasons == ["InvalidParameterCombination"]
    assert progress.failed() == [notice.resource]
    assert progress.errors == ["InvalidParameterCombination"]


def test_errors_without_a_running_resource_are_messages():
    progress = Progress(Clock())
    notices = progress.apply(diagnostic("program failed", "error", stack_urn()))
    assert notices == [Message("error", "program failed", stack_urn())]
    assert progress.errors == ["program failed"]


def test_ephemeral_diagnostics_become_the_resource_note():
    progress = Progress(Clock())
    create = step("create", DB, DB_URN, new=state(DB, DB_URN))
    progress.apply(pre(create))
    assert (
        progress.apply(diagnostic("still creating [4m0s elapsed]", "info", DB_URN, ephemeral=True))
        == []
    )
    assert progress.resources[DB_URN].note == "still creating [4m0s elapsed]"


def test_every_other_kind_of_event_becomes_its_notice():
    progress = Progress(Clock())
    assert progress.apply(prelude({"b": "1", "a": "2"})) == [Prelude(("a", "b"))]
    assert progress.apply(stdout("Downloading plugin aws\n")) == [
        Message("info", "Downloading plugin aws")
    ]
    assert progress.apply(diagnostic("deprecated", "warning")) == [Message("warning", "deprecated")]
    assert progress.apply(policy("public read", resource_urn=BUCKET_URN)) == [
        PolicyViolation(
            "s3-no-public-read", "osp-guardrails", "mandatory", "public read", BUCKET_URN
        )
    ]
    assert progress.apply(cancel()) == [StreamEnded()] and progress.ended
    assert progress.apply(summary({"create": 2, "same": 5}, 61, corrupt=True)) == [
        Summary({"create": 2, "same": 5}, 61, True)
    ]
    assert progress.summary == Summary({"create": 2, "same": 5}, 61, True)


def test_default_providers_are_not_shown():
    progress = Progress(Clock())
    create = step("create", "pulumi:providers:aws", provider_urn(), new=state("x", provider_urn()))
    assert progress.apply(pre(create)) == [] and progress.apply(done(create)) == []


# --- JSON lines ------------------------------------------------------------------------------


def test_event_json_is_pulumis_own_shape_and_round_trips():
    for event in [*preview_events(), failed(step("create", DB, DB_URN, new=state(DB, DB_URN))),
                  diagnostic("x", "error", DB_URN, prefix="error: ", stream_id=3),
                  stdout("hello"), policy("p"), cancel()]:  # fmt: skip
        body = event_to_json(event)
        assert body["sequence"] == event.sequence and body["timestamp"] == event.timestamp
        again = event_to_json(ev.EngineEvent.from_json(json.loads(json.dumps(body))))
        assert again == body


def test_event_json_masks_secrets():
    body = json.dumps([event_to_json(e) for e in preview_events()])
    assert "hunter2" not in body
    assert '"password": "<secret>"' in body
    assert json.loads(body)[5]["resourcePreEvent"]["metadata"]["detailedDiff"] == {
        "instanceClass": {"diffKind": "update", "inputDiff": True}
    }
