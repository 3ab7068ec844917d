"""The environment spec: the repository's stack files, profiles, and every kind of bad input."""

from __future__ import annotations

import textwrap
from ipaddress import IPv4Network

import pytest

from osp.platform.blueprints import UnknownBlueprintError
from osp.platform.errors import SpecError
from osp.platform.spec import NatStrategy, Profile, parse_stack_file
from tests.support import REPO, spec_of

SOURCE = "stacks/Pulumi.prod.yaml"


def parse(text: str, environment: str = "prod", **kwargs):
    return parse_stack_file(textwrap.dedent(text), environment=environment, source=SOURCE, **kwargs)


def problems(text: str, environment: str = "prod") -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse(text, environment)
    return caught.value.problems


ADMIN = "arn:aws:iam::123456789012:role/platform-admin"
BASE = """\
config:
  aws:region: eu-west-2
  osp:domain: school.example.com
"""
MINIMAL = BASE + f"  osp:cluster: {{admin_role_arns: [{ADMIN}]}}\n"


def test_repository_environments_take_their_profile_defaults():
    dev, staging, prod = spec_of("dev"), spec_of("staging"), spec_of("prod")
    assert (dev.profile, staging.profile, prod.profile) == (
        Profile.DEV,
        Profile.STAGING,
        Profile.PROD,
    )
    assert dev.zones == ("us-east-1a", "us-east-1b")
    assert prod.zones == staging.zones == ("us-east-1a", "us-east-1b", "us-east-1c")
    assert dev.network.nat is NatStrategy.SINGLE
    assert prod.network.nat is staging.network.nat is NatStrategy.PER_AZ
    assert prod.network.cidr == IPv4Network("10.30.0.0/16")
    assert prod.blueprint == "osp"
    assert prod.tags["data-classification"] == "student-records"


def test_a_minimal_file_is_a_complete_environment():
    spec = parse(MINIMAL)
    assert spec.name == "prod" and spec.region == "eu-west-2"
    assert spec.zones == ("eu-west-2a", "eu-west-2b", "eu-west-2c")
    assert spec.network.cidr == IPv4Network("10.0.0.0/16")
    assert str(spec.network.subnets.private.cidr) == "10.0.0.0/17"
    assert spec.tags == {} and spec.account_id is None


def test_the_stack_file_wins_over_the_profile():
    spec = parse(MINIMAL + "  osp:network:\n    nat: single\n    zone_count: 4\n")
    assert spec.network.nat is NatStrategy.SINGLE
    assert len(spec.zones) == 4


def test_listing_zones_replaces_the_profiles_zone_count():
    spec = parse(
        MINIMAL + "  osp:network:\n    availability_zones: [eu-west-2c, eu-west-2a, eu-west-2b]\n"
    )
    assert spec.zones == ("eu-west-2c", "eu-west-2a", "eu-west-2b")


def test_an_environment_not_named_after_a_profile_states_one():
    spec = parse(MINIMAL + "  osp:profile: staging\n", environment="perf")
    assert spec.profile is Profile.STAGING and spec.name == "perf"


def test_other_namespaces_are_left_to_pulumi():
    spec = parse(MINIMAL + "  aws:profile: school-admin\n  kubernetes:context: x\n")
    assert spec.region == "eu-west-2"


