"""`ServiceSecrets` through the offline engine: generated values never in the clear, placeholders
never holding a value, encryption, names, protection, tags."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from osp.components.secrets import (
    GeneratedSecret,
    PlaceholderSecret,
    ServiceSecrets,
    ServiceSecretsArgs,
    generated_document,
    placeholder_description,
    problems,
)
from osp.platform.engine import offline
from osp.platform.validation import InvalidArguments
from tests.support import plan_component, spec_of

TAGS = {"osp:environment": "t", "osp:component": "secrets", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip
KEY = "arn:aws:kms:us-east-1:123456789012:key/secrets"
SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
PASSWORD = "random:index/randomPassword:RandomPassword"

JWT = GeneratedSecret(name="jwt-signing-key", description="Signs and verifies access tokens")
PAYMENT = PlaceholderSecret(
    name="payment-gateway",
    description="Payment gateway API keys (Stripe)",
    keys=("publishable_key", "secret_key", "webhook_secret"),
)


def secrets_args(**overrides) -> ServiceSecretsArgs:
    return ServiceSecretsArgs(
        **{
            "prefix": "osp-t",
            "kms_key_arn": KEY,
            "generated": (JWT,),
            "placeholders": (PAYMENT,),
            "recovery_window_days": 0,
            "deletion_protection": False,
            "tags": TAGS,
            **overrides,
        }
    )


def plan_secrets(name: str = "osp-t-secrets", **overrides):
    return plan_component(
        ServiceSecrets, secrets_args(**overrides), name=name, exports=("secret_arns",)
    )


def secrets_of(plan):
    """The plan's secrets (never none, so that no test passes on an empty plan)."""
    found = plan.of_type(SECRET)
    assert found, "no secret in the plan"
    return found


@pytest.fixture(scope="module")
def dev():
    return plan_secrets()


@pytest.fixture(scope="module")
def prod():
    return plan_secrets(
        recovery_window_days=30,
        deletion_protection=True,
        generated=(JWT, GeneratedSecret(name="refresh-token-key", description="x", length=128)),
    )


# -- children --------------------------------------------------------------------------


def test_children(dev):
    assert Counter(r.type for r in dev.resources if r.custom) == {
        SECRET: 2,  # one generated, one placeholder
        VERSION: 1,  # the generated one only
        PASSWORD: 1,
    }
    component = dev.named("osp-t-secrets")
    assert component.type == "osp:secrets:ServiceSecrets"
    assert all(r.parent == component.urn for r in dev.resources if r.custom)
    assert {r.name for r in dev.resources if r.custom} == {
        "osp-t-secrets-jwt-signing-key",
        "osp-t-secrets-jwt-signing-key-value",
        "osp-t-secrets-jwt-signing-key-version",
        "osp-t-secrets-payment-gateway",
    }


def test_prod_children(prod):
    assert Counter(r.type for r in prod.resources if r.custom) == {
        SECRET: 3,
        VERSION: 2,
        PASSWORD: 2,
    }


def test_names_are_under_the_prefix(dev):
    assert sorted(s.inputs["name"] for s in dev.of_type(SECRET)) == [
        "osp-t/jwt-signing-key",
        "osp-t/payment-gateway",
    ]


# -- encryption and recovery -----------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_every_secret_is_encrypted_with_the_secrets_key(fixture, request):
    for secret in secrets_of(request.getfixturevalue(fixture)):
        assert secret.inputs["kmsKeyId"] == KEY


def test_recovery_window(dev, prod):
    assert {s.inputs["recoveryWindowInDays"] for s in dev.of_type(SECRET)} == {0}
    assert {s.inputs["recoveryWindowInDays"] for s in prod.of_type(SECRET)} == {30}


# -- generated values ------------------------------------------------------------------


def test_generated_value_is_random_and_never_in_the_clear(dev):
    password = dev.named("osp-t-secrets-jwt-signing-key-value")
    assert password.inputs == {"length": 64, "special": False}
    version = dev.named("osp-t-secrets-jwt-signing-key-version")
    assert version.inputs["secretString"] == "<secret>"
    assert version.property_dependencies["secretString"] == (password.urn,)
    secret = dev.named("osp-t-secrets-jwt-signing-key")
    assert version.property_dependencies["secretId"] == (secret.urn,)


def test_generated_length_comes_from_args(prod):
    assert prod.named("osp-t-secrets-refresh-token-key-value").inputs["length"] == 128


