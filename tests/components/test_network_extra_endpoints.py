"""`Network`'s further interface endpoints (`extra_interface_endpoints`): SSM for an estate
whose services read parameters."""

from __future__ import annotations

import pytest

from osp.components.network import INTERFACE_ENDPOINT_SERVICES, problems
from tests.components.test_network import network_args, plan_network

ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def test_an_extra_endpoint_like_the_others():
    plan = plan_network(extra_interface_endpoints=("ssm",))
    endpoints = {r.name: r.inputs for r in plan.of_type(ENDPOINT)}
    ssm = endpoints["net-ssm"]
    assert ssm["serviceName"] == "com.amazonaws.us-east-1.ssm"
    assert (ssm["vpcEndpointType"], ssm["privateDnsEnabled"]) == ("Interface", True)
    assert len(ssm["subnetIds"]) == 3
    assert ssm["securityGroupIds"] == endpoints["net-sts"]["securityGroupIds"]
    interface = [n for n, e in endpoints.items() if e["vpcEndpointType"] == "Interface"]
    assert len(interface) == len(INTERFACE_ENDPOINT_SERVICES) + 1


def test_none_without_interface_endpoints():
    plan = plan_network(extra_interface_endpoints=("ssm",), interface_endpoints=False)
    assert [r.name for r in plan.of_type(ENDPOINT)] == ["net-s3"]


@pytest.mark.parametrize(
    ("extra", "position", "value"),
    [(("ssm", "ssm"), 1, "ssm"), (("sts",), 0, "sts"), (("SSM",), 0, "SSM"), (("",), 0, "")],
)
def test_refuses_a_bad_or_repeated_service(extra, position, value):
    found = problems("net", network_args(extra_interface_endpoints=extra))
    assert found == [
        f"Network net: extra_interface_endpoints[{position}]: got {value!r}; expected an AWS "
        "service name such as ssm, once, and not one of the default endpoints (ecr.api, "
        "ecr.dkr, sts, secretsmanager, logs, sqs, sns)"
    ]
