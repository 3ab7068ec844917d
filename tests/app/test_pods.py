"""`osp.app.pods`: the pieces every pod of the application layer is built from, and the checks
of what they are given. The blocks that use them (test_workload, test_databases,
test_rabbitmq) test the objects they make; here, the pieces' own rules."""

from __future__ import annotations

import pytest

from osp.app import pods
from osp.app.databases import FETCH_COMMAND, PGPASS_PROGRAM, SETUP_COMMAND
from osp.app.rabbitmq import PROGRAM, READ_SCRIPT, STORE_SCRIPT
from osp.platform import limits
from tests.app.k8s import DNS_EGRESS

# --- checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("namespace", "expected"),
    [
        ("osp-services", None),
        ("Osp", "a DNS-1123 label such as osp-services"),
        ("x" * 64, "a DNS-1123 label such as osp-services"),
        (None, "a DNS-1123 label such as osp-services"),
        (
            "default",
            "the estate's services namespace, not default or a kube-* namespace (they "
            "do not enforce Pod Security restricted)",
        ),
        (
            "kube-node-lease",
            "the estate's services namespace, not default or a kube-* "
            "namespace (they do not enforce Pod Security restricted)",
        ),
    ],
)
def test_namespace(namespace, expected):
    assert pods.namespace_problem(namespace) == expected


def test_labels():
    key, value = limits.K8S_LABEL_KEY.expected, limits.K8S_LABEL_VALUE.expected
    longest = "a" * 253 + "/" + "b" * 63
    assert pods.label_problems("labels", {"example.com/team": "a_b-c.d", longest: ""}) == []
    assert pods.label_problems(
        "labels",
        {"-team": "x", "team": "a b", "x" * 254 + "/" + "b" * 63: "x", 3: "x", "ok": 3},
    ) == [
        ("labels", "-team", key),
        ("labels['team']", "a b", value),
        ("labels", "x" * 254 + "/" + "b" * 63, key),
        ("labels", 3, key),
        ("labels['ok']", 3, value),
    ]


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("public.ecr.aws/aws-cli/aws-cli:2.32.0", None),
        ("localhost:5000/fee:1.0", None),
        (f"fee:1.0@sha256:{'a' * 64}", None),
        (
            "localhost:5000/fee",
            "a full image reference with an explicit tag, <repository url>:<tag>",
        ),
        (":1.0", "a full image reference with an explicit tag, <repository url>:<tag>"),
        ("fee:1.0@sha256:abc", "a digest of the form sha256:<64 hex digits> after '@'"),
        ("fee:-1", "a tag of letters, digits, '_', '.' and '-', at most 128 characters"),
        (
            "fee:LATEST",
            "an explicit version tag, never 'latest': a moving tag makes a rollout "
            "unrepeatable and a rollback impossible",
        ),
        (None, "an image reference"),
    ],
)
def test_image(image, expected):
    assert pods.image_problem(image) == expected


def test_image_arguments():
    assert list(pods.image_problems(a="fee:1.0", b="fee:latest", c=None)) == [
        ("b", "fee:latest", pods.image_problem("fee:latest")),
        ("c", None, "an image reference"),
    ]


def test_cidr():
    assert pods.cidr_problem("10.0.0.0/16") is None
    assert pods.cidr_problem("0.0.0.0/0") is None
    assert pods.cidr_problem("0.0.0.0/0", whole_space="the subnets") == "the subnets"
    assert pods.cidr_problem("10.0.0.1/16") == (
        "an IPv4 CIDR block such as 10.0.0.0/24 (no host bits set)"
    )
    assert pods.cidr_problem("fd00::/8") == "an IPv4 CIDR block (the VPC is IPv4)"
    assert pods.cidr_problem(10) == "an IPv4 CIDR block such as 10.0.0.0/24"


def test_cidr_lists():
    assert list(pods.cidr_list_problems("c", ["10.0.0.0/24", "10.0.1.0/24"])) == []
    assert list(pods.cidr_list_problems("c", "10.0.0.0/24")) == [
        ("c", "10.0.0.0/24", "a list of CIDRs, not one string")
    ]
    assert list(pods.cidr_list_problems("c", [])) == [
        ("c", [], "at least one CIDR (otherwise the pods can reach nothing there)")
    ]
    assert list(
        pods.cidr_list_problems("c", ("10.0.0.0/24", "0.0.0.0/0", "10.0.0.0/24"), whole_space="w")
    ) == [
        ("c[1]", "0.0.0.0/0", "w"),
        ("c", ["10.0.0.0/24", "0.0.0.0/0", "10.0.0.0/24"], "each CIDR once"),
    ]


# --- pieces --------------------------------------------------------------------------------


def test_no_ingress_policy_reaches_dns_first_and_then_only_its_rules():
    spec = pods.no_ingress_policy_spec(
        {"app": "x"}, [pods.cidr_egress(["10.0.0.0/24", "10.0.1.0/24"], [443, 8443], "UDP")]
    )
    assert spec == {
        "podSelector": {"matchLabels": {"app": "x"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [],
        "egress": [
            DNS_EGRESS,
            {
                "to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}, {"ipBlock": {"cidr": "10.0.1.0/24"}}],
                "ports": [{"protocol": "UDP", "port": 443}, {"protocol": "UDP", "port": 8443}],
            },
        ],
    }


def test_a_jobs_pod_runs_once_as_its_own_account_without_api_token():
    spec = pods.job_pod_spec(
        service_account="setup",
        node_selector={"osp.io/pool": "workload"},
        init_containers=[{"name": "a"}],
        containers=[{"name": "b"}],
        volumes=[
            pods.scratch_volume("tmp", "64Mi"),
            pods.memory_volume("credentials", "1Mi"),
            pods.config_map_volume("config", "setup-0123456789"),
        ],
    )
    assert spec == {
        "restartPolicy": "Never",
        "serviceAccountName": "setup",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "fsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "nodeSelector": {"osp.io/pool": "workload"},
        "initContainers": [{"name": "a"}],
        "containers": [{"name": "b"}],
        "volumes": [
            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
            {"name": "credentials", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
            {"name": "config", "configMap": {"name": "setup-0123456789", "defaultMode": 0o444}},
        ],
    }
    assert pods.workload_pool() == {"osp.io/pool": "workload"}


def test_containers_meet_pod_security_restricted():
    context = pods.container_security_context()
    assert context["runAsNonRoot"] is True and context["runAsUser"] == pods.RUN_AS != 0
    assert context["allowPrivilegeEscalation"] is False and context["privileged"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["readOnlyRootFilesystem"] is True
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}


# --- the programs the Jobs run -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("rabbitmq_topology.py", PROGRAM),
        ("read_credentials.sh", READ_SCRIPT),
        ("store_credentials.sh", STORE_SCRIPT),
        ("pgpass.pl", PGPASS_PROGRAM),
    ],
)
def test_programs_ship_as_files(name, text):
    assert pods.job_file(name) == text
    assert text.endswith("\n") and "\r" not in text


def test_the_database_commands_are_filled_in_completely():
    for command in (FETCH_COMMAND, SETUP_COMMAND):
        assert "{" not in command and "}" not in command
    assert "> /run/osp/master-secret.json\n" in FETCH_COMMAND
    assert "perl /etc/osp/pgpass.pl /run/osp/master-secret.json" in SETUP_COMMAND
    assert "|| exit 3\n" in SETUP_COMMAND


def test_an_unknown_program_is_an_error():
    with pytest.raises(FileNotFoundError):
        pods.job_file("missing.sh")
