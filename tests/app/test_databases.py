"""`ServiceDatabases` through the offline engine: the script, the Job that runs it, its identity,
its reach and its pod security; and the script's helpers run for real where the tools exist."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from collections import Counter
from pathlib import Path

import pulumi
import pytest

from osp.app.databases import (
    AWS_CLI_IMAGE,
    CA_BUNDLE_KEY,
    CONFIG_DIR,
    CREDENTIALS_DIR,
    DEFAULT_OBJECT_NAME,
    FETCH_COMMAND,
    PGPASS_PROGRAM,
    PGPASS_PROGRAM_KEY,
    POSTGRES_IMAGE,
    SCRIPT_ERROR_EXIT_CODE,
    SCRIPT_KEY,
    SETUP_COMMAND,
    ServiceDatabases,
    ServiceDatabasesArgs,
    config_data,
    content_hash,
    postgres_name,
    problems,
    setup_script,
    user_problem,
)
from osp.app.pods import image_problem
from osp.platform.catalogue import load_catalogue
from osp.platform.limits import KUBERNETES_VERSIONS
from osp.platform.validation import InvalidArguments
from tests.app import k8s as manifests_of
from tests.support import plan_component

NAME = "osp-t-databases"
NAMESPACE = "osp-services"
ACCOUNT = "123456789012"
REGION = "us-east-1"
HOST = "osp-prod-db.c0ffee123456.us-east-1.rds.amazonaws.com"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-0a1b2c3d-4e5f-AbCdEf"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
OIDC_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"
ROLE_NAME = "osp-prod-database-setup"
ISOLATED = ("10.0.64.0/20", "10.0.80.0/20")
PRIVATE = ("10.0.16.0/20", "10.0.32.0/20")
USERS = ("fee", "course_review", "reporting")
TAGS = {"osp:environment": "prod", "osp:component": "services"}
CA_BUNDLE = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

COMPONENT = "osp:app:ServiceDatabases"
IDENTITY = "osp:app:ServiceIdentity"
JOB = "kubernetes:batch/v1:Job"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
ACCOUNT_TYPE = "kubernetes:core/v1:ServiceAccount"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"

RESTRICTED_CONTEXT = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "runAsGroup": 65532,
    "privileged": False,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def databases_args(**overrides) -> ServiceDatabasesArgs:
    """What the stack passes in prod: the estate's interface endpoints, its isolated subnets."""
    return ServiceDatabasesArgs(
        **{
            "namespace": NAMESPACE,
            "users": USERS,
            "host": HOST,
            "master_secret_arn": SECRET_ARN,
            "master_secret_kms_key_arn": KEY_ARN,
            "oidc_provider_arn": OIDC_ARN,
            "oidc_provider_url": ISSUER,
            "role_name": ROLE_NAME,
            "region": REGION,
            "database_cidrs": ISOLATED,
            "endpoint_cidrs": PRIVATE,
            "labels": {"app.kubernetes.io/part-of": "osp"},
            "tags": TAGS,
            **overrides,
        }
    )


def plan_databases(args: ServiceDatabasesArgs, name: str = NAME):
    return plan_component(
        manifests_of.on_cluster(ServiceDatabases), args, name=name, exports=("job_name", "role_arn")
    )


@pytest.fixture(scope="module")
def prod():
    return plan_databases(databases_args())


@pytest.fixture(scope="module")
def verified():
    """With RDS's CA bundle given, and values from other resources as Outputs."""
    return plan_databases(
        databases_args(
            ca_bundle_pem=CA_BUNDLE,
            host=pulumi.Output.from_input(HOST),
            master_secret_arn=pulumi.Output.from_input(SECRET_ARN),
            master_secret_kms_key_arn=pulumi.Output.from_input(KEY_ARN),
            oidc_provider_arn=pulumi.Output.from_input(OIDC_ARN),
            oidc_provider_url=pulumi.Output.from_input(ISSUER),
        )
    )


def one(plan, token):
    (resource,) = plan.of_type(token)
    return resource


def job(plan) -> dict:
    return one(plan, JOB).inputs


def pod(plan) -> dict:
    return job(plan)["spec"]["template"]["spec"]


def container(plan, name: str) -> dict:
    spec = pod(plan)
    (found,) = [c for c in spec["containers"] + spec["initContainers"] if c["name"] == name]
    return found


def env(item: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in item["env"]}


def policy_statements(plan) -> dict[str, dict]:
    document = json.loads(one(plan, ROLE_POLICY).inputs["policy"])
    return {s["Sid"]: s for s in document["Statement"]}


# --- the script ----------------------------------------------------------------------------


def test_postgres_name_of_a_service():
    assert postgres_name("course-review") == "course_review"
    assert postgres_name("fee") == "fee"
    assert postgres_name("a-b-c2") == "a_b_c2"


