"""Reaching the cluster's API: the spec keys per profile, what the plans declare for each
mode, `osp doctor`'s check and `osp up`'s refusal before anything is touched."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws
from typer.testing import CliRunner

from osp.cli.main import app
from osp.platform import cluster_access, doctor
from osp.platform.cluster_access import Connection, Verdict
from osp.platform.doctor import Status
from osp.platform.project import find_project
from osp.platform.spec import load_environment
from osp.platform.spec.loader import SpecError
from osp.platform.spec.models import ApiAccess
from tests.support import ENVIRONMENTS, estate_plan, plan_of, project_copy, spec_of

OFFICE = "203.0.113.0/28"
MINE = IPv4Address("203.0.113.7")
ELSEWHERE = IPv4Address("198.51.100.20")
HOME_LAN = IPv4Address("192.168.1.10")
ANSWERS = Connection(("203.0.113.200",))


class StubProbe:
    """Where a test machine stands: its public address, its address toward the VPC, and what
    a connect to the endpoint finds. Records each question."""

    def __init__(
        self,
        public: IPv4Address | None = MINE,
        local: IPv4Address | None = HOME_LAN,
        connection: Connection = ANSWERS,
    ) -> None:
        self.public, self.local, self.connection = public, local, connection
        self.asked: list[tuple] = []

    def public_address(self):
        self.asked.append(("public",))
        return self.public

    def local_address_toward(self, address):
        self.asked.append(("local", str(address)))
        return self.local

    def connect(self, host, port):
        self.asked.append(("connect", host, port))
        return self.connection


def edited(tmp_path: Path, environment: str, cluster: dict) -> Path:
    """A project whose `environment` stack file has `cluster` merged into osp:cluster."""
    root = project_copy(tmp_path)
    path = root / "stacks" / f"Pulumi.{environment}.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["osp:cluster"].update(cluster)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return root


def spec_with(tmp_path: Path, environment: str, **cluster):
    return load_environment(find_project(edited(tmp_path, environment, cluster)), environment)


# --- the spec -------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_profile_defaults_to_the_restricted_public_endpoint_with_no_network_named(
    environment,
):
    cluster = spec_of(environment).cluster
    assert cluster.api_access is ApiAccess.PUBLIC_RESTRICTED
    assert cluster.api_allowed_cidrs == ()


@pytest.mark.parametrize(
    ("environment", "cluster", "message"),
    [
        ("prod", {"api_allowed_cidrs": ["203.0.113.0/20"]},
         "osp:cluster.api_allowed_cidrs[0]: got '203.0.113.0/20'; expected an IPv4 CIDR block "
         "with no host bits set"),
        ("prod", {"api_allowed_cidrs": ["198.51.0.0/16"]},
         "osp:cluster.api_allowed_cidrs: got '198.51.0.0/16'; "
         "expected a block of /24 or narrower in a prod environment (an office range or a CI "
         "runner's NAT address, such as 203.0.113.7/32)"),
        ("dev", {"api_allowed_cidrs": ["10.99.0.0/16"]},
         "osp:cluster.api_allowed_cidrs: got '10.99.0.0/16'; expected "
         "public addresses with api_access public-restricted (the public endpoint never sees a "
         "private one); to admit a private network to the private endpoint set api_access: "
         "private"),
        ("staging", {"api_access": "private", "api_allowed_cidrs": ["198.51.100.0/24"]},
         "osp:cluster.api_allowed_cidrs: got '198.51.100.0/24'; "
         "expected private networks (RFC 1918) with api_access private"),
        ("dev", {"api_allowed_cidrs": ["0.0.0.0/0"]},
         "osp:cluster.api_allowed_cidrs: got ['0.0.0.0/0']; expected the networks that may "
         "reach the API (such as 203.0.113.7/32), not the whole internet"),
        ("prod", {"api_allowed_cidrs": ["::/0"]}, "osp:cluster.api_allowed_cidrs[0]: got '::/0'"),
        ("prod", {"api_access": "public"},
         "osp:cluster.api_access: got 'public'; expected one of 'public-restricted', 'private'"),
        ("dev", {"public_access_cidrs": ["203.0.113.0/24"]},
         "osp:cluster: public_access_cidrs is now api_allowed_cidrs (with api_access: "
         "public-restricted, the default); rename the key"),
    ],
)  # fmt: skip
def test_refused_api_access_names_the_file_the_key_and_the_value(
    tmp_path, environment, cluster, message
):
    with pytest.raises(SpecError) as caught:
        spec_with(tmp_path, environment, **cluster)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"stacks/Pulumi.{environment}.yaml")


def test_a_narrow_public_block_is_accepted_in_prod(tmp_path):
    spec = spec_with(tmp_path, "prod", api_allowed_cidrs=["203.0.113.7/32", OFFICE])
    assert cluster_access.public_networks(spec) == (
        IPv4Network("203.0.113.7/32"),
        IPv4Network(OFFICE),
    )
    assert cluster_access.deployer_networks(spec) == ()


def test_private_access_admits_the_private_subnets_then_the_named_networks(tmp_path):
    spec = spec_with(tmp_path, "prod", api_access="private", api_allowed_cidrs=["172.16.0.0/16"])
    assert cluster_access.public_networks(spec) == ()
    assert cluster_access.deployer_networks(spec) == (
        spec.network.subnets.private.cidr,
        IPv4Network("172.16.0.0/16"),
    )


# --- what the plans declare ----------------------------------------------------------------


def _vpc_config(plan) -> dict:
    (cluster,) = [r for r in plan.resources if r.type == "aws:eks/cluster:Cluster"]
    return cluster.inputs["vpcConfig"]


def _api_rules(plan) -> dict[str, dict]:
    return {
        r.name: r.inputs
        for r in plan.resources
        if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
        and "-cluster-from-" in r.name
        and r.name.endswith("-https")
        and r.inputs.get("cidrIpv4")
    }


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_shipped_environments_keep_the_endpoint_private_until_a_network_is_named(
    environment,
):
    plan = plan_of(environment)
    vpc = _vpc_config(plan)
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc
    assert _api_rules(plan) == {}


def test_named_public_blocks_open_the_public_endpoint_to_them_only(tmp_path):
    spec = spec_with(tmp_path, "prod", api_allowed_cidrs=["203.0.113.7/32"])
    vpc = _vpc_config(estate_plan(spec))
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == ["203.0.113.7/32"]


def test_private_access_admits_the_deployer_networks_on_443_of_the_cluster_group(tmp_path):
    spec = spec_with(tmp_path, "staging", api_access="private", api_allowed_cidrs=["172.16.0.0/16"])
    plan = estate_plan(spec)
    vpc = _vpc_config(plan)
    assert vpc["endpointPublicAccess"] is False
    private = str(spec.network.subnets.private.cidr)
    slug = private.replace(".", "-").replace("/", "-")
    rules = _api_rules(plan)
    assert sorted(rules) == sorted(
        [
            f"osp-staging-eks-cluster-from-{slug}-https",
            "osp-staging-eks-cluster-from-172-16-0-0-16-https",
        ]
    )
    for inputs in rules.values():
        assert (inputs["ipProtocol"], inputs["fromPort"], inputs["toPort"]) == ("tcp", 443, 443)
    assert {i["cidrIpv4"] for i in rules.values()} == {private, "172.16.0.0/16"}


# --- the verdict from here ------------------------------------------------------------------


def test_no_network_named_is_unreachable_and_says_which_address_to_add():
    reach = cluster_access.from_here(spec_of("prod"), StubProbe())
    assert reach.verdict is Verdict.UNREACHABLE
    assert "osp:cluster.api_allowed_cidrs in stacks/Pulumi.prod.yaml names no network" in (
        reach.detail
    )
    assert reach.fix.startswith(
        "add 203.0.113.7/32 to osp:cluster.api_allowed_cidrs in stacks/Pulumi.prod.yaml"
    )


def test_a_listed_public_address_is_reachable(tmp_path):
    spec = spec_with(tmp_path, "prod", api_allowed_cidrs=[OFFICE])
    reach = cluster_access.from_here(spec, StubProbe())
    assert reach.verdict is Verdict.REACHABLE
    assert reach.detail == (
        f"this machine reaches the internet as {MINE}, inside {OFFICE} of api_allowed_cidrs"
    )


def test_an_unlisted_public_address_is_unreachable_with_the_fix(tmp_path):
    spec = spec_with(tmp_path, "prod", api_allowed_cidrs=[OFFICE])
    reach = cluster_access.from_here(spec, StubProbe(public=ELSEWHERE))
    assert reach.verdict is Verdict.UNREACHABLE
    assert f"as {ELSEWHERE}, which is not in osp:cluster.api_allowed_cidrs" in reach.detail
    assert reach.fix.startswith(f"add {ELSEWHERE}/32 to osp:cluster.api_allowed_cidrs")


def test_an_unknown_public_address_is_unknown_not_reachable(tmp_path):
    spec = spec_with(tmp_path, "prod", api_allowed_cidrs=[OFFICE])
    reach = cluster_access.from_here(spec, StubProbe(public=None))
    assert reach.verdict is Verdict.UNKNOWN
    assert "--skip-api-check" in reach.fix


def test_private_access_from_inside_the_private_subnets_is_reachable(tmp_path):
    spec = spec_with(tmp_path, "prod", api_access="private")
    inside = spec.network.subnets.private.cidr.network_address + 37
    probe = StubProbe(local=inside)
    reach = cluster_access.from_here(spec, probe)
    assert reach.verdict is Verdict.REACHABLE
    # It asked for the route toward the VPC's resolver, and never the internet.
    assert probe.asked == [("local", str(spec.network.cidr.network_address + 2))]


def test_private_access_from_outside_the_vpc_is_unreachable_with_the_fix(tmp_path):
    spec = spec_with(tmp_path, "prod", api_access="private")
    reach = cluster_access.from_here(spec, StubProbe(local=IPv4Address("192.168.1.10")))
    assert reach.verdict is Verdict.UNREACHABLE
    assert "api_access is private" in reach.detail and "192.168.1.10" in reach.detail
    assert reach.fix.startswith("run osp up from inside the VPC's private subnets")


def test_the_live_endpoint_is_judged_by_a_connect_to_443():
    probe = StubProbe(connection=Connection(("10.30.8.5",), "port 443 does not answer (timed out)"))
    url = "https://ABC.gr7.us-east-1.eks.amazonaws.com"
    reach = cluster_access.endpoint(spec_of("prod"), url, probe)
    assert reach.verdict is Verdict.UNREACHABLE
    assert reach.detail.startswith("port 443 does not answer (timed out) (private addresses")
    assert ("connect", "abc.gr7.us-east-1.eks.amazonaws.com", 443) in probe.asked
    answered = cluster_access.endpoint(spec_of("prod"), url, StubProbe())
    assert answered.verdict is Verdict.REACHABLE


# --- osp doctor -----------------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.Session()


def _live_cluster(session, spec) -> str:
    """A cluster of `spec`'s name in moto; returns its endpoint."""
    iam = session.client("iam")
    role = iam.create_role(RoleName="eks", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    eks = session.client("eks", region_name=spec.region)
    created = eks.create_cluster(
        name=f"osp-{spec.name}-eks",
        roleArn=role,
        resourcesVpcConfig={"subnetIds": ["subnet-1", "subnet-2"]},
    )
    return created["cluster"]["endpoint"]


def test_doctor_without_a_cluster_judges_the_spec_from_here(aws):
    check = doctor.cluster_api(spec_of("prod"), aws, StubProbe())
    assert check.name == "cluster API" and check.status is Status.FAIL
    assert check.detail.startswith("no cluster osp-prod-eks yet; osp:cluster.api_allowed_cidrs")
    assert check.fix.startswith("add 203.0.113.7/32 to osp:cluster.api_allowed_cidrs")


def test_doctor_with_a_cluster_connects_to_its_endpoint(aws):
    spec = spec_of("prod")
    url = _live_cluster(aws, spec)
    down = StubProbe(connection=Connection(("10.30.8.5",), "port 443 does not answer (timed out)"))
    check = doctor.cluster_api(spec, aws, down)
    assert check.status is Status.FAIL
    assert check.detail.startswith(f"{url}: port 443 does not answer (timed out)")
    assert check.fix  # what to change, from the spec's mode
    up = StubProbe()
    passed = doctor.cluster_api(spec, aws, up)
    assert passed.status is Status.PASS and "answers on port 443" in passed.detail
    assert up.asked[0][0] == "connect"


def test_doctor_runs_the_check_only_for_an_environment(aws, monkeypatch, tmp_path):
    monkeypatch.setenv("OSP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with_env = doctor.run(find_project(project_copy(tmp_path / "p")), spec_of("dev"),
                          session=aws, probe=StubProbe())  # fmt: skip
    assert with_env[-1].name == "cluster API" and with_env[-1].status is Status.FAIL
    without = doctor.run(None, None, session=aws, probe=StubProbe())
    assert "cluster API" not in [c.name for c in without]


# --- osp up refuses before anything is touched ------------------------------------------------


runner = CliRunner()


@pytest.fixture
def no_engine(monkeypatch, tmp_path):
    """A stand-in pulumi on PATH and an automation layer that records any stack opened."""
    from osp.platform.automation import stack as stacks
    from tests.platform.test_automation_layer import standin

    fake = standin(tmp_path / "cli")
    monkeypatch.setenv("PATH", f"{fake.bin}:/usr/bin:/bin")
    monkeypatch.setenv("OSP_HOME", str(tmp_path / "home"))
    opened: list = []
    monkeypatch.setattr(stacks, "open_stack", lambda *a, **k: opened.append(a) or None)
    return opened


def _up(root: Path, environment: str, probe: StubProbe, monkeypatch, *extra: str):
    monkeypatch.setattr(cluster_access, "NetworkProbe", lambda: probe)
    return runner.invoke(
        app,
        ["up", "--env", environment, "--yes", *extra, "--project-dir", str(root)],
        env={"OSP_PROJECT_DIR": None},
    )


def test_up_refuses_when_no_network_is_named(no_engine, monkeypatch, tmp_path):
    result = _up(project_copy(tmp_path / "p"), "prod", StubProbe(), monkeypatch)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: prod's Kubernetes API cannot be reached from this machine: "
        "osp:cluster.api_allowed_cidrs in stacks/Pulumi.prod.yaml names no network"
    )
    assert "nothing was started" in result.stderr and "add 203.0.113.7/32" in result.stderr
    assert "Traceback" not in result.output
    assert no_engine == [] and not (tmp_path / "home").exists()