def test_blueprint_override_for_one_load():
    assert parse(MINIMAL, blueprint="learning-hub").blueprint == "learning-hub"
    with pytest.raises(UnknownBlueprintError) as caught:
        parse("", blueprint="no-such-blueprint")
    assert str(caught.value) == (
        "--blueprint: got 'no-such-blueprint'; expected one of the blueprints available: "
        "code-learn, learning-hub, learning-platform, lms, osp"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            MINIMAL + "  osp:netwrok:\n    nat: single\n",
            f"{SOURCE}:5: osp:netwrok: unknown key 'osp:netwrok'; did you mean 'osp:network'?",
            id="unknown-osp-key",
        ),
        pytest.param(
            MINIMAL + "  network: {}\n",
            f"{SOURCE}:5: network: unknown key 'network'; did you mean 'osp:network'? "
            "(stack config keys carry a namespace)",
            id="key-without-namespace",
        ),
        pytest.param(
            MINIMAL + "  osp:network:\n    nat_strategy: single\n",
            f"{SOURCE}:6: osp:network.nat_strategy: unknown key 'nat_strategy'; expected one of "
            "availability_zones, cidr, flow_log_retention_days, interface_endpoints, nat, "
            "subnets, zone_count",
            id="unknown-nested-key",
        ),
        pytest.param(
            MINIMAL + "  osp:network:\n    zone_cont: 3\n",
            f"{SOURCE}:6: osp:network.zone_cont: unknown key 'zone_cont'; "
            "did you mean 'zone_count'?",
            id="nested-typo",
        ),
        pytest.param(
            MINIMAL + "  osp:network:\n    nat: double\n",
            f"{SOURCE}:6: osp:network.nat: got 'double'; expected one of 'single', 'per-az'",
            id="bad-enum",
        ),
        pytest.param(
            MINIMAL + "  osp:network:\n    zone_count: three\n",
            f"{SOURCE}:6: osp:network.zone_count: got 'three'; expected an integer",
            id="bad-int",
        ),
        pytest.param(
            MINIMAL + "  osp:network:\n    zone_count: 7\n",
            f"{SOURCE}:6: osp:network.zone_count: got 7; expected a number <= 4",
            id="too-many-zones",
        ),
        pytest.param(
            MINIMAL + "  osp:network:\n    cidr: 10.0.0.1/16\n",
            f"{SOURCE}:6: osp:network.cidr: got '10.0.0.1/16'; expected an IPv4 CIDR block with "
            "no host bits set, such as 10.0.0.0/16",
            id="cidr-host-bits",
        ),
        pytest.param(
            MINIMAL + "  osp:network:\n    cidr: banana\n",
            f"{SOURCE}:6: osp:network.cidr: got 'banana'; expected an IPv4 CIDR block with "
            "no host bits set, such as 10.0.0.0/16",
            id="cidr-garbage",
        ),
        pytest.param(
            MINIMAL + "  osp:network:\n    cidr: 8.8.0.0/16\n",
            f"{SOURCE}:6: osp:network.cidr: got '8.8.0.0/16'; expected a private "
            "(RFC 1918) block such as 10.0.0.0/16",
            id="cidr-public",
        ),
        pytest.param(
            MINIMAL + "  osp:network:\n    cidr: 10.0.0.0/12\n",
            f"{SOURCE}:6: osp:network.cidr: got '10.0.0.0/12'; expected a prefix "
            "length between /16 and /24",
            id="cidr-too-big",
        ),
        pytest.param(
            MINIMAL + "  osp:network:\n    subnets:\n"
            "      public: {cidr: 10.0.0.0/20, prefix_length: 22}\n"
            "      private: {cidr: 10.0.0.0/19, prefix_length: 21}\n"
            "      isolated: {cidr: 10.0.32.0/20, prefix_length: 22}\n",
            f"{SOURCE}:6: osp:network.subnets: public block 10.0.0.0/20 overlaps private block "
            "10.0.0.0/19; expected each tier in a block of its own",
            id="overlapping-tiers",
        ),
        pytest.param(
            MINIMAL + "  osp:network:\n    subnets:\n"
            "      public: {cidr: 10.0.0.0/20, prefix_length: 22}\n"
            "      private: {cidr: 10.1.0.0/19, prefix_length: 21}\n"
            "      isolated: {cidr: 10.0.32.0/20, prefix_length: 22}\n",
            f"{SOURCE}:8: osp:network.subnets.private.cidr: got '10.1.0.0/19'; expected a block "
            "inside the VPC 10.0.0.0/16",
            id="tier-outside-vpc",
        ),
        pytest.param(
            MINIMAL + "  osp:network:\n    subnets:\n"
            "      public: {cidr: 10.0.0.0/20, prefix_length: 21}\n"
            "      private: {cidr: 10.0.64.0/18, prefix_length: 20}\n"
            "      isolated: {cidr: 10.0.32.0/20, prefix_length: 22}\n",
            f"{SOURCE}:7: osp:network.subnets.public.prefix_length: got 21; expected room for 3 "
            "zone subnets in 10.0.0.0/20 (/21 gives 2)",
            id="tier-too-small",
        ),
        pytest.param(
            MINIMAL
            + "  osp:network:\n    availability_zones: [eu-west-2a, us-east-1b, eu-west-2c]\n",
            f"{SOURCE}:6: osp:network.availability_zones: got 'us-east-1b'; expected zones of "
            "eu-west-2, such as eu-west-2a",
            id="zone-of-another-region",
        ),
        pytest.param(
            MINIMAL + "  osp:network:\n    availability_zones: [eu-west-2a, eu-west-2b]\n",
            f"{SOURCE}:6: osp:network.availability_zones: got ['eu-west-2a', 'eu-west-2b']; "
            "expected at least 3 zones for a prod environment",
            id="prod-needs-three-zones",
        ),
        pytest.param(
            MINIMAL.replace("eu-west-2", "europe"),
            f"{SOURCE}:2: aws:region: got 'europe'; expected an AWS region such as us-east-1 or "
            "eu-west-2",
            id="bad-region",
        ),
        pytest.param(
            f"config:\n  aws:region: eu-west-2\n  osp:cluster: {{admin_role_arns: [{ADMIN}]}}\n",
            f"{SOURCE}: osp:domain: required key is missing; expected the DNS name the portals "
            "and the API live under, such as school.example.com",
            id="missing-domain",
        ),
        pytest.param(
            MINIMAL.replace("school.example.com", "School_Site"),
            f"{SOURCE}:3: osp:domain: got 'School_Site'; expected a lower-case DNS name with at "
            "least two labels, such as school.example.com",
            id="bad-domain",
        ),
        pytest.param(
            MINIMAL + "  osp:account_id: 1234\n",
            f"{SOURCE}:5: osp:account_id: got 1234; expected a string",
            id="account-id-not-quoted",
        ),
        pytest.param(
            MINIMAL + "  osp:tags:\n    osp:component: x\n",
            f"{SOURCE}:5: osp:tags: tag key 'osp:component' is reserved; expected keys not "
            "starting with 'aws:' or 'osp:'",
            id="reserved-tag",
        ),
        pytest.param(
            MINIMAL + "  osp:database:\n    instance_class: db.t3.tiny\n",
            f"{SOURCE}:6: osp:database.instance_class: got 'db.t3.tiny'; expected an RDS "
            "instance class such as db.r6g.large",
            id="bad-rds-class",
        ),
        pytest.param(
            MINIMAL + "  osp:cache:\n    replicas: 0\n    multi_az: true\n",
            f"{SOURCE}:5: osp:cache: expected replicas >= 1 for multi_az: a single-node cache "
            "has nothing to fail over to (set multi_az: false, or add a replica)",
            id="multi-az-cache-without-replica",
        ),
        pytest.param(
            MINIMAL + "  osp:cache:\n    replicas: 0\n    multi_az: false\n",
            f"{SOURCE}:6: osp:cache.replicas: got 0; expected at least 1 for a prod environment",
            id="prod-cache-needs-a-replica",
        ),
        pytest.param(
            MINIMAL + "  osp:broker:\n    instance_type: mq.t3.micro\n",
            f"{SOURCE}:6: osp:broker.instance_type: got 'mq.t3.micro'; expected an mq.m5.large "
            "or larger instance type: mq.t3 brokers run as SINGLE_INSTANCE only, never "
            "CLUSTER_MULTI_AZ",
            id="micro-broker-cluster",
        ),
        pytest.param(
            BASE
            + "  osp:cluster:\n    admin_role_arns: ["
            + ADMIN
            + "]\n    workload_pool:\n      min_size: 7\n",
            f"{SOURCE}:6: osp:cluster.workload_pool: expected min_size <= desired_size <= "
            "max_size, got 7 <= 6 <= 20",
            id="node-pool-sizes",
        ),
        pytest.param(
            BASE
            + "  osp:cluster:\n    admin_role_arns: ["
            + ADMIN
            + "]\n    system_pool:\n      capacity_type: SPOT\n",
            f"{SOURCE}:6: osp:cluster.system_pool: expected capacity_type ON_DEMAND: system "
            "pods must not be evicted",
            id="spot-system-pool",
        ),
        pytest.param(
            BASE
            + "  osp:cluster:\n    admin_role_arns: ["
            + ADMIN
            + "]\n    api_allowed_cidrs: [0.0.0.0/0]\n",
            f"{SOURCE}:6: osp:cluster.api_allowed_cidrs: got ['0.0.0.0/0']; expected the "
            "networks that may reach the API (such as 203.0.113.7/32), not the whole internet",
            id="cluster-api-open-to-the-world",
        ),
        pytest.param(
            BASE + "  osp:cluster:\n    admin_role_arns: [platform-admin]\n",
            f"{SOURCE}:5: osp:cluster.admin_role_arns[0]: got 'platform-admin'; expected an IAM "
            "role ARN such as arn:aws:iam::123456789012:role/platform-admin",
            id="admin-role-not-an-arn",
        ),
        pytest.param(
            MINIMAL + "  osp:network:\n    flow_log_retention_days: 100\n",
            f"{SOURCE}:6: osp:network.flow_log_retention_days: got 100; expected a CloudWatch "
            "Logs retention period: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, "
            "731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
            id="bad-log-retention",
        ),
        pytest.param(
            MINIMAL + "  osp:secrets:\n    recovery_window_days: 3\n",
            f"{SOURCE}:6: osp:secrets.recovery_window_days: got 3; expected 0 (delete at once) "
            "or 7 to 30",
            id="bad-recovery-window",
        ),
        pytest.param(
            MINIMAL + "  osp:dns: {zone_id: abc}\n",
            f"{SOURCE}:5: osp:dns.zone_id: got 'abc'; expected a Route 53 hosted zone id such "
            "as Z0123456789ABCDEFGHIJ",
            id="bad-zone-id",
        ),
        pytest.param(
            MINIMAL + "  osp:edge: {price_class: PriceClass_50}\n",
            f"{SOURCE}:5: osp:edge.price_class: got 'PriceClass_50'; expected one of "
            "'PriceClass_100', 'PriceClass_200', 'PriceClass_All'",
            id="bad-price-class",
        ),
        pytest.param(
            MINIMAL + "  osp:waf: {rate_limit: 5}\n",
            f"{SOURCE}:5: osp:waf.rate_limit: got 5; expected a number >= 10",
            id="waf-rate-limit-too-low",
        ),
        pytest.param(
            MINIMAL + "  osp:waf: {rate_limit: 200, login_rate_limit: 300}\n",
            f"{SOURCE}:5: osp:waf.login_rate_limit: got 300; expected at most rate_limit (200): "
            "the login limit is the tighter one",
            id="waf-login-limit-looser",
        ),
        pytest.param(
            MINIMAL + "  osp:waf:\n    login_paths: [login]\n",
            f"{SOURCE}:6: osp:waf.login_paths[0]: got 'login'; expected a URL path such as /api/x",
            id="waf-login-path-not-a-path",
        ),
        pytest.param(
            MINIMAL + "  osp:waf: {login_paths: []}\n",
            f"{SOURCE}:5: osp:waf.login_paths: got []; expected at least one path prefix",
            id="waf-no-login-paths",
        ),
        pytest.param(
            MINIMAL + "  osp:monitoring: {alarm_emails: [nobody]}\n",
            f"{SOURCE}:5: osp:monitoring.alarm_emails[0]: got 'nobody'; expected an e-mail "
            "address such as platform@school.example.com",
            id="bad-alarm-email",
        ),
        pytest.param(
            MINIMAL + "  osp:monitoring: {alarm_emails: [a@b.com, a@b.com]}\n",
            f"{SOURCE}:5: osp:monitoring.alarm_emails: got ['a@b.com', 'a@b.com']; expected "
            "each address once",
            id="duplicate-alarm-email",
        ),
        pytest.param(
            MINIMAL + "  osp:registry: {keep_tagged_images: 0}\n",
            f"{SOURCE}:5: osp:registry.keep_tagged_images: got 0; expected a number >= 1",
            id="registry-keeps-nothing",
        ),
        pytest.param(
            MINIMAL + "  osp:backend: ftp://x\n",
            f"{SOURCE}:5: osp:backend: got 'ftp://x'; expected a Pulumi backend URL: "
            "s3://<bucket>[/prefix][?region=...], file://<dir> or https://api.pulumi.com",
            id="bad-backend",
        ),
        pytest.param(
            MINIMAL + "  osp:secrets_provider: vault\n",
            f"{SOURCE}:5: osp:secrets_provider: got 'vault'; expected a Pulumi secrets provider: "
            "awskms://alias/<name>?region=<region>, passphrase or default",
            id="bad-secrets-provider",
        ),
        pytest.param(
            MINIMAL + "  osp:profile: production\n",
            f"{SOURCE}:5: osp:profile: got 'production'; expected one of 'dev', 'staging', 'prod'",
            id="bad-profile",
        ),
        pytest.param(
            MINIMAL + "backend: s3://x\n",
            f"{SOURCE}:5: backend: unknown key 'backend'; expected one of config, encryptedkey, "
            "encryptionsalt, environment, secretsprovider",
            id="unknown-top-level-key",
        ),
        pytest.param(
            MINIMAL + "  osp:domain: other.example.com\n",
            f"{SOURCE}:5: osp:domain: key appears twice; expected each key once",
            id="duplicate-key",
        ),
        pytest.param(
            "config: [1, 2]\n",
            f"{SOURCE}:1: config: got [1, 2]; expected a mapping of keys to values",
            id="config-not-a-mapping",
        ),
        pytest.param(
            "- just\n- a list\n",
            f"{SOURCE}:1: got 'list'; expected a mapping with a 'config:' section (a Pulumi stack "
            "file)",
            id="document-not-a-mapping",
        ),
        pytest.param(
            "config:\n  aws:region: [us-east-1\n",
            f"{SOURCE}:3: not valid YAML: expected ',' or ']', but got '<stream end>'",
            id="malformed-yaml",
        ),
    ],
)
def test_bad_input_gets_one_exact_message(text, expected):
    assert problems(text) == [expected]