@pytest.mark.parametrize("blueprint", ["osp", "learning-hub"])
def test_every_bundled_service_with_a_database_has_a_valid_name(blueprint):
    catalogue = load_catalogue(blueprint)
    users = [postgres_name(s.name) for s in catalogue.services if s.uses.database_access]
    assert users, blueprint
    assert [u for u in users if user_problem(u)] == []
    assert "-- " + users[0] + ":" in setup_script(users)


def statements_of(script: str) -> list[str]:
    """The script's top-level lines: what psql executes itself (not inside a DO body and not
    the queries that generate statements for \\gexec)."""
    return [line for line in script.splitlines() if line and not line.startswith((" ", "--"))]


def test_script_for_each_user():
    script = setup_script(["fee", "course_review"])
    assert script.startswith("-- Generated by osp")
    assert "\\set ON_ERROR_STOP on\n" in script
    for user in ("fee", "course_review"):
        literal, ident = f"'{user}'", f'"{user}"'
        # Created only if missing, through a statement the server quotes (%I).
        assert (
            f"SELECT pg_catalog.format('CREATE ROLE %I LOGIN', {literal})\n"
            f"WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {literal})\n"
            "\\gexec\n"
        ) in script
        assert (
            "SELECT pg_catalog.format('ALTER ROLE %I LOGIN', rolname)\n"
            f"FROM pg_catalog.pg_roles WHERE rolname = {literal} AND NOT rolcanlogin\n"
            "\\gexec\n"
        ) in script
        assert (
            f"SELECT pg_catalog.format('GRANT rds_iam TO %I', {literal})\n"
            f"WHERE NOT pg_catalog.pg_has_role({literal}, 'rds_iam', 'MEMBER')\n"
            "\\gexec\n"
        ) in script
        assert (
            f"SELECT pg_catalog.format('CREATE DATABASE %I', {literal})\n"
            f"WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = {literal})\n"
            "\\gexec\n"
        ) in script
        assert f"REVOKE ALL ON DATABASE {ident} FROM PUBLIC;\n" in script
        assert f"GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {ident} TO {ident};\n" in script
        assert (
            f"\\connect {ident}\n"
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC;\n"
            f"GRANT USAGE, CREATE ON SCHEMA public TO {ident};\n"
        ) in script
        # An administrator or the master user itself is refused, never made a service.
        assert f"WHERE r.rolname = {literal}\n" in script
        assert "r.rolsuper OR r.rolcreaterole OR r.rolcreatedb" in script
        assert "OR r.rolname = current_user" in script


def test_script_runs_every_change_only_when_it_is_missing():
    script = setup_script(USERS)
    executed = statements_of(script)
    # What psql runs unconditionally: its own commands, the guard, and privilege statements
    # that are no-ops when already true. CREATE/ALTER/GRANT rds_iam only come out of \gexec.
    kinds = Counter(line.split()[0] for line in executed)
    assert set(kinds) == {"\\set", "DO", "BEGIN", "END", "$osp$;", "SELECT", "WHERE", "FROM",
                          "\\gexec", "REVOKE", "GRANT", "\\connect"}  # fmt: skip
    assert kinds["\\gexec"] == 4 * len(USERS)
    assert kinds["DO"] == len(USERS)
    assert kinds["\\connect"] == len(USERS)
    for line in executed:
        if line.startswith("GRANT"):
            assert re.fullmatch(
                r"GRANT (CONNECT, CREATE, TEMPORARY ON DATABASE|USAGE, CREATE ON SCHEMA public "
                r"TO) .*;",
                line,
            ), line
            assert "rds_iam" not in line
        if line.startswith("REVOKE"):
            assert line.endswith("FROM PUBLIC;"), line


def test_script_never_drops_nor_hands_over_ownership():
    # The guards (DO blocks) only read role attributes; no other statement may touch them.
    script = re.sub(r"DO \$osp\$.*?\$osp\$;|--[^\n]*", "", setup_script(USERS), flags=re.S)
    script = script.upper()
    for word in ("DROP", "OWNER", "REASSIGN", "TRUNCATE", "DELETE", "WITH ADMIN", "SUPERUSER",
                 "CREATEDB", "CREATEROLE", "PASSWORD", "SET ROLE"):  # fmt: skip
        assert word not in script, word
    # The only GRANT of a role is rds_iam to a service's user.
    assert re.findall(r"GRANT ([A-Z_]+) TO %I", script) == ["RDS_IAM"] * len(USERS)


def test_script_quotes_every_name():
    script = setup_script(["fee"])
    assert "'fee'" in script and '"fee"' in script
    # Outside string literals and quoted identifiers, the name never appears bare.
    bare = re.sub(r"'[^']*'|\"[^\"]*\"|--[^\n]*", "", script)
    assert not re.search(r"\bfee\b", bare)


def test_script_is_the_same_for_the_same_users_in_any_order():
    assert setup_script(["fee", "reporting"]) == setup_script(["reporting", "fee"])
    assert setup_script(["fee"]) != setup_script(["fee", "reporting"])
    # Sorted: the databases are created, then hardened, in name order.
    script = setup_script(["reporting", "fee"])
    assert script.index("-- fee:") < script.index("-- reporting:")