def test_generated_secret_description_and_tags(dev):
    secret = dev.named("osp-t-secrets-jwt-signing-key")
    assert secret.inputs["description"] == "Signs and verifies access tokens"
    assert secret.inputs["tags"] == {
        "Name": "osp-t-secrets-jwt-signing-key",
        **TAGS,
        "osp:secret-keys": "value",
        "osp:secret-source": "generated",
    }


def test_generated_document():
    assert json.loads(generated_document("s3cr3t")) == {"value": "s3cr3t"}


# -- placeholders ----------------------------------------------------------------------


def test_placeholder_has_no_version_at_all(dev):
    placeholder = dev.named("osp-t-secrets-payment-gateway")
    (version,) = versions = dev.of_type(VERSION)
    assert version.name == "osp-t-secrets-jwt-signing-key-version"
    assert all(placeholder.urn not in v.property_dependencies.get("secretId", ()) for v in versions)
    assert all(v.inputs["secretId"] != "osp-t/payment-gateway" for v in versions)
    assert "secretString" not in placeholder.inputs and "secretBinary" not in placeholder.inputs


def test_placeholder_says_which_keys_the_operator_fills(dev):
    placeholder = dev.named("osp-t-secrets-payment-gateway")
    description = placeholder.inputs["description"]
    assert description.startswith("Payment gateway API keys (Stripe). Filled by the operator")
    assert "put-secret-value" in description
    assert description.endswith("publishable_key, secret_key, webhook_secret")
    assert placeholder.inputs["tags"] == {
        "Name": "osp-t-secrets-payment-gateway",
        **TAGS,
        "osp:secret-keys": "publishable_key secret_key webhook_secret",
        "osp:secret-source": "operator",
    }


def test_placeholder_tags_cannot_be_overridden_by_args_tags():
    plan = plan_secrets(tags={**TAGS, "osp:secret-keys": "oops", "osp:secret-source": "oops"})
    tags = plan.named("osp-t-secrets-payment-gateway").inputs["tags"]
    assert tags["osp:secret-keys"] == "publishable_key secret_key webhook_secret"
    assert tags["osp:secret-source"] == "operator"


def test_placeholder_description():
    text = placeholder_description(PlaceholderSecret(name="x", description="Keys.", keys=("a",)))
    assert text == (
        "Keys. Filled by the operator, never by osp: aws secretsmanager put-secret-value "
        "--secret-string with a JSON object of the keys a"
    )


def test_placeholders_only():
    plan = plan_secrets(generated=())
    assert [r.type for r in plan.resources if r.custom] == [SECRET]
    assert plan.of_type(VERSION) == [] and plan.of_type(PASSWORD) == []


# -- outputs, protection, tags ---------------------------------------------------------


def test_secret_arns_by_name(dev):
    arns = dev.outputs["secret_arns"]
    assert sorted(arns) == ["jwt-signing-key", "payment-gateway"]
    prefix = "arn:aws:secretsmanager:us-east-1:123456789012:secret:osp-t/"
    assert arns["jwt-signing-key"].startswith(prefix + "jwt-signing-key-")
    assert arns["payment-gateway"].startswith(prefix + "payment-gateway-")


def test_dev_is_not_protected(dev):
    assert not any(r.options.protect for r in dev.resources)


def test_prod_protects_every_secret_but_not_versions_or_values(prod):
    assert {r.name for r in prod.resources if r.options.protect} == {
        "osp-t-secrets-jwt-signing-key",
        "osp-t-secrets-refresh-token-key",
        "osp-t-secrets-payment-gateway",
    }


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_every_secret_is_tagged(fixture, request):
    for secret in secrets_of(request.getfixturevalue(fixture)):
        tags = secret.inputs["tags"]
        assert tags["Name"] == secret.name
        assert tags.items() >= TAGS.items()


# -- bad args --------------------------------------------------------------------------


def placeholder(**overrides) -> PlaceholderSecret:
    return PlaceholderSecret(**{"name": "gw", "description": "d", "keys": ("k",), **overrides})