def test_backend_and_secrets_provider_from_bootstrap_are_accepted():
    spec = parse(
        MINIMAL + "  osp:backend: s3://osp-state-123456789012?region=eu-west-2\n"
        "  osp:secrets_provider: awskms://alias/osp-pulumi-secrets?region=eu-west-2\n"
    )
    assert spec.backend == "s3://osp-state-123456789012?region=eu-west-2"
    assert spec.secrets_provider == "awskms://alias/osp-pulumi-secrets?region=eu-west-2"
    assert parse(MINIMAL).backend is None and parse(MINIMAL).secrets_provider is None


@pytest.mark.parametrize(
    ("environment", "price_class", "cloudfront_logs", "bucket_logs"),
    [("dev", "PriceClass_100", True, True), ("staging", "PriceClass_100", True, True),
     ("prod", "PriceClass_All", True, True)],
)  # fmt: skip
def test_profiles_choose_the_edge_extras(environment, price_class, cloudfront_logs, bucket_logs):
    spec = spec_of(environment)
    assert spec.edge.price_class == price_class
    assert spec.edge.access_logs is cloudfront_logs
    assert spec.storage.access_logging is bucket_logs
    # The protections themselves never depend on the profile.
    assert spec.waf.rate_limit == 5000 and spec.waf.login_rate_limit == 100


