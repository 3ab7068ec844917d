"""The shipped example of a rollout across machines, .github/workflows/tenant-rollout.yml: a
manually started GitHub Actions workflow whose matrix runs one `osp tenant rollout --shard I/N`
per job. Checked as data: its trigger and inputs, the OIDC credentials, the concurrency, the
matrix, and the command each job runs — rendered for every job and fed to the rollout's own
shard parser, so the N jobs provably cover every tenant exactly once."""

from __future__ import annotations

import re
import shlex
from collections import Counter

import pytest
import yaml

from osp.platform.tenancy import Shard, Tier, parse_shard
from tests.support import ENVIRONMENTS, REPO

WORKFLOW = REPO / ".github" / "workflows" / "tenant-rollout.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def job(workflow) -> dict:
    assert list(workflow["jobs"]) == ["rollout"]
    return workflow["jobs"]["rollout"]


def trigger(workflow: dict) -> dict:
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True; GitHub reads "on".
    return workflow.get("on", workflow.get(True))


def step(job: dict, uses: str) -> dict:
    found = [s for s in job["steps"] if s.get("uses", "").split("@")[0] == uses]
    assert len(found) == 1, f"expected one step using {uses}"
    return found[0]


def rollout_step(job: dict) -> dict:
    found = [s for s in job["steps"] if "osp tenant rollout" in s.get("run", "")]
    assert len(found) == 1
    return found[0]


def render(text: str, values: dict[str, str]) -> str:
    """`text` with each `${{ expression }}` replaced as GitHub would for `values`; an
    expression the test does not know fails it (so a new one gets checked here too)."""

    def value(match: re.Match) -> str:
        expression = match[1]
        assert expression in values, f"an expression this test does not render: {expression}"
        return values[expression]

    return EXPRESSION.sub(value, text)


def job_values(shard: int, total: int, tier: str = "all", dry_run: bool = False) -> dict:
    return {
        "inputs.env": "staging",
        "matrix.shard": str(shard),
        "strategy.job-total": str(total),
        "inputs.parallel": "4",
        "inputs.max_failures": "5",
        "inputs.tier != 'all' && format('--tier {0}', inputs.tier) || ''": (
            "" if tier == "all" else f"--tier {tier}"
        ),
        "inputs.dry_run && '--dry-run' || ''": "--dry-run" if dry_run else "",
    }


def arguments(command: list[str]) -> dict[str, str | bool]:
    """`--option value` pairs and bare flags of a command line (after `osp tenant rollout`)."""
    assert command[:3] == ["osp", "tenant", "rollout"]
    parsed: dict[str, str | bool] = {}
    rest = command[3:]
    while rest:
        option = rest.pop(0)
        assert option.startswith("--"), f"a stray argument: {option}"
        assert option not in parsed, f"{option} given twice"
        flag = not rest or rest[0].startswith("--")
        parsed[option] = True if flag else rest.pop(0)
    return parsed


# --- the trigger -------------------------------------------------------------------------