def test_up_refuses_when_this_address_is_not_listed(no_engine, monkeypatch, tmp_path):
    root = edited(tmp_path / "p", "prod", {"api_allowed_cidrs": [OFFICE]})
    result = _up(root, "prod", StubProbe(public=ELSEWHERE), monkeypatch)
    assert result.exit_code == 1
    assert f"as {ELSEWHERE}, which is not in osp:cluster.api_allowed_cidrs" in result.stderr
    assert no_engine == [] and not (tmp_path / "home").exists()


def test_up_refuses_a_private_endpoint_from_outside_the_vpc(no_engine, monkeypatch, tmp_path):
    root = edited(tmp_path / "p", "staging", {"api_access": "private"})
    result = _up(root, "staging", StubProbe(), monkeypatch)
    assert result.exit_code == 1
    assert "api_access is private" in result.stderr
    assert "run osp up from inside the VPC's private subnets" in result.stderr
    assert no_engine == []


def test_up_goes_on_to_the_stack_when_the_api_admits_this_machine(no_engine, monkeypatch, tmp_path):
    root = edited(tmp_path / "p", "prod", {"api_allowed_cidrs": [OFFICE]})
    result = _up(root, "prod", StubProbe(), monkeypatch)
    # Past the check: the stack was opened (the recording stand-in then has nothing to run).
    assert len(no_engine) == 1, result.output


def test_up_skip_api_check_goes_on_without_asking(no_engine, monkeypatch, tmp_path):
    probe = StubProbe()
    _up(project_copy(tmp_path / "p"), "prod", probe, monkeypatch, "--skip-api-check")
    assert probe.asked == [] and len(no_engine) == 1


def test_up_help_documents_the_check():
    result = runner.invoke(app, ["up", "--help"], env={"COLUMNS": "200"})
    assert "--skip-api-check" in result.stdout