def test_an_environment_outside_the_profiles_must_name_one():
    assert problems(MINIMAL, environment="perf") == [
        f"{SOURCE}: osp:profile: required for environment 'perf': expected one of dev, staging, "
        "prod (only environments named after a profile may leave it out)"
    ]


def test_environment_names_must_fit_into_resource_names():
    assert problems(MINIMAL + "  osp:profile: dev\n", environment="Dev_1") == [
        f"{SOURCE}: got 'Dev_1'; expected an environment name of 1-16 lower-case letters, "
        "digits and hyphens, starting with a letter (it becomes part of every resource name)"
    ]


def test_every_problem_in_a_file_is_reported_at_once_in_line_order():
    found = problems(
        """\
        config:
          aws:region: us-east-1
          osp:domain: Bad_Domain
          osp:netwrok: {}
          osp:network:
            cidr: 10.0.0.1/16
            nat: double
        foo: 1
        """
    )
    assert [p.split(": ")[0] for p in found] == [SOURCE] + [
        f"{SOURCE}:{n}" for n in (3, 4, 6, 7, 8)
    ]
    with pytest.raises(SpecError) as caught:
        parse("config:\n  osp:domain: x\n  osp:netwrok: 1\n")
    assert str(caught.value).startswith(f"{SOURCE}: 4 problems:\n  {SOURCE}")