def generated(**overrides) -> GeneratedSecret:
    return GeneratedSecret(**{"name": "jwt", "description": "d", **overrides})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"generated": (), "placeholders": ()},
            "generated/placeholders: got []; expected at least one secret",
        ),
        (
            {"placeholders": (placeholder(name="jwt-signing-key"),)},
            "placeholders[0].name: got 'jwt-signing-key'; expected each name once across "
            "generated and placeholders",
        ),
        (
            {"generated": (JWT, JWT)},
            "generated[1].name: got 'jwt-signing-key'; expected each name once",
        ),
        ({"generated": (generated(name="JWT"),)}, "generated[0].name: got 'JWT'; expected a name"),
        ({"generated": (generated(name="a/b"),)}, "generated[0].name: got 'a/b'"),
        ({"generated": (generated(name="a--b"),)}, "generated[0].name: got 'a--b'"),
        ({"placeholders": (placeholder(name=""),)}, "placeholders[0].name: got ''"),
        (
            {"placeholders": (placeholder(name="stripe-secret"),)},
            "placeholders[0].name: got 'stripe-secret'; expected a name that does not end in "
            "'-' and six characters",
        ),
        (
            {"generated": (generated(name="k" * 510),)},
            "generated[0].name: got '" + "k" * 510 + "'; expected a secret name 'osp-t/k",
        ),
        (
            {"generated": (generated(description=" "),)},
            "generated[0].description: got ' '; expected a description",
        ),
        (
            {"generated": (generated(description="d" * 2049),)},
            "generated[0].description: got '" + "d" * 2049 + "'; expected a description of at "
            "most 2048 characters",
        ),
        (
            {"generated": (generated(length=31),)},
            "generated[0].length: got 31; expected an integer from 32 to 4096",
        ),
        ({"generated": (generated(length=4097),)}, "generated[0].length: got 4097"),
        ({"placeholders": (placeholder(keys=()),)}, "placeholders[0].keys: got (); expected a"),
        ({"placeholders": (placeholder(keys="secret_key"),)}, "placeholders[0].keys: got 'secr"),
        (
            {"placeholders": (placeholder(keys=("secret-key",)),)},
            "placeholders[0].keys: got 'secret-key'; expected JSON keys of letters",
        ),
        (
            {"placeholders": (placeholder(keys=("a", 1)),)},
            "placeholders[0].keys: got 1; expected JSON keys of letters",
        ),
        (
            {"placeholders": (placeholder(keys=("a", "a")),)},
            "placeholders[0].keys: got ['a', 'a']; expected each key at most once",
        ),
        (
            {"placeholders": (placeholder(keys=tuple(f"key_{i:03}" for i in range(40))),)},
            "placeholders[0].keys: got ['key_000'",
        ),
        (
            {"placeholders": (placeholder(description="d" * 2000),)},
            "placeholders[0].description: got 'ddd",
        ),
        ({"prefix": "osp prod"}, "prefix: got 'osp prod'; expected a namespace"),
        ({"prefix": "/osp"}, "prefix: got '/osp'"),
        (
            {"recovery_window_days": 3},
            "recovery_window_days: got 3; expected 0 (delete at once) or 7 to 30",
        ),
        ({"recovery_window_days": 31}, "recovery_window_days: got 31"),
    ],
)
def test_refuses_bad_args(overrides, message):
    with pytest.raises(
        InvalidArguments, match=f"ServiceSecrets osp-t-secrets: {re.escape(message)}"
    ):
        plan_secrets(**overrides)


def test_refuses_names_whose_children_would_clash():
    args = secrets_args(
        generated=(generated(name="jwt"),), placeholders=(placeholder(name="jwt-version"),)
    )
    assert problems("s", args) == [
        "ServiceSecrets s: generated/placeholders: two children would both be named "
        "'s-jwt-version'; rename one of the secrets"
    ]


def test_nothing_is_created_for_bad_args():
    refused = []

    def program(spec):
        try:
            ServiceSecrets("s", secrets_args(recovery_window_days=1))
        except InvalidArguments as exc:
            refused.append(str(exc))

    plan = offline.run(spec_of("prod"), program)
    assert refused and [r for r in plan.resources if r.custom] == []


def test_reports_every_problem_at_once():
    found = problems(
        "s",
        secrets_args(prefix="X", generated=(generated(length=1),), recovery_window_days=2),
    )
    assert [p.split(": ")[1] for p in found] == [
        "prefix",
        "generated[0].length",
        "recovery_window_days",
    ]


def test_valid_args_have_no_problems():
    assert problems("s", secrets_args()) == []
    assert problems("s", secrets_args(prefix="osp/prod", recovery_window_days=7)) == []
    assert problems("s", secrets_args(generated=(generated(name="k" * 503),))) == []