@pytest.mark.parametrize(
    ("users", "message"),
    [
        (["Fee"], "setup_script: got 'Fee'; expected a PostgreSQL name"),
        (["fee;drop"], "setup_script: got 'fee;drop'"),
        (["fee'--"], 'setup_script: got "fee\'--"'),
        (["course-review"], "setup_script: got 'course-review'"),
        (["9lives"], "setup_script: got '9lives'"),
        (["a" * 64], "setup_script: got 'aaaa"),
        (
            ["postgres"],
            "setup_script: got 'postgres'; expected a PostgreSQL name of the service's own",
        ),
        (
            ["rds_iam"],
            "setup_script: got 'rds_iam'; expected a PostgreSQL name of the service's own",
        ),
        (["rdsadmin"], "setup_script: got 'rdsadmin'"),
        (["pg_monitor"], "setup_script: got 'pg_monitor'"),
        (["template1"], "setup_script: got 'template1'"),
        (["public"], "setup_script: got 'public'"),
        (["fee", "fee"], "setup_script: got ['fee', 'fee']; expected each user once"),
    ],
)
def test_script_refuses_names_it_would_have_to_trust(users, message):
    with pytest.raises(InvalidArguments, match=re.escape(message)):
        setup_script(users)


# --- the objects ---------------------------------------------------------------------------


def test_children_exactly(prod):
    (component,) = prod.of_type(COMPONENT)
    children = prod.children(component.urn)
    assert Counter(r.type for r in children) == Counter(
        {IDENTITY: 1, ACCOUNT_TYPE: 1, CONFIG_MAP: 1, POLICY: 1, JOB: 1}
    )
    assert {r.name for r in children} == {
        f"{NAME}-identity",
        f"{NAME}-service-account",
        f"{NAME}-script",
        f"{NAME}-network-policy",
        f"{NAME}-job",
    }
    (identity,) = prod.of_type(IDENTITY)
    assert Counter(r.type for r in prod.children(identity.urn)) == Counter(
        {ROLE: 1, ROLE_POLICY: 1}
    )


def test_kubernetes_objects_use_the_given_provider_and_aws_its_own(prod):
    (provider,) = prod.of_type("pulumi:providers:kubernetes")
    objects = [r for r in prod.resources if r.type.startswith("kubernetes:")]
    assert len(objects) == 4
    assert {r.provider for r in objects} == {provider.urn}
    # A providers list holding only a kubernetes provider leaves AWS on its default provider.
    aws_resources = prod.of_type(ROLE) + prod.of_type(ROLE_POLICY)
    assert len(aws_resources) == 2
    for resource in aws_resources:
        assert resource.provider is None


def test_outputs(prod):
    name = f"{DEFAULT_OBJECT_NAME}-{content_hash(config_data(USERS))}"
    assert prod.outputs == {
        "job_name": name,
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}",
    }


def test_every_object_is_in_the_namespace_with_the_labels(prod):
    items = manifests_of.manifests(prod)
    assert Counter(item["kind"] for item in items) == Counter(
        {"ServiceAccount": 1, "ConfigMap": 1, "NetworkPolicy": 1, "Job": 1}
    )
    for item in items:
        assert item["metadata"]["namespace"] == NAMESPACE
        assert item["metadata"]["labels"] == {
            "app.kubernetes.io/name": DEFAULT_OBJECT_NAME,
            "app.kubernetes.io/part-of": "osp",
        }
    assert job(prod)["spec"]["template"]["metadata"]["labels"] == {
        "app.kubernetes.io/name": DEFAULT_OBJECT_NAME,
        "app.kubernetes.io/part-of": "osp",
    }


def test_config_map_holds_the_script_and_is_immutable(prod):
    config = one(prod, CONFIG_MAP).inputs
    data = config_data(USERS)
    assert config["metadata"]["name"] == f"{DEFAULT_OBJECT_NAME}-{content_hash(data)}"
    assert config["immutable"] is True
    assert config["data"] == {SCRIPT_KEY: setup_script(USERS), PGPASS_PROGRAM_KEY: PGPASS_PROGRAM}
    assert re.fullmatch(r"osp-database-setup-[0-9a-f]{10}", config["metadata"]["name"])


def test_job_runs_once_bounded_and_is_kept(prod):
    resource = one(prod, JOB)
    inputs = resource.inputs
    config_name = one(prod, CONFIG_MAP).inputs["metadata"]["name"]
    assert inputs["metadata"]["name"] == config_name
    assert inputs["metadata"]["annotations"] == {"pulumi.com/replaceUnready": "true"}
    spec = inputs["spec"]
    assert spec["backoffLimit"] == 4
    assert spec["activeDeadlineSeconds"] == 300
    # Pulumi owns the finished Job: a TTL would delete it and show drift.
    assert "ttlSecondsAfterFinished" not in spec
    assert spec["podFailurePolicy"] == {
        "rules": [
            {
                "action": "FailJob",
                "onExitCodes": {"containerName": "setup", "operator": "In", "values": [3]},
            },
            {
                "action": "Ignore",
                "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
            },
        ]
    }
    assert pod(prod)["restartPolicy"] == "Never"
    # The name may stay when only an Output-fed value changes: delete the old Job first.
    assert resource.options.delete_before_replace is True