def test_it_is_started_by_hand_with_the_environment_and_the_rollout_options(workflow):
    on = trigger(workflow)
    assert list(on) == ["workflow_dispatch"], "a fleet rollout never starts on a push"
    inputs = on["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"env", "tier", "parallel", "max_failures", "dry_run"}
    # The shipped environments are offered, and nothing that has no stack file in the
    # repository; an environment added later is offered once it is added to the options (adding
    # its stack file alone must not fail a test: docs/spec.md's walk-through is just that).
    assert inputs["env"]["type"] == "choice"
    offered = inputs["env"]["options"]
    assert set(ENVIRONMENTS) <= set(offered)
    assert [env for env in offered if not (REPO / "stacks" / f"Pulumi.{env}.yaml").is_file()] == []
    assert inputs["env"]["required"] is True
    assert inputs["tier"]["options"] == ["all", *(tier.value for tier in Tier)]
    assert inputs["tier"]["default"] == "all"
    assert (inputs["parallel"]["type"], inputs["parallel"]["default"]) == ("number", 4)
    assert (inputs["max_failures"]["type"], inputs["max_failures"]["default"]) == ("number", 5)
    assert (inputs["dry_run"]["type"], inputs["dry_run"]["default"]) == ("boolean", False)


def test_one_rollout_per_environment_at_a_time_never_cancelled(workflow):
    assert workflow["concurrency"] == {
        "group": "tenant-rollout-${{ inputs.env }}",
        "cancel-in-progress": False,
    }


# --- credentials -------------------------------------------------------------------------


def test_aws_credentials_come_from_oidc_and_a_role_in_a_variable(workflow, job):
    assert workflow["permissions"] == {"contents": "read", "id-token": "write"}
    credentials = step(job, "aws-actions/configure-aws-credentials")["with"]
    assert credentials["role-to-assume"] == "${{ vars.OSP_ROLLOUT_ROLE_ARN }}"
    assert credentials["aws-region"] == "${{ vars.AWS_REGION }}"
    assert "${{ matrix.shard }}" in credentials["role-session-name"]
    # No stored keys anywhere in the file.
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "secrets." not in text
    assert not re.search(r"aws-(access-key-id|secret-access-key|session-token)", text)
    # The GitHub environment of the same name gates the job (reviewers for prod).
    assert job["environment"] == "${{ inputs.env }}"


def test_each_job_installs_osp_and_the_pulumi_cli_before_the_rollout(job):
    steps = job["steps"]
    order = [s.get("uses", "").split("@")[0] or s["run"].split()[0] for s in steps]
    at = {name: order.index(name) for name in order}
    rollout = steps.index(rollout_step(job))
    assert at["actions/checkout"] < rollout
    install = [i for i, s in enumerate(steps) if "pip install ." in s.get("run", "")]
    pulumi = [i for i, s in enumerate(steps) if "get.pulumi.com" in s.get("run", "")]
    assert len(install) == 1 and install[0] < rollout
    assert len(pulumi) == 1 and pulumi[0] < rollout
    assert at["aws-actions/configure-aws-credentials"] < rollout
    # The CLI version docs/real-runs.md asks for, or newer.
    version = tuple(int(part) for part in job["env"]["PULUMI_VERSION"].split("."))
    assert version >= (3, 181, 0)


# --- the matrix and the command ----------------------------------------------------------


def test_the_matrix_has_each_shard_index_from_1_to_n_exactly_once(job):
    strategy = job["strategy"]
    assert strategy["fail-fast"] is False
    assert list(strategy["matrix"]) == ["shard"], "one job per shard, nothing else multiplied"
    shards = strategy["matrix"]["shard"]
    assert all(type(index) is int for index in shards)
    assert len(shards) >= 2
    assert Counter(shards) == Counter(range(1, len(shards) + 1))


def test_the_command_is_a_rollout_of_the_chosen_environment_in_this_jobs_shard(job):
    command = rollout_step(job)["run"]
    assert command.startswith("osp tenant rollout ")
    assert "--env ${{ inputs.env }}" in command
    assert "--shard ${{ matrix.shard }}/${{ strategy.job-total }}" in command
    assert "--parallel ${{ inputs.parallel }}" in command
    assert "--max-failures ${{ inputs.max_failures }}" in command
    # The step fails the job when the rollout exits non-zero: one command, no shell operator
    # that could swallow its exit code, and no continue-on-error.
    rendered = render(command, job_values(1, 4, tier="pool", dry_run=True))
    assert not re.search(r"[|;&`$<>\n]", rendered), rendered
    assert "continue-on-error" not in rollout_step(job)


def test_the_jobs_together_cover_every_tenant_exactly_once(job):
    shards = job["strategy"]["matrix"]["shard"]
    total = len(shards)  # what strategy.job-total is for a one-dimensional matrix
    commands = [
        arguments(shlex.split(render(rollout_step(job)["run"], job_values(index, total))))
        for index in shards
    ]
    parsed = [parse_shard(command["--shard"]) for command in commands]
    assert sorted(parsed, key=lambda s: s.index) == [Shard(i, total) for i in range(1, total + 1)]
    for command in commands:
        assert command == {
            "--env": "staging",
            "--shard": command["--shard"],
            "--parallel": "4",
            "--max-failures": "5",
        }
    fleet = [f"school-{n:04d}" for n in range(1000)]
    holders = Counter(slug for shard in parsed for slug in fleet if shard.holds(slug))
    assert holders == Counter(fleet)


def test_the_tier_and_dry_run_inputs_become_their_options(job):
    text = rollout_step(job)["run"]
    plain = arguments(shlex.split(render(text, job_values(1, 4))))
    assert "--tier" not in plain and "--dry-run" not in plain
    chosen = arguments(shlex.split(render(text, job_values(1, 4, tier="silo", dry_run=True))))
    assert chosen["--tier"] == "silo"
    assert chosen["--dry-run"] is True
