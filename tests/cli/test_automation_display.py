"""The three displays of a real run (live, plain, JSON lines) over every kind of engine event,
the list of changes, and the end-of-run summary."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console

from osp.cli import progress as display
from osp.cli.render import render_changes
from osp.platform.automation.changes import ChangeRecorder
from osp.platform.automation.interrupt import Stop
from osp.platform.automation.operations import Output, RunOutcome
from osp.platform.automation.progress import Progress
from tests.platform.test_automation_events import (
    BUCKET,
    BUCKET_URN,
    DB,
    DB_URN,
    SG,
    SG_URN,
    cancel,
    diagnostic,
    done,
    failed,
    policy,
    pre,
    prelude,
    preview_events,
    stack_urn,
    state,
    stdout,
    step,
    summary,
)

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def console(*, colour: bool = False) -> Console:
    return Console(
        file=io.StringIO(),
        width=220,
        force_terminal=colour,
        color_system="standard" if colour else None,
        no_color=not colour,
        highlight=False,
    )


def text_of(target: Console) -> str:
    return ANSI.sub("", target.file.getvalue())


def an_update() -> list:
    """An update with every kind of event: creates, a replacement of a stateful resource, a
    failure with its reason, warnings, stdout, a policy violation, the end of the stream, the
    summary."""
    create = step("create", SG, SG_URN, new=state(SG, SG_URN))
    replace = step("replace", BUCKET, BUCKET_URN, new=state(BUCKET, BUCKET_URN))
    same = step("same", DB, DB_URN, new=state(DB, DB_URN))
    broken = step("update", DB, DB_URN, new=state(DB, DB_URN))
    return [
        prelude({"aws:region": "us-east-1"}),
        pre(same),
        done(same),
        pre(create),
        done(create),
        pre(replace),
        done(replace),
        stdout("Downloading provider: aws"),
        diagnostic("<{%fg 3%}>deprecated argument<{%reset%}>", "warning", SG_URN),
        diagnostic("console.log from the program", "info"),
        pre(broken),
        diagnostic("InvalidParameterValue: storage too small\nline two", "error", DB_URN),
        failed(broken),
        policy("bucket allows public read", resource_urn=BUCKET_URN),
        diagnostic("update failed", "error", stack_urn()),
        cancel(),
        summary({"create": 1, "replace": 1, "same": 3}, 75, corrupt=True),
    ]


def play(reporter, events, stage: str = "update") -> None:
    model = Progress()
    reporter.stage(stage, "dev")
    for event in events:
        reporter.event(event, model.apply(event))


# --- plain ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plain_text() -> str:
    target = console()
    play(display.PlainReporter(target), an_update())
    return text_of(target)


def test_plain_prints_one_line_per_event(plain_text):
    lines = plain_text.splitlines()
    assert lines[0] == "Updating dev…"
    assert all(re.match(r"^(\[ *\d+s\] |    )", line) for line in lines[1:]), lines
    body = "\n".join(line.split("] ", 1)[-1] for line in lines)
    for expected in (
        "engine started (1 configuration keys)",
        f"creating {SG} osp-dev-database-sg",
        f"created {SG} osp-dev-database-sg (0s)",
        f"replacing {BUCKET} osp-dev-assets",
        f"replaced {BUCKET} osp-dev-assets (0s)",
        "Downloading provider: aws",
        "warning: deprecated argument",
        "console.log from the program",
        f"updating {DB} osp-dev-database",
        f"update failed {DB} osp-dev-database (0s)",
        "    InvalidParameterValue: storage too small\n    line two",
        "policy mandatory: osp-guardrails/s3-no-public-read: bucket allows public read",
        "error: update failed",
        "engine finished: 1 created, 1 replaced, 3 unchanged in 1m15s",
        "may be inconsistent: run `osp refresh --env dev`",
    ):
        assert expected in body, expected
    # Unchanged resources are not news; the failure reason is shown once, under its resource;
    # the end of the event stream (a CancelEvent, after every run) is no cancellation.
    assert "unchanged aws:rds" not in body and "checking" not in body and "cancel" not in body
    assert body.count("storage too small") == 1


def test_plain_shows_no_resource_lines_while_previewing():
    target = console()
    play(display.PlainReporter(target), preview_events(), stage="preview")
    text = text_of(target)
    assert text.splitlines()[0] == "Previewing dev…"
    assert "osp-dev-database" not in text


def test_a_stateful_replacement_is_red_in_the_event_lines():
    target = console(colour=True)
    replace = step("replace", BUCKET, BUCKET_URN, new=state(BUCKET, BUCKET_URN))
    play(display.PlainReporter(target), [pre(replace)])
    assert "\x1b[1;31mosp-dev-assets" in target.file.getvalue()


# --- live ----------------------------------------------------------------------------------


def test_live_shows_resources_in_flight_and_prints_each_finished_one_once():
    target = console(colour=True)
    reporter = display.LiveReporter(target)
    events = an_update()
    model = Progress()
    reporter.stage("update", "dev")
    try:
        for event in events[:4]:  # up to the start of the create
            reporter.event(event, model.apply(event))
        frame = console()
        frame.print(reporter)
        assert f"creating {SG} osp-dev-database-sg" in " ".join(text_of(frame).split())
        assert "1 in flight" in text_of(frame)
        for event in events[4:]:
            reporter.event(event, model.apply(event))
        frame = console()
        frame.print(reporter)
        assert "0 in flight" in text_of(frame)
    finally:
        reporter.close()
    assert reporter.live is None
    text = text_of(target)
    assert text.count(f"✓ created {SG} osp-dev-database-sg") == 1
    assert f"✓ replaced {BUCKET} osp-dev-assets" in text
    assert f"✗ update failed {DB} osp-dev-database" in text
    assert "    InvalidParameterValue: storage too small" in text
    assert "warning: deprecated argument" in text
    assert "policy mandatory: osp-guardrails/s3-no-public-read" in text
    assert "error: update failed" in text
    assert "may be inconsistent" in text
    # Unchanged resources and the prelude are not printed.
    assert "unchanged" not in text and "configuration keys" not in text


def test_live_preview_is_a_spinner_with_a_count():
    reporter = display.LiveReporter(console(colour=True))
    try:
        play(reporter, preview_events()[:5], stage="preview")
        frame = console()
        frame.print(reporter)
        assert "Previewing dev: 3 resources" in text_of(frame)  # default provider not counted
    finally:
        reporter.close()


# --- JSON lines ----------------------------------------------------------------------------


def test_json_prints_every_event_as_one_line(capsys):
    reporter = display.JsonReporter()
    events = an_update()
    play(reporter, events)
    reporter.changes(changes_of_preview(), "dev")
    reporter.interrupting(Stop.GRACEFUL, 1)
    reporter.result(outcome())
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0] == {"ospStageEvent": {"stage": "update", "environment": "dev"}}
    engine = lines[1 : 1 + len(events)]
    assert [line["sequence"] for line in engine] == [e.sequence for e in events]
    kinds = {next(k for k in line if k.endswith("Event")) for line in engine}
    assert kinds == {
        "preludeEvent", "resourcePreEvent", "resOutputsEvent", "resOpFailedEvent",
        "stdoutEvent", "diagnosticEvent", "policyEvent", "cancelEvent", "summaryEvent",
    }  # fmt: skip
    changes, interrupt, result = lines[1 + len(events) :]
    assert changes["ospChangesEvent"]["counts"]["replace"] == 1
    assert changes["ospChangesEvent"]["changes"][2] == {
        "urn": BUCKET_URN, "type": BUCKET, "op": "replace", "stateful": True,
        "protected": False, "diffs": ["bucket"], "replaceKeys": ["bucket"],
    }  # fmt: skip
    assert interrupt == {"ospInterruptEvent": {"kind": "graceful", "signalled": 1}}
    assert result["ospResultEvent"] == {
        "command": "up",
        "environment": "dev",
        "result": "succeeded",
        "counts": {"create": 2, "same": 10},
        "durationSeconds": 75,
        "outputs": {"dbPassword": "<secret>", "vpcId": "vpc-0abc"},
        "maybeCorrupt": False,
        "next": "osp outputs --env dev",
    }
    assert "hunter2" not in out
    assert "Stopping: Pulumi finishes the operations in flight" in err


# --- changes and the summary ---------------------------------------------------------------


def changes_of_preview():
    recorder = ChangeRecorder()
    for event in preview_events():
        recorder.record(event)
    return recorder.change_set()


def outcome(**changes) -> RunOutcome:
    return RunOutcome(
        command="up",
        environment="dev",
        result="succeeded",
        counts={"create": 2, "same": 10},
        duration_seconds=75,
        outputs={"vpcId": Output("vpc-0abc", False), "dbPassword": Output("hunter2", True)},
        next_command="osp outputs --env dev",
        **changes,
    )


def test_changes_list_each_changed_resource_with_its_operation():
    target = console()
    render_changes(target, changes_of_preview(), "dev")
    lines = [" ".join(line.split()) for line in text_of(target).splitlines()]
    assert lines == [
        "Changes to dev:",
        f"~ update {DB} osp-dev-database (protected)",
        f"+ create {SG} osp-dev-database-sg",
        f"+- replace {BUCKET} osp-dev-assets (stateful: its data goes with it; replaced because "
        "of bucket)",
        "- delete aws:cloudwatch/metricAlarm:MetricAlarm osp-dev-database-cpu",
        "1 stateful resource would be replaced or deleted, and the data in it with it.",
        "Plan: 1 to create, 1 to update, 1 to replace, 1 to delete, 3 unchanged (dev).",
    ]


def test_stateful_replacements_are_red():
    target = console(colour=True)
    render_changes(target, changes_of_preview(), "dev")
    raw = target.file.getvalue()
    bucket_line = next(line for line in raw.splitlines() if "osp-dev-assets" in line)
    assert "\x1b[1;31m+- replace" in bucket_line and "\x1b[1;31mosp-dev-assets" in bucket_line
    db_line = next(line for line in raw.splitlines() if DB in line)
    assert "~ update" in db_line and "\x1b[1;31m" not in db_line
    assert "\x1b[1;31m1 stateful resource would be replaced" in raw


def test_diff_shows_each_changed_property():
    target = console()
    render_changes(target, changes_of_preview(), "dev", diff=True)
    text = text_of(target)
    assert "~ instanceClass: db.t4g.medium → db.t4g.large" in text
    assert "~ bucket: old → new (forces replacement)" in text
    assert "hunter2" not in text


def test_the_summary_has_counts_duration_masked_outputs_and_the_next_command():
    target = console()
    display.render_outcome(target, outcome())
    lines = [line.rstrip() for line in text_of(target).splitlines()]
    assert lines[0] == "✓ Updated dev in 1m15s: 2 created, 10 unchanged."
    assert "(secrets masked; `osp outputs --show-secrets`)" in lines[1]
    assert [line.split() for line in lines[2:4]] == [
        ["dbPassword", "<secret>"], ["vpcId", "vpc-0abc"],
    ]  # fmt: skip
    assert lines[-1] == "Next: osp outputs --env dev"
    assert "hunter2" not in text_of(target)


def test_no_changes_says_so():
    target = console()
    display.render_outcome(
        target,
        RunOutcome(command="destroy", environment="dev", result="no-changes", next_command="x"),
    )
    assert text_of(target).splitlines()[0] == "No changes to dev: nothing to destroy."


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (59.6, "1m00s"), (75, "1m15s"), (3725, "1h02m")]
)
def test_durations(seconds, text):
    assert display.duration(seconds) == text


@pytest.mark.parametrize(
    ("value", "ci"), [(None, False), ("", False), ("false", False), ("true", True), ("1", True)]
)
def test_ci_detection(monkeypatch, value, ci):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert display.in_ci() is ci


def test_the_display_is_plain_in_ci_or_without_a_terminal_and_live_otherwise(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert type(display.reporter(as_json=False, console=console())) is display.PlainReporter
    live = display.reporter(as_json=False, console=console(colour=True))
    assert type(live) is display.LiveReporter
    monkeypatch.setenv("CI", "true")
    assert type(display.reporter(as_json=False, console=console(colour=True))) is (
        display.PlainReporter
    )
    assert type(display.reporter(as_json=True)) is display.JsonReporter