def test_the_cluster_needs_an_administrator():
    missing = (
        f"{SOURCE}: osp:cluster.admin_role_arns: required key is missing; expected a list of at "
        "least one IAM role ARN: the cluster grants its creator nothing, so without one nobody "
        "can administer it"
    )
    assert problems(BASE) == [missing]
    assert problems(BASE + "  osp:cluster: {admin_role_arns: []}\n") == [
        f"{SOURCE}:4: osp:cluster.admin_role_arns: expected at least one IAM role ARN: the cluster "
        "grants its creator nothing, so without one nobody can administer it"
    ]


@pytest.mark.parametrize(
    ("environment", "protected", "multi_az", "broker", "spot"),
    [
        ("dev", False, False, "SINGLE_INSTANCE", "SPOT"),
        ("staging", False, True, "CLUSTER_MULTI_AZ", "SPOT"),
        ("prod", True, True, "CLUSTER_MULTI_AZ", "ON_DEMAND"),
    ],
)
def test_profiles_choose_cost_or_availability(environment, protected, multi_az, broker, spot):
    spec = spec_of(environment)
    assert spec.deletion_protection is protected
    assert spec.database.multi_az is multi_az and spec.cache.multi_az is multi_az
    assert spec.broker.deployment_mode == broker
    assert spec.cluster.workload_pool.capacity_type == spot
    assert spec.cluster.system_pool.capacity_type == "ON_DEMAND"
    assert spec.database.backup_retention_days == (35 if environment == "prod" else 7)
    audit_days = {"dev": 30, "staging": 90, "prod": 365}[environment]
    assert spec.logs.audit_retention_days == audit_days
    assert spec.cluster.log_retention_days == audit_days


