"""`osp doctor`: each check against moto (AWS) and a stand-in `pulumi` (the CLI parts)."""

from __future__ import annotations

import json
import os

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from osp.cli.main import app
from osp.platform import doctor
from osp.platform.automation import backend as backends
from osp.platform.doctor import Status
from osp.platform.project import find_project
from tests.platform.test_automation_layer import standin
from tests.support import shipped_project, spec_of

ACCOUNT = "123456789012"


def plugin(name: str, version: str, kind: str = "resource") -> dict[str, object]:
    return {"name": name, "kind": kind, "version": version, "size": 1,
            "lastUsedTime": "0001-01-01T00:00:00Z"}  # fmt: skip


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """Credentials for moto, a stand-in pulumi with every plugin, an empty osp home."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("OSP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    fake = standin(tmp_path / "cli")
    aws = fake.bin / "aws"
    aws.write_text(
        "#!/bin/sh\necho 'aws-cli/2.17.20 Python/3.11.9 Linux/6.8 exe/x86_64.debian.12'\n"
    )
    aws.chmod(0o755)
    listed = [plugin(n, v) for n, v in doctor.required_plugins().items()]
    fake.answer("plugin ls", stdout=json.dumps([*listed, plugin("python", "3.1", "language")]))
    monkeypatch.setenv("PATH", f"{fake.bin}{os.pathsep}{os.environ['PATH']}")
    # The network is not asked here: tests/platform/test_cluster_access.py checks this one.
    monkeypatch.setattr(
        doctor,
        "cluster_api",
        lambda spec, session, probe: doctor.Check("cluster API", Status.PASS, ""),
    )
    with mock_aws():
        yield fake


def by_name(checks: list[doctor.Check]) -> dict[str, doctor.Check]:
    return {c.name: c for c in checks}


def run(spec=None, **kwargs) -> dict[str, doctor.Check]:
    project = find_project(shipped_project()) if spec is not None else None
    return by_name(doctor.run(project, spec, session=boto3.Session(), **kwargs))


def test_a_ready_machine_passes_every_check(machine, tmp_path):
    checks = run(spec_of("dev"))
    assert list(checks) == [
        "Python", "pulumi CLI", "aws CLI", "AWS credentials", "region", "backend", "secrets",
        "state lock", "plugins", "cluster API",
    ]  # fmt: skip
    assert {c.name: c.status for c in checks.values()} == dict.fromkeys(checks, Status.PASS)
    assert checks["pulumi CLI"].detail == f"v3.190.0 at {machine.path}"
    assert checks["aws CLI"].detail == f"2.17.20 at {machine.bin / 'aws'}"
    assert checks["AWS credentials"].detail.endswith(f"(account {ACCOUNT})")
    assert checks["region"].detail == "us-east-1 (aws:region of dev)"
    assert checks["backend"].detail == (
        f"file://{tmp_path / 'home' / 'state'}: writable (created on the first run)"
    )
    assert checks["state lock"].detail == "no lock held on the dev stack"
    assert checks["plugins"].detail == ", ".join(
        f"{n} {v}" for n, v in sorted(doctor.required_plugins().items())
    )
    assert [c["argv"] for c in machine.calls()] == [["plugin", "ls", "--json"]]
    # Read-only: not even the osp home was created.
    assert not (tmp_path / "home").exists()


def test_the_plugins_are_the_versions_of_the_installed_python_sdks():
    from importlib.metadata import version

    assert doctor.required_plugins() == {
        "aws": version("pulumi_aws"),
        "kubernetes": version("pulumi_kubernetes"),
        "random": version("pulumi_random"),
    }


def test_missing_plugins_fail_with_the_install_commands(machine):
    machine.answer("plugin ls", stdout=json.dumps([plugin("aws", "6.0.0")]))
    check = run(spec_of("dev"))["plugins"]
    wanted = doctor.required_plugins()
    assert check.status is Status.FAIL
    assert check.detail == "missing: " + ", ".join(f"{n} {v}" for n, v in sorted(wanted.items()))
    assert check.fix.startswith(f"pulumi plugin install resource aws {wanted['aws']} && ")


def test_without_the_cli_its_check_fails_and_plugins_are_skipped(machine, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    checks = run(spec_of("dev"))
    assert checks["pulumi CLI"].status is Status.FAIL
    assert checks["pulumi CLI"].detail == "not installed (no `pulumi` on PATH)"
    assert "curl -fsSL https://get.pulumi.com | sh" in checks["pulumi CLI"].fix
    assert "--offline" in checks["pulumi CLI"].fix
    assert checks["plugins"].status is Status.SKIP
    assert not doctor.healthy(list(checks.values()))


def test_an_old_python_fails():
    assert doctor.python((3, 10, 9)).status is Status.FAIL
    assert doctor.python((3, 12, 1)) == doctor.Check("Python", Status.PASS, "3.12.1")


def test_credentials_for_another_account_fail(machine):
    spec = spec_of("dev").model_copy(update={"account_id": "210987654321"})
    check = run(spec)["AWS credentials"]
    assert check.status is Status.FAIL
    assert f"account {ACCOUNT}, but dev's osp:account_id is 210987654321" in check.detail
    assert check.fix == "use credentials for account 210987654321 (AWS_PROFILE=…)"


def test_no_credentials_fail_with_the_fix(machine, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    check = run(spec_of("dev"))["AWS credentials"]
    assert (check.status, check.detail) == (Status.FAIL, "no credentials found")
    assert "aws sso login" in check.fix


def test_the_region_comes_from_aws_config_without_an_environment(machine, monkeypatch):
    assert run()["region"].detail == "us-east-1 (AWS configuration)"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    check = run()["region"]
    assert (
        check.status is Status.FAIL and check.fix == "run `osp doctor --env ENV`, or set AWS_REGION"
    )


def s3_spec(bucket: str = "team-state"):
    return spec_of("dev").model_copy(
        update={
            "backend": f"s3://{bucket}?region=us-east-1",
            "secrets_provider": "awskms://alias/osp-pulumi-secrets?region=us-east-1",
        }
    )


def test_an_s3_backend_is_reached_with_head_bucket(machine):
    missing = run(s3_spec())
    assert missing["backend"].status is Status.FAIL
    assert missing["backend"].detail == "s3://team-state?region=us-east-1: no such bucket"
    assert missing["backend"].fix == "osp bootstrap --region us-east-1"
    assert missing["state lock"].status is Status.SKIP
    boto3.client("s3").create_bucket(Bucket="team-state")
    assert run(s3_spec())["backend"].status is Status.PASS


def test_a_kms_secrets_provider_needs_its_key(machine):
    boto3.client("s3").create_bucket(Bucket="team-state")
    assert run(s3_spec())["secrets"].status is Status.FAIL
    kms = boto3.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/osp-pulumi-secrets", TargetKeyId=key)
    assert run(s3_spec())["secrets"].detail.endswith("key enabled")
    kms.disable_key(KeyId=key)
    assert run(s3_spec())["secrets"].detail.endswith("key is Disabled")


def test_a_lock_in_an_s3_backend_fails_the_lock_check(machine):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="team-state")
    s3.put_object(
        Bucket="team-state",
        Key=".pulumi/locks/organization/osp/dev/1.json",
        Body=json.dumps(
            {"pid": 9, "username": "ci", "hostname": "runner", "timestamp": "2025-03-01T09:12:44Z"}
        ),
    )
    s3.put_object(Bucket="team-state", Key=".pulumi/locks/organization/osp/prod/2.json", Body="{}")
    check = run(s3_spec())["state lock"]
    assert check.status is Status.FAIL
    assert check.detail.startswith(
        "the dev stack is locked by ci@runner (pid 9) since 2025-03-01 09:12:44 UTC"
    )
    assert "pulumi cancel --yes --stack dev" in check.fix


def test_a_lock_in_the_local_backend_fails_the_lock_check(machine, tmp_path):
    locks = tmp_path / "home" / "state" / ".pulumi" / "locks" / "organization" / "osp" / "dev"
    locks.mkdir(parents=True)
    (locks / "1.json").write_text(json.dumps({"pid": 5, "username": "al", "hostname": "h"}))
    assert run(spec_of("dev"))["state lock"].detail == "the dev stack is locked by al@h (pid 5)"
    assert run(spec_of("staging"))["state lock"].status is Status.PASS


def test_a_readable_passphrase_file_fails(machine, tmp_path):
    backends.for_spec(spec_of("dev"))  # a real run generates it
    assert run(spec_of("dev"))["secrets"].detail.endswith("(0600)")
    (tmp_path / "home" / "passphrase").chmod(0o644)
    check = run(spec_of("dev"))["secrets"]
    assert (
        check.status is Status.FAIL and check.fix == f"chmod 600 {tmp_path / 'home' / 'passphrase'}"
    )


runner = CliRunner()


def test_the_command_exits_0_when_everything_passes(machine):
    result = runner.invoke(app, ["doctor", "--env", "dev", "--project-dir", str(shipped_project())])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("✓ pass") == 10 and "✗ fail" not in result.stdout
    assert result.stdout.splitlines()[-1] == "all 10 checks passed"


def test_the_command_exits_1_when_a_check_fails(machine, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "✗ fail" in result.stdout and "pulumi CLI" in result.stdout


# --- telling look-alike failures apart, the summary and --json ------------------------------


class _Session:
    """A boto3 session whose STS answers with `error`."""

    region_name = "us-east-1"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def client(self, service, **options):
        def fail():
            raise self.error

        return type("Client", (), {"get_caller_identity": staticmethod(fail)})()


def test_an_unreachable_endpoint_is_not_missing_credentials():
    from botocore.exceptions import EndpointConnectionError

    error = EndpointConnectionError(endpoint_url="https://sts.us-east-1.amazonaws.com/")
    check = doctor.credentials(_Session(error), None, "us-east-1")
    assert check.status is Status.FAIL
    assert check.detail.startswith("cannot reach the STS endpoint (")
    assert "the credentials were not checked" in check.detail
    assert "HTTPS_PROXY" in check.fix and "aws configure" not in check.fix


def test_rejected_credentials_say_so():
    from botocore.exceptions import ClientError

    error = ClientError(
        {"Error": {"Code": "ExpiredToken", "Message": "expired"}}, "GetCallerIdentity"
    )
    check = doctor.credentials(_Session(error), None, "us-east-1")
    assert check.detail == "credentials rejected by STS (ExpiredToken)"
    assert check.fix.startswith("renew or replace them")


def test_an_old_pulumi_is_to_be_upgraded_not_installed(machine, tmp_path, monkeypatch):
    old = standin(tmp_path / "old", "v3.150.2")
    monkeypatch.setenv("PATH", str(old.bin))
    check, cli = doctor.pulumi()
    assert cli is None and check.status is Status.FAIL
    assert check.fix.startswith("upgrade it to 3.181.0 or newer")
    assert "brew upgrade pulumi" in check.fix and "install it" not in check.fix


def test_a_missing_pulumi_is_to_be_installed(machine, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    check, _ = doctor.pulumi()
    assert check.fix.startswith("install it with")


def test_the_aws_cli_missing_or_v1_fails(tmp_path):
    missing = doctor.aws_cli(path_env=str(tmp_path))
    assert (missing.status, missing.detail) == (Status.FAIL, "not installed (no `aws` on PATH)")
    assert "aws eks get-token" in missing.fix
    aws = tmp_path / "aws"
    aws.write_text("#!/bin/sh\necho 'aws-cli/1.32.0 Python/3.11 Linux/6 botocore/1.34' >&2\n")
    aws.chmod(0o755)
    v1 = doctor.aws_cli(path_env=str(tmp_path))
    assert v1.status is Status.FAIL and v1.detail.startswith("aws-cli 1.32.0 at ")
    assert v1.fix.startswith("upgrade to the AWS CLI v2")


@pytest.mark.parametrize(
    ("statuses", "line"),
    [
        ("pp", "all 2 checks passed"),
        ("pfpfp", "2 of 5 checks failed"),
        ("pfs", "1 of 3 checks failed, 1 skipped"),
        ("pps", "2 of 3 checks passed, 1 skipped"),
    ],
)
def test_the_summary_line(statuses, line):
    status = {"p": Status.PASS, "f": Status.FAIL, "s": Status.SKIP}
    checks = [doctor.Check(str(i), status[s], "") for i, s in enumerate(statuses)]
    assert doctor.summary(checks) == line


def test_the_command_ends_with_the_summary_and_json_says_the_same(machine, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # neither pulumi nor aws
    result = runner.invoke(app, ["doctor", "--env", "dev", "--project-dir", str(shipped_project())])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "2 of 10 checks failed, 1 skipped"
    as_json = runner.invoke(
        app, ["doctor", "--env", "dev", "--json", "--project-dir", str(shipped_project())]
    )
    assert as_json.exit_code == 1
    body = json.loads(as_json.stdout)
    assert body["healthy"] is False and body["summary"] == "2 of 10 checks failed, 1 skipped"
    failed = [c["name"] for c in body["checks"] if c["status"] == "fail"]
    assert failed == ["pulumi CLI", "aws CLI"]
    assert set(body["checks"][0]) == {"name", "status", "detail", "fix"}
    assert not (tmp_path / "home").exists()
