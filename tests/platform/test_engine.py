"""The offline engine: what it captures, what it synthesises, and that it is deterministic."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import subprocess
import sys
import threading

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.runtime.proto import source_pb2

from osp.platform.engine import offline, runtime
from osp.platform.engine.fake_aws import EXAMPLE_ACCOUNT_ID
from osp.platform.errors import EngineError
from osp.platform.plan import STACK_TYPE
from osp.platform.validation import InvalidArguments
from osp.stacks.estate import build
from tests.support import ENVIRONMENTS, REPO, plan_of, spec_of


class _Box(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("test:index:Box", name, None, opts)
        self.register_outputs({})


def _program(spec):
    """A small program exercising what the engine must capture."""
    box = _Box("box")
    east = aws.Provider("east", region="us-east-1", opts=pulumi.ResourceOptions(parent=box))
    key = aws.kms.Key("key", description="k", opts=pulumi.ResourceOptions(parent=box))
    bucket = aws.s3.Bucket(
        "bucket",
        bucket="osp-test-bucket",
        opts=pulumi.ResourceOptions(
            parent=box,
            protect=True,
            retain_on_delete=True,
            ignore_changes=["tags"],
            delete_before_replace=True,
            depends_on=[key],
        ),
    )
    aws.s3.BucketPolicy(
        "policy",
        bucket=bucket.id,
        policy=bucket.arn.apply(
            lambda arn: json.dumps({"Statement": [{"Resource": f"{arn}/*", "Effect": "Deny"}]})
        ),
        opts=pulumi.ResourceOptions(parent=box),
    )
    aws.secretsmanager.SecretVersion(
        "token",
        secret_id="s",
        secret_string=pulumi.Output.secret("hunter2"),
        opts=pulumi.ResourceOptions(parent=box),
    )
    cert_queue = aws.sqs.Queue(
        "edge", name="osp-edge", opts=pulumi.ResourceOptions(parent=box, provider=east)
    )
    caller = aws.get_caller_identity_output()
    partition = aws.get_partition_output()
    pulumi.export("queueArn", cert_queue.arn)
    pulumi.export("account", caller.account_id)
    pulumi.export("partition", partition.partition)
    pulumi.export("password", pulumi.Output.secret("hunter2"))
    pulumi.export("nested", {"list": [1, 2.5, True], "none": None})


@pytest.fixture(scope="module")
def plan():
    spec = spec_of("dev").model_copy(update={"region": "eu-west-2"})
    return offline.run(spec, _program)


def test_captures_the_stack_components_and_custom_resources(plan):
    by_name = {r.name: r for r in plan.resources}
    assert by_name["osp-dev"].type == STACK_TYPE and by_name["osp-dev"].parent is None
    box = by_name["box"]
    assert not box.custom and box.is_component and box.parent == by_name["osp-dev"].urn
    bucket = by_name["bucket"]
    assert bucket.custom and bucket.parent == box.urn
    assert bucket.urn == "urn:pulumi:dev::osp::test:index:Box$aws:s3/bucket:Bucket::bucket"


def test_captures_options_and_dependencies(plan):
    bucket, key = plan.named("bucket"), plan.named("key")
    assert bucket.options.protect and bucket.options.retain_on_delete
    assert bucket.options.delete_before_replace
    assert bucket.options.ignore_changes == ("tags",)
    assert key.urn in bucket.dependencies
    policy = plan.named("policy")
    assert policy.property_dependencies == {"bucket": (bucket.urn,), "policy": (bucket.urn,)}
    assert not key.options.protect


def test_explicit_providers_and_their_region(plan):
    queue, east = plan.named("edge"), plan.named("east")
    assert east.type == "pulumi:providers:aws"
    assert queue.provider == east.urn
    assert plan.named("bucket").provider is None  # the default provider
    assert plan.outputs["queueArn"] == f"arn:aws:sqs:us-east-1:{EXAMPLE_ACCOUNT_ID}:osp-edge"


def test_synthesised_values_make_documents_complete(plan):
    policy = json.loads(plan.named("policy").inputs["policy"])
    assert policy["Statement"][0]["Resource"] == "arn:aws:s3:::osp-test-bucket/*"


def test_data_sources_answer_from_the_spec(plan):
    assert plan.outputs["account"] == EXAMPLE_ACCOUNT_ID
    assert plan.outputs["partition"] == "aws"
    pinned = spec_of("dev").model_copy(update={"account_id": "210987654321"})
    assert offline.run(pinned, _program).outputs["account"] == "210987654321"


def test_secrets_never_appear(plan):
    text = plan.dumps()
    assert "hunter2" not in text
    assert plan.named("token").inputs["secretString"] == "<secret>"
    assert plan.outputs["password"] == "<secret>"


def test_plain_values_survive_the_wire(plan):
    assert plan.outputs["nested"] == {"list": [1, 2.5, True], "none": None}


def test_a_data_source_without_an_answer_is_named():
    def program(spec):
        pulumi.export("vpc", aws.ec2.get_vpc_output(default=True).id)

    with pytest.raises(EngineError, match="no answer for the data source aws:ec2/getVpc:getVpc"):
        offline.run(spec_of("dev"), program)


def test_a_failing_program_is_an_engine_error_without_traceback():
    def program(spec):
        raise ValueError("zones exhausted")

    with pytest.raises(EngineError) as caught:
        offline.run(spec_of("dev"), program)
    assert str(caught.value) == (
        "the dev program failed under the offline engine: ValueError: zones exhausted "
        "(set OSP_DEBUG=1 for the traceback)"
    )


def test_a_user_error_raised_while_an_input_resolves_comes_out_as_itself():
    """The SDK re-wraps a ValueError raised while it resolves an input; osp's user errors are
    no ValueErrors, so they reach the CLI as themselves on every run."""

    def refuse(vpc_id: str) -> str:
        raise InvalidArguments([f"Subnets s: vpc_id: got {vpc_id!r}; expected a VPC of ours"])

    def program(spec):
        vpc = aws.ec2.Vpc("v", cidr_block="10.0.0.0/16")
        aws.ec2.Subnet("s", vpc_id=vpc.id.apply(refuse), cidr_block="10.0.0.0/24")

    for _ in range(3):
        with pytest.raises(InvalidArguments, match="Subnets s: vpc_id: got 'vpc-"):
            offline.run(spec_of("dev"), program)


def test_invalid_arguments_are_not_value_errors():
    assert not issubclass(InvalidArguments, ValueError)


def test_failed_runs_leave_no_orphaned_tracebacks():
    """Outputs downstream of a failure hold its exception; when they are collected, asyncio
    must not print a traceback for each (it did, ~190 lines for tests/components/test_dns.py,
    whose refusals fail deep inside resource inputs) after the EngineError has said it once."""
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/components/test_dns.py"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]
    assert "never retrieved" not in run.stdout + run.stderr


PAIRS = [(e, b) for e in ENVIRONMENTS for b in (None, "learning-hub", "learning-platform")]


@pytest.fixture(scope="module")
def fresh_runs():
    """One fresh run of the estate for each environment and blueprint, one after another, with
    the SDK as it ships (no `offline_runtime()` tuning): each but the first right after a run
    of another, and each to be compared with the cached plan, made with the tuning."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(offline, "offline_runtime", contextlib.nullcontext)
        return {pair: offline.run(spec_of(*pair), build) for pair in PAIRS}