def test_job_waits_for_its_role_account_script_and_egress(prod):
    dependencies = set(one(prod, JOB).dependencies)
    for token in (ROLE, ROLE_POLICY, ACCOUNT_TYPE, CONFIG_MAP, POLICY):
        assert one(prod, token).urn in dependencies, token


def test_service_account_carries_its_own_role_and_no_api_token(prod):
    account = one(prod, ACCOUNT_TYPE).inputs
    assert account["metadata"]["name"] == DEFAULT_OBJECT_NAME
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
    }
    assert account["automountServiceAccountToken"] is False
    spec = pod(prod)
    assert spec["serviceAccountName"] == DEFAULT_OBJECT_NAME
    assert spec["automountServiceAccountToken"] is False
    assert spec["enableServiceLinks"] is False
    assert spec["nodeSelector"] == {"osp.io/pool": "workload"}


def test_role_is_assumable_only_by_the_jobs_service_account(prod):
    role = one(prod, ROLE).inputs
    assert role["name"] == ROLE_NAME
    assert role["tags"] == {"Name": f"{NAME}-identity-role", **TAGS}
    (statement,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Federated": OIDC_ARN}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{ISSUER}:sub": f"system:serviceaccount:{NAMESPACE}:{DEFAULT_OBJECT_NAME}",
            f"{ISSUER}:aud": "sts.amazonaws.com",
        }
    }


def test_role_reads_the_master_secret_and_nothing_else(prod):
    assert policy_statements(prod) == {
        "ReadSecrets": {
            "Sid": "ReadSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "Resource": [SECRET_ARN],
        },
        "UseKey0": {
            "Sid": "UseKey0",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": [KEY_ARN],
            "Condition": {
                "StringEquals": {"kms:ViaService": [f"secretsmanager.{REGION}.amazonaws.com"]}
            },
        },
    }


def test_network_policy_admits_nothing_and_reaches_dns_the_database_and_aws(prod):
    policy = one(prod, POLICY).inputs
    assert policy["metadata"]["name"] == DEFAULT_OBJECT_NAME
    assert policy["spec"] == {
        "podSelector": {
            "matchLabels": {"batch.kubernetes.io/job-name": job(prod)["metadata"]["name"]}
        },
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [],
        "egress": [
            manifests_of.DNS_EGRESS,
            {
                "to": [{"ipBlock": {"cidr": cidr}} for cidr in ISOLATED],
                "ports": [{"protocol": "TCP", "port": 5432}],
            },
            {
                "to": [{"ipBlock": {"cidr": cidr}} for cidr in PRIVATE],
                "ports": [{"protocol": "TCP", "port": 443}],
            },
        ],
    }


def test_egress_follows_the_port_and_public_endpoints():
    plan = plan_databases(databases_args(port=6543, endpoint_cidrs=("0.0.0.0/0",)))
    egress = one(plan, POLICY).inputs["spec"]["egress"]
    assert egress[1]["ports"] == [{"protocol": "TCP", "port": 6543}]
    assert egress[2] == {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
        "ports": [{"protocol": "TCP", "port": 443}],
    }
    assert env(container(plan, "setup"))["PGPORT"] == "6543"


# --- the pod -------------------------------------------------------------------------------


def test_pod_security_context(prod):
    assert pod(prod)["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "fsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


@pytest.mark.parametrize("name", ["fetch-secret", "setup"])
def test_both_containers_meet_pod_security_restricted(prod, name):
    item = container(prod, name)
    assert item["securityContext"] == RESTRICTED_CONTEXT
    assert "ports" not in item
    assert item["resources"]["requests"].keys() == {"cpu", "memory"}
    assert item["resources"]["limits"].keys() == {"cpu", "memory"}
    assert env(item)["HOME"] == "/tmp"
    mounts = {m["mountPath"]: m for m in item["volumeMounts"]}
    assert mounts["/tmp"]["readOnly"] is False
    assert mounts[CREDENTIALS_DIR] == {
        "name": "credentials",
        "mountPath": CREDENTIALS_DIR,
        "readOnly": False,
    }


def test_only_restricted_volume_types_and_no_host_access(prod):
    spec = pod(prod)
    assert not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
    assert [c["name"] for c in spec["initContainers"]] == ["fetch-secret"]
    assert [c["name"] for c in spec["containers"]] == ["setup"]
    for volume in spec["volumes"]:
        assert set(volume) - {"name"} <= {"emptyDir", "configMap"}, volume


def test_credentials_live_in_memory_only(prod):
    volumes = {v["name"]: v for v in pod(prod)["volumes"]}
    assert volumes["credentials"] == {
        "name": "credentials",
        "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"},
    }
    assert volumes["tmp"] == {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}
    assert volumes["config"] == {
        "name": "config",
        "configMap": {"name": job(prod)["metadata"]["name"], "defaultMode": 0o444},
    }
    # The secret and the password file are written to the memory volume, nowhere else.
    assert f"> {CREDENTIALS_DIR}/master-secret.json" in FETCH_COMMAND
    assert env(container(prod, "setup"))["PGPASSFILE"] == f"{CREDENTIALS_DIR}/pgpass"
    config_mount = container(prod, "setup")["volumeMounts"][0]
    assert config_mount == {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}