# --- the provider configuration an environment's tenant stacks get -------------------------


def _project_with(tmp_path, config_lines: str):
    from osp.platform.project import find_project

    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    text = (REPO / "stacks" / "Pulumi.dev.yaml").read_text()
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(
        text.replace("config:\n", "config:\n" + config_lines)
    )
    return find_project(tmp_path)


def test_provider_config_is_every_plain_key_outside_osp(tmp_path):
    from osp.platform.spec import provider_config

    project = _project_with(
        tmp_path,
        "  aws:profile: school-ops\n"
        "  aws:assumeRoles:\n    - roleArn: arn:aws:iam::123456789012:role/deployer\n"
        "  kubernetes:enableServerSideApply: true\n",
    )
    assert provider_config(project, "dev") == {
        "aws:region": "us-east-1",
        "aws:profile": "school-ops",
        "aws:assumeRoles": '[{"roleArn": "arn:aws:iam::123456789012:role/deployer"}]',
        "kubernetes:enableServerSideApply": "true",
    }


def test_a_secret_provider_setting_cannot_reach_tenant_stacks(tmp_path):
    from osp.platform.spec import provider_config

    project = _project_with(tmp_path, "  aws:secretKey:\n    secure: AAABAJ0xyz\n")
    with pytest.raises(SpecError) as caught:
        provider_config(project, "dev")
    (problem,) = caught.value.problems
    assert problem.startswith("stacks/Pulumi.dev.yaml:")
    assert "aws:secretKey: is a secret, which cannot be copied into the environment's tenant" in (
        problem
    )
