"""What keeps a real run from doing harm: confirmation, stack locks, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime

import pytest

from osp.platform.automation import confirmation, locks
from osp.platform.automation.interrupt import Interrupts, Stop
from tests.support import spec_of

# --- confirmation --------------------------------------------------------------------------


def test_up_asks_y_n_outside_prod():
    question = confirmation.for_update(spec_of("dev"), yes=False, interactive=True)
    assert question is not None and question.expected is None
    assert question.prompt == "Deploy these changes to dev? [y/N] "
    for answer, accepted in [("y", True), ("YES", True), (" y ", True), ("", False),
                             ("n", False), ("dev", False), (None, False)]:  # fmt: skip
        assert question.accepts(answer) is accepted, answer


def test_up_in_prod_needs_the_environment_name_typed():
    question = confirmation.for_update(spec_of("prod"), yes=False, interactive=True)
    assert question is not None and question.expected == "prod"
    assert question.prompt == (
        "Deploy these changes to prod? Type the environment's name (prod) to confirm: "
    )
    assert question.accepts("prod") and question.accepts("prod\n")
    for answer in ("y", "yes", "Prod", "PROD", "staging", ""):
        assert not question.accepts(answer), answer


def test_staging_is_not_prod():
    question = confirmation.for_update(spec_of("staging"), yes=False, interactive=True)
    assert question is not None and question.expected is None


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_yes_skips_the_question_of_up(environment):
    assert confirmation.for_update(spec_of(environment), yes=True, interactive=False) is None


def test_up_without_a_terminal_and_without_yes_is_refused():
    with pytest.raises(confirmation.ConfirmationError) as caught:
        confirmation.for_update(spec_of("dev"), yes=False, interactive=False)
    assert str(caught.value) == (
        "refusing to update dev without confirmation: there is no terminal to ask on (stdin "
        "is not a TTY); pass --yes to deploy without asking"
    )
    assert caught.value.exit_code == 1


def test_destroy_outside_prod_asks_or_takes_yes():
    question = confirmation.for_destroy(
        spec_of("dev"), yes=False, allow_prod=False, interactive=True
    )
    assert question is not None and question.prompt == "Destroy every resource of dev? [y/N] "
    assert (
        confirmation.for_destroy(spec_of("dev"), yes=True, allow_prod=False, interactive=False)
        is None
    )
    with pytest.raises(confirmation.ConfirmationError, match="pass --yes to destroy"):
        confirmation.for_destroy(spec_of("dev"), yes=False, allow_prod=False, interactive=False)


@pytest.mark.parametrize("yes", [False, True])
@pytest.mark.parametrize("interactive", [False, True])
def test_destroying_prod_is_refused_without_allow_prod(yes, interactive):
    with pytest.raises(confirmation.ConfirmationError) as caught:
        confirmation.for_destroy(
            spec_of("prod"), yes=yes, allow_prod=False, interactive=interactive
        )
    assert str(caught.value) == (
        "refusing to destroy prod: it is a prod environment (profile prod). If you really mean "
        "it, pass --allow-prod and type the environment's name when asked"
    )


@pytest.mark.parametrize("yes", [False, True])
def test_destroying_prod_always_needs_the_typed_name(yes):
    question = confirmation.for_destroy(spec_of("prod"), yes=yes, allow_prod=True, interactive=True)
    assert question is not None and question.expected == "prod"
    with pytest.raises(confirmation.ConfirmationError, match="--yes is not enough"):
        confirmation.for_destroy(spec_of("prod"), yes=yes, allow_prod=True, interactive=False)


# --- locks ---------------------------------------------------------------------------------

CONFLICT = (
    "\n code: 255\n stdout: \n stderr: error: the stack is currently locked by 2 lock(s). Either "
    "wait for the other process(es) to end or delete the lock file with `pulumi cancel`.\n"
    "  file:///home/al/.osp/state/.pulumi/locks/organization/osp/prod/6f1.json: created by "
    "alice@ci-7 (pid 4242) at 2025-03-01T09:12:44Z\n"
    "  file:///home/al/.osp/state/.pulumi/locks/organization/osp/prod/7a2.json: created by "
    "DOMAIN\\bob@laptop@corp (pid 17) at 2025-03-01T10:00:00+01:00\n"
)


def test_the_holders_of_a_lock_conflict_are_read_from_pulumis_message():
    first, second = locks.parse_conflict(CONFLICT)
    assert (first.username, first.hostname, first.pid) == ("alice", "ci-7", 4242)
    assert first.since == datetime(2025, 3, 1, 9, 12, 44, tzinfo=UTC)
    assert first.where.endswith("/organization/osp/prod/6f1.json")
    # The host is what follows the last "@".
    assert (second.username, second.hostname, second.pid) == ("DOMAIN\\bob@laptop", "corp", 17)
    now = datetime(2025, 3, 1, 9, 54, 44, tzinfo=UTC)
    assert (
        first.describe(now)
        == "alice@ci-7 (pid 4242) since 2025-03-01 09:12:44 UTC (42 minutes ago)"
    )
    assert second.describe(now) == (
        "DOMAIN\\bob@laptop@corp (pid 17) since 2025-03-01 09:00:00 UTC (54 minutes ago)"
    )


def test_pulumi_cloud_conflicts_name_nobody():
    assert locks.parse_conflict("[409] Conflict: Another update is currently in progress.") == []


def test_the_locked_error_exits_4_and_says_who_since_when_and_how_to_recover():
    holders = locks.parse_conflict(CONFLICT)[:1]
    error = locks.StackLockedError("prod", holders, "`pulumi cancel --stack prod`")
    assert error.exit_code == 4
    message = str(error)
    assert message.startswith(
        "the prod stack is locked by another update: alice@ci-7 (pid 4242) since "
        "2025-03-01 09:12:44 UTC ("
    )
    assert message.endswith(
        "Wait for it to finish and run the command again. If no update is running any more "
        "(the process was killed), remove the lock with `pulumi cancel --stack prod`, then run "
        "`osp refresh --env prod`."
    )
    assert str(locks.StackLockedError("prod", [], "x")).startswith(
        "the prod stack is locked by another update in progress."
    )


def lock_file(root, relative: str, **content) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))


def test_lock_files_of_a_file_backend_are_found_per_stack(tmp_path):
    stamp = "2025-03-01T09:12:44.123456789Z"
    lock_file(tmp_path, ".pulumi/locks/organization/osp/prod/a.json",
              pid=1, username="al", hostname="h", timestamp=stamp)  # fmt: skip
    lock_file(tmp_path, ".pulumi/locks/dev/b.json",
              pid=2, username="bo", hostname="h", timestamp=stamp)  # fmt: skip
    lock_file(tmp_path, ".pulumi/locks/organization/other/prod/c.json", pid=3)
    (tmp_path / ".pulumi/locks/organization/osp/prod/junk.json").write_text("{not json")

    prod = locks.read_lock_files(tmp_path, "osp", "prod")
    assert sorted((h.username, h.pid) for h in prod) == [("al", 1), ("unknown", None)]
    assert prod[0].since == datetime(2025, 3, 1, 9, 12, 44, 123456, tzinfo=UTC)
    assert [h.pid for h in locks.read_lock_files(tmp_path, "osp", "dev")] == [2]
    assert locks.read_lock_files(tmp_path, "osp", "staging") == []
    assert len(locks.read_lock_files(tmp_path, "osp", None)) == 4
    assert locks.read_lock_files(tmp_path / "nothing", "osp", "prod") == []


# --- Ctrl-C --------------------------------------------------------------------------------


class Engine:
    """Stands in for the running pulumi processes."""

    def __init__(self, running: int = 1) -> None:
        self.running = running
        self.signals: list[Stop] = []

    def stop(self, kind: Stop) -> int:
        self.signals.append(kind)
        return self.running


def test_first_ctrl_c_is_graceful_the_second_forces_the_third_kills():
    engine, told = Engine(), []
    interrupts = Interrupts(engine.stop, lambda kind, reached: told.append((kind, reached)))
    assert not interrupts.interrupted
    interrupts.press()
    interrupts.press()
    with pytest.raises(KeyboardInterrupt):
        interrupts.press()
    assert engine.signals == [Stop.GRACEFUL, Stop.FORCE, Stop.KILL]
    assert told == [(Stop.GRACEFUL, 1), (Stop.FORCE, 1), (Stop.KILL, 1)]
    assert interrupts.interrupted and interrupts.count == 3 and interrupts.strongest is Stop.KILL


def test_ctrl_c_with_nothing_running_stops_osp_at_once():
    interrupts = Interrupts(Engine(running=0).stop)
    with pytest.raises(KeyboardInterrupt):
        interrupts.press()


def test_sigint_is_routed_to_the_interrupts_only_while_installed():
    engine = Engine()
    interrupts = Interrupts(engine.stop)
    before = signal.getsignal(signal.SIGINT)
    with interrupts.installed():
        os.kill(os.getpid(), signal.SIGINT)  # handled: no KeyboardInterrupt
        assert engine.signals == [Stop.GRACEFUL]
    assert signal.getsignal(signal.SIGINT) is before