def test_images_are_pinned_and_never_latest(prod):
    assert container(prod, "fetch-secret")["image"] == AWS_CLI_IMAGE
    assert container(prod, "setup")["image"] == POSTGRES_IMAGE
    for image in (AWS_CLI_IMAGE, POSTGRES_IMAGE):
        assert image_problem(image) is None
        assert image.startswith("public.ecr.aws/")
        assert re.search(r":\d+\.\d+(\.\d+)?(-[a-z]+)?$", image), image
    for name in ("fetch-secret", "setup"):
        assert container(prod, name)["imagePullPolicy"] == "IfNotPresent"


def test_images_can_be_moved():
    plan = plan_databases(
        databases_args(
            aws_cli_image="registry.example/aws-cli:2.33.0",
            postgres_image=f"registry.example/postgres:17.6@sha256:{'a' * 64}",
        )
    )
    assert container(plan, "fetch-secret")["image"] == "registry.example/aws-cli:2.33.0"
    assert container(plan, "setup")["image"].endswith("a" * 64)


def test_fetch_reads_the_secret_with_the_jobs_role(prod):
    item = container(prod, "fetch-secret")
    assert item["command"] == ["/bin/sh", "-c", FETCH_COMMAND]
    assert env(item) == {
        "HOME": "/tmp",
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        "MASTER_SECRET_ARN": SECRET_ARN,
    }
    assert "umask 077" in FETCH_COMMAND
    assert '--secret-id "$MASTER_SECRET_ARN"' in FETCH_COMMAND


def test_setup_connects_with_tls_and_channel_binding(prod):
    item = container(prod, "setup")
    assert item["command"] == ["/bin/sh", "-c", SETUP_COMMAND]
    assert env(item) == {
        "HOME": "/tmp",
        "PGHOST": HOST,
        "PGPORT": "5432",
        "PGDATABASE": "postgres",
        "PGSSLMODE": "require",
        "PGCHANNELBINDING": "require",
        "PGPASSFILE": f"{CREDENTIALS_DIR}/pgpass",
        "PGCONNECT_TIMEOUT": "10",
        "PGAPPNAME": DEFAULT_OBJECT_NAME,
    }
    assert "--set ON_ERROR_STOP=1" in SETUP_COMMAND
    assert f"|| exit {SCRIPT_ERROR_EXIT_CODE}" in SETUP_COMMAND


def test_with_rds_ca_the_server_is_verified(verified):
    setup = env(container(verified, "setup"))
    assert setup["PGSSLMODE"] == "verify-full"
    assert setup["PGSSLROOTCERT"] == f"{CONFIG_DIR}/{CA_BUNDLE_KEY}"
    assert setup["PGCHANNELBINDING"] == "prefer"
    assert setup["PGHOST"] == HOST
    data = one(verified, CONFIG_MAP).inputs["data"]
    assert data[CA_BUNDLE_KEY] == CA_BUNDLE
    # The bundle is part of the hash: a new bundle is a new Job.
    assert job(verified)["metadata"]["name"] == (
        f"{DEFAULT_OBJECT_NAME}-{content_hash(config_data(USERS, CA_BUNDLE))}"
    )
    assert env(container(verified, "fetch-secret"))["MASTER_SECRET_ARN"] == SECRET_ARN
    assert policy_statements(verified)["ReadSecrets"]["Resource"] == [SECRET_ARN]


def test_no_password_anywhere_in_the_plan(prod, verified):
    for plan in (prod, verified):
        text = plan.dumps()
        assert manifests_of.SECRET not in text
        assert "PGPASSWORD" not in text
        items = manifests_of.manifests(plan)
        assert len(items) == 4
        for item in items:
            assert manifests_of.secrets_in(item) == [], item["kind"]
        for name in ("fetch-secret", "setup"):
            for variable in container(plan, name)["env"]:
                assert not re.search(r"PASSWORD|SECRET$", variable["name"]), variable
    # Nothing in the pod spec can carry one: no Secret volume, no env from a Secret.
    assert '"secretKeyRef"' not in prod.dumps() and '"secret":' not in prod.dumps()