@pytest.mark.parametrize("pair", PAIRS, ids=[f"{e}-{b or 'osp'}" for e, b in PAIRS])
def test_the_same_spec_gives_byte_identical_json_with_and_without_the_tuning(pair, fresh_runs):
    # The cached plan (tests.support) was computed in another run, at another moment.
    assert fresh_runs[pair].dumps() == plan_of(*pair).dumps()


def test_runs_are_independent(fresh_runs):
    # A run after another of a different environment sees none of the first one's resources.
    for (environment, blueprint), plan in fresh_runs.items():
        assert plan.custom_count > (300 if blueprint else 400)
        assert all(f":{environment}::" in r.urn for r in plan.resources), environment


def _process_state():
    return (
        gc.get_threshold(),
        gc.get_freeze_count(),
        gc.isenabled(),
        [r.original() for r in runtime.REPLACEMENTS],
    )


def test_the_sdk_functions_the_offline_run_replaces_are_the_ones_it_was_written_for():
    """An SDK upgrade that renames or changes one of them makes the offline run fall back to
    the SDK's own (correct, slower): re-read it (engine/runtime.py), then update the
    replacement and SDK_WAIT_FOR_RPCS_SHA256."""
    from importlib.metadata import version

    installed = version("pulumi")
    for replacement in runtime.REPLACEMENTS:
        sdk = replacement.original()
        where = f"{replacement.module.__name__}.{replacement.name}"
        assert sdk is not None, f"{where} is gone from the Pulumi SDK"
        if installed != runtime.SDK_VERSION_READ:
            # A newer SDK within the pinned range must not turn CI red on its release day:
            # the run falls back to the SDK's own function (plans identical, slower), and
            # this says so where the test report lists skips.
            pytest.skip(
                f"pulumi {installed}: the replacements were written against "
                f"{runtime.SDK_VERSION_READ}; re-read {where} and update engine/runtime.py"
            )
        assert replacement.applies(sdk), f"{where} changed in the Pulumi SDK"


@pytest.mark.parametrize("fails", [False, True], ids=["returns", "raises"])
def test_a_run_tunes_the_process_and_puts_it_back(fails):
    before = _process_state()
    during = []

    def program(spec):
        during.append(_process_state())
        _program(spec)
        if fails:
            raise ValueError("zones exhausted")

    with contextlib.nullcontext() if not fails else pytest.raises(EngineError):
        offline.run(spec_of("dev"), program)
    ((thresholds, frozen, enabled, functions),) = during
    assert thresholds[2] == runtime.OLDEST_THRESHOLD and frozen > 0 and enabled
    assert all(ours is not sdk for ours, sdk in zip(functions, before[3], strict=True))
    assert _process_state() == before


