"""The estates' media through CloudFront: osp's media.<domain> (branding public, photos
signed, enrollment the signer) and learning-hub's (courses public), in dev and prod."""

from __future__ import annotations

import json

import pytest

from tests.components.test_media_distribution import PUBLIC_KEY
from tests.support import estate_plan, plan_of, spec_of, statements

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
KEY_GROUP = "aws:cloudfront/keyGroup:KeyGroup"


def keyed(env: str):
    """The estate of `env` once the operator has given the URL-signing public key."""
    spec = spec_of(env)
    edge = spec.edge.model_copy(update={"url_signing_public_key": PUBLIC_KEY})
    return estate_plan(spec.model_copy(update={"edge": edge}))


def bucket_statement(plan, env: str) -> dict:
    policy = plan.named(f"osp-{env}-media-policy").inputs["policy"]
    return statements(policy)["CloudFrontReadsDeliveredPrefixes"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_osp_serves_branding_publicly_and_photos_not_before_a_key(env):
    plan = plan_of(env)
    domain = spec_of(env).domain
    media = plan.named(f"osp-{env}-media-cdn-distribution")
    assert media.inputs["aliases"] == [f"media.{domain}"]
    assert [b["pathPattern"] for b in media.inputs["orderedCacheBehaviors"]] == ["branding/*"]
    assert not plan.of_type(KEY_GROUP)
    statement = bucket_statement(plan, env)
    assert [r.rsplit("/", 2)[-2] for r in statement["Resource"]] == ["branding"]
    assert statement["Condition"]["StringEquals"]["AWS:SourceArn"].startswith(
        "arn:aws:cloudfront::"
    )
    # The bucket stays private: its public access block is untouched, its policy still
    # refuses plain HTTP, and no other principal is admitted.
    block = plan.named(f"osp-{env}-media-public-access-block").inputs
    assert all(
        block[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    by_sid = statements(plan.named(f"osp-{env}-media-policy").inputs["policy"])
    assert set(by_sid) == {"DenyInsecureTransport", "CloudFrontReadsDeliveredPrefixes"}
    # DNS: media.<domain> aliases the distribution.
    records = [
        r
        for r in plan.of_type("aws:route53/record:Record")
        if r.name.startswith(f"osp-{env}-dns-media-")
    ]
    assert sorted(r.inputs["type"] for r in records) == ["A", "AAAA"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_osp_with_the_public_key_signs_photos_and_enrollment_reads_the_private_key(env):
    plan = keyed(env)
    media = plan.named(f"osp-{env}-media-cdn-distribution")
    by_path = {b["pathPattern"]: b for b in media.inputs["orderedCacheBehaviors"]}
    assert list(by_path) == ["branding/*", "photos/*"]
    assert (
        by_path["photos/*"]["trustedKeyGroups"]
        == media.inputs["defaultCacheBehavior"]["trustedKeyGroups"]
    )
    assert "trustedKeyGroups" not in by_path["branding/*"]
    statement = bucket_statement(plan, env)
    assert [r.rsplit("/", 2)[-2] for r in statement["Resource"]] == ["branding", "photos"]

    secret = plan.named(f"osp-{env}-media-cdn-signing-key")
    secret_arn = (
        f"arn:aws:secretsmanager:us-east-1:123456789012:secret:osp-{env}-media-cdn/url-signing-key"
    )
    readers = []
    for policy in plan.of_type("aws:iam/rolePolicy:RolePolicy"):
        if secret.inputs["name"] in policy.inputs.get("policy", ""):
            readers.append(policy.name)
    assert readers == [f"osp-{env}-enrollment-identity-policy"]
    by_sid = statements(plan.named(f"osp-{env}-enrollment-identity-policy").inputs["policy"])
    read = [s for s in by_sid.values() if "secretsmanager:GetSecretValue" in json.dumps(s)]
    assert any(any(r.startswith(secret_arn) for r in s["Resource"]) for s in read)
    env_vars = {
        e["name"]: e.get("value")
        for c in plan.named(f"osp-{env}-enrollment-workload-deployment").inputs["spec"]["template"][
            "spec"
        ]["containers"]
        for e in c.get("env", [])
    }
    assert env_vars["BUCKET_MEDIA_CDN_DOMAIN"] == f"media.{spec_of(env).domain}"
    assert {"BUCKET_MEDIA_CDN_SIGNING_KEY_SECRET_ARN", "BUCKET_MEDIA_CDN_KEY_PAIR_ID"} <= set(
        env_vars
    )


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_learning_hub_serves_course_media(env):
    plan = plan_of(env, "learning-hub")
    media = plan.named(f"osp-{env}-media-cdn-distribution")
    assert [b["pathPattern"] for b in media.inputs["orderedCacheBehaviors"]] == ["courses/*"]
    assert not plan.of_type(KEY_GROUP)
    assert not [
        r for r in plan.of_type("aws:secretsmanager/secret:Secret") if "media-cdn" in r.name
    ]
    statement = bucket_statement(plan, env)
    assert [r.rsplit("/", 2)[-2] for r in statement["Resource"]] == ["courses"]


@pytest.mark.parametrize("blueprint", ["learning-platform", "code-learn"])
def test_blueprints_without_delivery_have_no_media_distribution(blueprint):
    plan = plan_of("prod", blueprint)
    assert not [r for r in plan.of_type(DISTRIBUTION) if "media-cdn" in r.name]