def test_a_new_user_is_a_new_job_and_the_same_users_are_the_same():
    first = plan_databases(databases_args())
    reordered = plan_databases(databases_args(users=tuple(reversed(USERS))))
    grown = plan_databases(databases_args(users=(*USERS, "grades")))
    names = [job(p)["metadata"]["name"] for p in (first, reordered, grown)]
    assert names[0] == names[1] != names[2]
    assert one(grown, CONFIG_MAP).inputs["metadata"]["name"] == names[2]
    assert "-- grades:" in one(grown, CONFIG_MAP).inputs["data"][SCRIPT_KEY]
    # The policy follows the Job's pods.
    policy = one(grown, POLICY).inputs["spec"]["podSelector"]
    assert policy == {"matchLabels": {"batch.kubernetes.io/job-name": names[2]}}


def test_names_follow_the_object_name_and_the_deadline():
    plan = plan_databases(databases_args(object_name="db-setup", deadline_seconds=600))
    assert one(plan, ACCOUNT_TYPE).inputs["metadata"]["name"] == "db-setup"
    assert one(plan, POLICY).inputs["metadata"]["name"] == "db-setup"
    assert re.fullmatch(r"db-setup-[0-9a-f]{10}", job(plan)["metadata"]["name"])
    assert job(plan)["spec"]["activeDeadlineSeconds"] == 600
    assert pod(plan)["serviceAccountName"] == "db-setup"
    (statement,) = json.loads(one(plan, ROLE).inputs["assumeRolePolicy"])["Statement"]
    assert statement["Condition"]["StringEquals"][f"{ISSUER}:sub"] == (
        f"system:serviceaccount:{NAMESPACE}:db-setup"
    )


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_strictly(prod, verified, version):
    checked = manifests_of.validate_all(prod, version) + manifests_of.validate_all(
        verified, version
    )
    assert Counter(m["kind"] for m in checked) == Counter(
        {"ServiceAccount": 2, "ConfigMap": 2, "NetworkPolicy": 2, "Job": 2}
    )
    assert manifests_of.custom_resources(prod) == []


# --- the helpers, run for real -------------------------------------------------------------


def _perl_with_json_pp() -> bool:
    perl = shutil.which("perl")
    return bool(perl) and subprocess.run([perl, "-MJSON::PP", "-e", "1"]).returncode == 0


needs_perl = pytest.mark.skipif(not _perl_with_json_pp(), reason="needs perl with JSON::PP")


def run_pgpass(tmp_path: Path, secret_text: str) -> tuple[subprocess.CompletedProcess, Path]:
    program = tmp_path / "pgpass.pl"
    program.write_text(PGPASS_PROGRAM)
    secret = tmp_path / "secret.json"
    secret.write_text(secret_text)
    pgpass = tmp_path / "pgpass"
    result = subprocess.run(
        ["perl", str(program), str(secret), str(pgpass)],
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(0o077),
    )
    return result, pgpass


@needs_perl
def test_pgpass_program_escapes_the_password(tmp_path):
    password = 'p:a\\ss"w0rd/x'
    secret = json.dumps({"username": "osp_admin", "password": password, "engine": "postgres"})
    result, pgpass = run_pgpass(tmp_path, secret)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "osp_admin"
    assert pgpass.read_text() == '*:*:*:*:p\\:a\\\\ss"w0rd/x\n'
    assert stat.S_IMODE(pgpass.stat().st_mode) == 0o600


@needs_perl
@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ('{"username": "osp_admin", "password": "hunter2-trunc', "is not a JSON object"),
        ('["osp_admin", "hunter2-list"]', "is not a JSON object"),
        ('{"username": "osp_admin", "pass": "hunter2-key"}', "has no username or password"),
        ('{"username": "osp admin", "password": "hunter2-name"}', "not a plain PostgreSQL name"),
        ('{"username": "osp_admin", "password": "hunter2\\nbreak"}', "holds a line break"),
    ],
)
def test_pgpass_program_never_prints_the_password(tmp_path, secret, message):
    result, pgpass = run_pgpass(tmp_path, secret)
    assert result.returncode != 0
    assert "osp: the master " in result.stderr and message in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    assert not pgpass.exists()


def localised(command: str, tmp_path: Path) -> str:
    return command.replace(CONFIG_DIR, str(tmp_path / "config")).replace(
        CREDENTIALS_DIR, str(tmp_path / "run")
    )