def test_nested_and_concurrent_runs_put_back_only_when_the_last_ends():
    before = _process_state()

    def tuned(state):
        thresholds, _, _, functions = state
        return thresholds[2] == runtime.OLDEST_THRESHOLD and all(
            ours is not sdk for ours, sdk in zip(functions, before[3], strict=True)
        )

    with runtime.offline_runtime():
        with runtime.offline_runtime():
            pass
        assert tuned(_process_state())
    assert _process_state() == before

    # Two threads whose runs overlap: the first to end must not undo the other's.
    entered, first_left = threading.Event(), threading.Event()
    seen = []

    def second():
        with runtime.offline_runtime():
            entered.set()
            first_left.wait(10)
            seen.append(_process_state())

    thread = threading.Thread(target=second)
    with runtime.offline_runtime():
        thread.start()
        entered.wait(10)
    first_left.set()
    thread.join(10)
    assert len(seen) == 1 and tuned(seen[0])
    assert _process_state() == before


def test_outside_an_offline_run_the_replacements_are_the_sdks_own():
    """Installed while any offline run is in progress, but a real Pulumi program in another
    thread (or anything outside `offline_runtime()`) gets the SDK's behaviour."""
    trace = runtime._make_get_stack_trace(lambda: "the sdk's")
    assert trace() == "the sdk's"
    outside = []
    with runtime.offline_runtime():
        assert trace() == source_pb2.StackTrace()
        thread = threading.Thread(target=lambda: outside.append(trace()))
        thread.start()
        thread.join(10)
    assert outside == ["the sdk's"]

    calls = []

    async def sdk_wait(await_all_outstanding_tasks=True):
        calls.append(await_all_outstanding_tasks)

    asyncio.run(runtime._make_wait_for_rpcs(sdk_wait)(False))
    assert calls == [False]

    transferred = []
    transfer = runtime._make_transfer_properties(lambda *args: transferred.append(args) or {})
    assert transfer("resource", {"arn": None}, True) == {}
    assert transferred == [("resource", {"arn": None}, True)]


class _Resource:
    """What `transfer_properties` needs of a resource: a `__dict__` and identity."""


_RESOLUTIONS = {
    "known": ("arn:aws:s3:::b", True, False, None, None),
    "secret, with dependencies": ("hunter2", True, True, {"dependency"}, None),
    "unknown": (None, False, False, set(), None),
    "failed": (None, False, False, None, ValueError("refused")),
}


@pytest.mark.parametrize("call", _RESOLUTIONS.values(), ids=_RESOLUTIONS)
def test_the_outputs_the_offline_run_gives_a_resource_are_the_sdks(call):
    """One future per property instead of the SDK's four and a task: the same Output data
    (value, known, secret, dependencies) or the same failure, for the same resolver call."""
    replacement = next(r for r in runtime.REPLACEMENTS if r.name == "transfer_properties")
    sdk = replacement.original()
    if not runtime._applies(replacement, sdk):
        pytest.skip("not installed over this SDK's transfer_properties: the SDK's own runs")
    ours = replacement.make(sdk)

    async def resolved(transfer):
        resource = _Resource()
        resolvers = transfer(resource, {"id": None, "urn": None, "arn": None}, True)
        assert set(resolvers) == {"arn"} and set(vars(resource)) == {"arn"}
        resolvers["arn"](*call)
        output = vars(resource)["arn"]
        try:
            data = await output._data
        except ValueError as failure:
            return ("failed", str(failure))
        finally:
            # A failed Output stays tracked for the program's end: this program ends here.
            pulumi.runtime.settings.SETTINGS.outputs.discard(output._data)
        resources = {"<the resource>" if r is resource else r for r in data.resources}
        return (data.value, data.is_known, data.is_secret, resources)

    async def both():
        with runtime.offline_runtime():
            return await resolved(sdk), await resolved(ours)

    from_sdk, from_ours = asyncio.run(both())
    assert from_ours == from_sdk


def test_a_failing_output_is_reported_while_others_still_wait():
    """Waiting on every output at once still wakes at the first failure, as the SDK does."""

    async def scenario():
        loop = asyncio.get_running_loop()
        never, failing = loop.create_future(), loop.create_future()
        loop.call_soon(failing.set_exception, ValueError("refused"))
        await asyncio.wait_for(runtime._until_all_done_or_one_fails([never, failing]), 5)
        assert not never.done() and failing.done()
        never.cancel()
        failing.exception()

    asyncio.run(scenario())


def test_on_register_counts_each_registration_and_leaves_the_plan_as_it_was():
    counts: list[int] = []
    watched = offline.run(spec_of("dev"), _program, on_register=counts.append)
    unwatched = offline.run(spec_of("dev"), _program)
    assert watched.dumps() == unwatched.dumps()
    assert counts == list(range(1, len(watched.resources) + 1))