@needs_perl
@pytest.mark.parametrize("psql_status", [0, 2, 3])
def test_setup_command_removes_the_credentials_and_keeps_psqls_status(tmp_path, psql_status):
    """The container's shell, with a stand-in psql that records what it was given."""
    (tmp_path / "config").mkdir()
    (tmp_path / "run").mkdir()
    (tmp_path / "config" / PGPASS_PROGRAM_KEY).write_text(PGPASS_PROGRAM)
    (tmp_path / "run" / "master-secret.json").write_text(
        json.dumps({"username": "osp_admin", "password": "s3cr:et"})
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    psql = bin_dir / "psql"
    psql.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$PGUSER" "$*" > {tmp_path}/psql-call\n'
        f'cat "$PGPASSFILE" >> {tmp_path}/psql-call\n'
        f"ls {tmp_path}/run >> {tmp_path}/psql-call\n"
        f"exit {psql_status}\n"
    )
    psql.chmod(0o755)
    result = subprocess.run(
        ["/bin/sh", "-c", localised(SETUP_COMMAND, tmp_path)],
        env={
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "PGPASSFILE": str(tmp_path / "run" / "pgpass"),
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == psql_status, result.stderr
    user, arguments, entry, *listing = (tmp_path / "psql-call").read_text().splitlines()
    assert user == "osp_admin"
    assert arguments == (
        f"--no-psqlrc --echo-queries --set ON_ERROR_STOP=1 --file {tmp_path}/config/{SCRIPT_KEY}"
    )
    assert entry == "*:*:*:*:s3cr\\:et"
    # While psql runs, only the password file is there; afterwards, nothing.
    assert listing == ["pgpass"]
    assert list((tmp_path / "run").iterdir()) == []


@needs_perl
def test_setup_command_stops_with_the_script_error_status_on_a_bad_secret(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "run").mkdir()
    (tmp_path / "config" / PGPASS_PROGRAM_KEY).write_text(PGPASS_PROGRAM)
    (tmp_path / "run" / "master-secret.json").write_text("not json")
    result = subprocess.run(
        ["/bin/sh", "-c", localised(SETUP_COMMAND, tmp_path)],
        env={"PATH": os.environ["PATH"], "PGPASSFILE": str(tmp_path / "run" / "pgpass")},
        capture_output=True,
        text=True,
    )
    assert result.returncode == SCRIPT_ERROR_EXIT_CODE
    assert "osp: the master user secret is not a JSON object" in result.stderr


def test_shell_commands_parse():
    for command in (FETCH_COMMAND, SETUP_COMMAND):
        result = subprocess.run(["/bin/sh", "-n", "-c", command], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


# --- arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"namespace": "Osp"}, "namespace: got 'Osp'; expected a DNS-1123 label"),
        ({"namespace": "kube-system"}, "namespace: got 'kube-system'; expected the estate's"),
        ({"users": "fee"}, "users: got 'fee'; expected a list of PostgreSQL names"),
        ({"users": ()}, "users: got []; expected at least one user"),
        ({"users": ("fee", "Fee")}, "users[1]: got 'Fee'; expected a PostgreSQL name"),
        ({"users": ("course-review",)}, "users[0]: got 'course-review'; expected a PostgreSQL"),
        (
            {"users": ("postgres",)},
            "users[0]: got 'postgres'; expected a PostgreSQL name of the service's own",
        ),
        (
            {"users": ("rds_sync",)},
            "users[0]: got 'rds_sync'; expected a PostgreSQL name of the service's own",
        ),
        (
            {"users": ("pg_read",)},
            "users[0]: got 'pg_read'; expected a PostgreSQL name of the service's own",
        ),
        ({"users": ("fee", "fee")}, "users[1]: got 'fee'; expected each user once"),
        ({"users": (["fee"],)}, "users[0]: got ['fee']; expected a PostgreSQL name"),
        ({"host": "db host"}, "host: got 'db host'; expected the instance's address"),
        ({"host": 5432}, "host: got 5432; expected a str or Output[str]"),
        (
            {"master_secret_arn": "rds!db-0123"},
            "master_secret_arn: got 'rds!db-0123'; expected a Secrets Manager secret ARN",
        ),
        (
            {"master_secret_kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/osp"},
            f"master_secret_kms_key_arn: got 'arn:aws:kms:{REGION}:{ACCOUNT}:alias/osp'; "
            "expected a KMS key ARN (not an alias)",
        ),
        (
            {"master_secret_kms_key_arn": None},
            "master_secret_kms_key_arn: got None; expected a str or Output[str]",
        ),
        ({"oidc_provider_arn": "arn:aws:iam::1:role/x"}, "oidc_provider_arn: got 'arn:aws:iam"),
        (
            {"oidc_provider_url": f"https://{ISSUER}"},
            f"oidc_provider_url: got 'https://{ISSUER}'; expected the issuer without https://",
        ),
        ({"role_name": "osp prod"}, "role_name: got 'osp prod'; expected an IAM role name"),
        ({"role_name": ""}, "role_name: got ''; expected an IAM role name"),
        ({"region": "us-east"}, "region: got 'us-east'; expected an AWS region"),
        ({"database_cidrs": ()}, "database_cidrs: got []; expected at least one CIDR"),
        (
            {"database_cidrs": "10.0.64.0/20"},
            "database_cidrs: got '10.0.64.0/20'; expected a list of CIDRs",
        ),
        (
            {"database_cidrs": ("0.0.0.0/0",)},
            "database_cidrs[0]: got '0.0.0.0/0'; expected the isolated subnets' CIDRs, not the "
            "whole address space",
        ),
        (
            {"database_cidrs": ("10.0.64.1/20",)},
            "database_cidrs[0]: got '10.0.64.1/20'; expected an IPv4 CIDR block",
        ),
        (
            {"database_cidrs": ISOLATED + ISOLATED[:1]},
            "database_cidrs: got ['10.0.64.0/20', '10.0.80.0/20', '10.0.64.0/20']; expected "
            "each CIDR once",
        ),
        ({"endpoint_cidrs": ()}, "endpoint_cidrs: got []; expected at least one CIDR"),
        (
            {"endpoint_cidrs": ("fd00::/8",)},
            "endpoint_cidrs[0]: got 'fd00::/8'; expected an IPv4 CIDR block (the VPC is IPv4)",
        ),
        ({"port": 0}, "port: got 0; expected the instance's port, 1 to 65535"),
        ({"port": True}, "port: got True; expected the instance's port"),
        ({"ca_bundle_pem": "not a pem"}, "ca_bundle_pem: got '<pem>'; expected None, or RDS's"),
        (
            {"ca_bundle_pem": CA_BUNDLE + "-----BEGIN PRIVATE KEY-----\n"},
            "ca_bundle_pem: got '<pem>'; expected certificates only: a private key never goes "
            "into a ConfigMap",
        ),
        ({"ca_bundle_pem": b"pem"}, "ca_bundle_pem: got b'pem'; expected None"),
        (
            {"object_name": "Setup"},
            "object_name: got 'Setup'; expected a DNS-1123 label of at most 52 characters",
        ),
        ({"object_name": "s" * 53}, "object_name: got 'ssss"),
        (
            {"aws_cli_image": "public.ecr.aws/aws-cli/aws-cli:latest"},
            "aws_cli_image: got 'public.ecr.aws/aws-cli/aws-cli:latest'; expected an explicit "
            "version tag, never 'latest'",
        ),
        (
            {"postgres_image": "postgres"},
            "postgres_image: got 'postgres'; expected a full image reference with an explicit tag",
        ),
        ({"postgres_image": None}, "postgres_image: got None; expected an image reference"),
        ({"deadline_seconds": 59}, "deadline_seconds: got 59; expected 60 to 1800"),
        ({"deadline_seconds": 1801}, "deadline_seconds: got 1801; expected 60 to 1800"),
        (
            {"labels": {"app.kubernetes.io/name": "x"}},
            "labels: got 'app.kubernetes.io/name'; expected no app.kubernetes.io/name",
        ),
        (
            {"labels": {"batch.kubernetes.io/job-name": "x"}},
            "labels: got 'batch.kubernetes.io/"
            "job-name'; expected none of the Job controller's own labels",
        ),
        ({"labels": {"job-name": "x"}}, "labels: got 'job-name'; expected none of the Job"),
        ({"labels": {"team": "a b"}}, "labels['team']: got 'a b'"),
        ({"node_selector": {"osp.io/pool": "work load"}}, "node_selector['osp.io/pool']"),
    ],
)
def test_refuses_bad_args(overrides, message):
    with pytest.raises(InvalidArguments, match=re.escape(f"ServiceDatabases {NAME}: {message}")):
        plan_databases(databases_args(**overrides))


def test_reports_every_problem_at_once():
    found = problems(
        "d", databases_args(users=(), port=0, region="x", database_cidrs=("0.0.0.0/0",))
    )
    assert [p.split(":")[1].strip() for p in found] == [
        "users",
        "region",
        "database_cidrs[0]",
        "port",
    ]


def test_valid_args_have_no_problems():
    assert problems("d", databases_args()) == []
    assert problems("d", databases_args(ca_bundle_pem=CA_BUNDLE, users=["a"])) == []
    assert problems("d", databases_args(endpoint_cidrs=["0.0.0.0/0"], object_name="s" * 52)) == []
    # A long role name is fitted to IAM's 64 characters by ServiceIdentity, not refused.
    assert problems("d", databases_args(role_name="osp-" + "r" * 80)) == []
    outputs = {
        key: pulumi.Output.from_input(value)
        for key, value in (
            ("host", HOST),
            ("master_secret_arn", SECRET_ARN),
            ("master_secret_kms_key_arn", KEY_ARN),
            ("oidc_provider_arn", OIDC_ARN),
            ("oidc_provider_url", ISSUER),
        )
    }
    assert problems("d", databases_args(**outputs)) == []


def test_a_wildcard_secret_from_an_output_fails_the_deployment():
    with pytest.raises(InvalidArguments, match=re.escape("grants.secret_arns: got 'arn:aws:")):
        plan_databases(
            databases_args(
                master_secret_arn=pulumi.Output.from_input(
                    f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:*"
                )
            )
        )
