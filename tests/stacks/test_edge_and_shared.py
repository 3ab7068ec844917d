"""The estate's edge and shared services, as issue 4's done-when states them, per profile."""

from __future__ import annotations

import json

import pytest

from tests.support import plan_of, spec_of

ACL = "aws:wafv2/webAcl:WebAcl"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
RECORD = "aws:route53/record:Record"
PORTALS = ("student", "admin", "school")
SERVICES = ("identity", "school", "fee", "payment", "enrollment", "activity", "notification",
            "reporting", "admin")  # fmt: skip


def by_name(plan, token):
    return {r.name: r for r in plan.of_type(token)}


@pytest.fixture(scope="module")
def prod():
    return plan_of("prod")


@pytest.fixture(scope="module")
def dev():
    return plan_of("dev")


def test_three_portals_and_the_api_each_behind_cloudfront_and_the_edge_acl(prod):
    distributions = by_name(prod, DISTRIBUTION)
    # The portals, the API and the media bucket (tests/stacks/test_media_delivery.py).
    assert sorted(distributions) == sorted(
        [f"osp-prod-{p}-portal-distribution" for p in PORTALS]
        + ["osp-prod-api-cdn-distribution", "osp-prod-media-cdn-distribution"]
    )
    (edge_acl,) = [a for a in prod.of_type(ACL) if a.inputs["scope"] == "CLOUDFRONT"]
    for distribution in distributions.values():
        assert distribution.property_dependencies["webAclId"] == (edge_acl.urn,)
        assert distribution.inputs["viewerCertificate"]["minimumProtocolVersion"] >= "TLSv1.2_2021"
    aliases = {d.inputs["aliases"][0] for d in distributions.values()}
    assert aliases == {f"{p}.osp.example.com" for p in (*PORTALS, "api", "media")}


@pytest.mark.parametrize(("blueprint", "portal"), [("osp", "student"), ("learning-hub", "www")])
def test_one_portal_answers_for_tenants_names(blueprint, portal):
    plan = plan_of("prod", blueprint)
    domain = spec_of("prod").domain
    distributions = by_name(plan, DISTRIBUTION)
    wildcard = {
        n: d.inputs["aliases"][1:] for n, d in distributions.items() if d.inputs["aliases"][1:]
    }
    assert wildcard == {f"osp-prod-{portal}-portal-distribution": [f"*.{domain}"]}
    # The certificate it shows (the edge one, in us-east-1) covers the wildcard.
    certificates = [
        c.inputs.get("subjectAlternativeNames") or []
        for c in plan.of_type("aws:acm/certificate:Certificate")
        if (c.provider or "").endswith("::osp-prod-us-east-1")
    ]
    assert [f"*.{domain}" in names for names in certificates] == [True]


def test_both_web_acls_exist_and_the_regional_one_is_on_the_load_balancer(prod):
    acls = {a.inputs["scope"]: a for a in prod.of_type(ACL)}
    assert set(acls) == {"CLOUDFRONT", "REGIONAL"}
    # CloudFront's ACL lives in us-east-1, through the explicit provider.
    assert acls["CLOUDFRONT"].provider.endswith("::osp-prod-us-east-1")
    assert acls["REGIONAL"].provider is None
    (association,) = prod.of_type("aws:wafv2/webAclAssociation:WebAclAssociation")
    lb = prod.named("osp-prod-api-alb")
    assert association.property_dependencies["resourceArn"] == (lb.urn,)
    assert lb.inputs["enableDeletionProtection"] is True
    assert lb.inputs["dropInvalidHeaderFields"] is True


def test_the_load_balancer_has_a_target_group_and_rule_per_service(prod):
    groups = prod.of_type("aws:lb/targetGroup:TargetGroup")
    assert len(groups) == len(SERVICES)
    assert {g.inputs["targetType"] for g in groups} == {"ip"}
    assert {g.inputs["healthCheck"]["path"] for g in groups} == {"/readyz"}
    rules = prod.of_type("aws:lb/listenerRule:ListenerRule")
    patterns = {
        v for r in rules for c in r.inputs["conditions"] if "pathPattern" in c
        for v in c["pathPattern"]["values"]
    }  # fmt: skip
    assert {f"/api/{s}/*" for s in SERVICES} <= patterns


def test_the_nodes_admit_the_load_balancer_on_the_service_port_only(prod):
    rule = prod.named("osp-prod-nodes-from-api-8080")
    assert rule.inputs["fromPort"] == rule.inputs["toPort"] == 8080
    sources = rule.property_dependencies["referencedSecurityGroupId"]
    assert prod.get(sources[0]).name == "osp-prod-api-sg"


def test_zone_certificates_and_records(prod):
    assert len(prod.of_type("aws:route53/zone:Zone")) == 1
    certificates = by_name(prod, "aws:acm/certificate:Certificate")
    for certificate in certificates.values():
        assert certificate.inputs["domainName"] == "osp.example.com"
        assert certificate.inputs["subjectAlternativeNames"] == ["*.osp.example.com"]
        assert certificate.inputs["validationMethod"] == "DNS"
    edge = certificates["osp-prod-dns-edge-certificate"]
    assert edge.provider.endswith("::osp-prod-us-east-1")
    assert certificates["osp-prod-dns-regional-certificate"].provider is None
    names = {r.inputs["name"] for r in prod.of_type(RECORD) if r.inputs["type"] in ("A", "AAAA")}
    assert names == {
        f"{label}.osp.example.com" for label in (*PORTALS, "api", "api-origin", "media")
    }


def test_keys_buckets_repositories_and_secrets(prod):
    # The ring's four, DNSSEC's signing key, the audit trail's key, and the backup vaults' two
    # and the DR replicas' one (stacks/recovery.py).
    assert len(prod.of_type("aws:kms/key:Key")) == 6 + 3
    buckets = by_name(prod, "aws:s3/bucket:Bucket")
    for data in ("media", "documents", "reports", "backups"):
        assert f"osp-prod-{data}-bucket" in buckets
    assert "osp-prod-logs-bucket" in buckets
    assert all(b.options.protect for b in buckets.values())
    repositories = prod.of_type("aws:ecr/repository:Repository")
    # One per service, and one for the blueprint's thumbnails function (stacks/functions.py).
    assert sorted(r.inputs["name"].rsplit("/", 1)[1] for r in repositories) == sorted(
        [*SERVICES, "thumbnails"]
    )
    assert {r.inputs["imageTagMutability"] for r in repositories} == {"IMMUTABLE"}
    secrets = {s.inputs["name"] for s in prod.of_type("aws:secretsmanager/secret:Secret")}
    assert {"osp-prod-app/jwt-signing-key", "osp-prod-app/payment-gateway"} <= secrets


def test_every_consumer_gets_a_queue_and_dead_letter_queue_per_event(prod):
    # The events' queues: Karpenter's interruption queue is the cluster's, the rotation
    # functions' dead-letter queues are theirs, and the blueprint's own queues
    # (`osp-prod-queue-…`), its function's and its schedules' dead-letter queues are
    # stacks/functions.py's, not an event's.
    others = ("osp-prod-karpenter", "osp-prod-queue-", "osp-prod-thumbnails-function",
              "osp-prod-schedules")  # fmt: skip
    event_queues = [
        q
        for q in prod.of_type("aws:sqs/queue:Queue")
        if not q.name.startswith(others) and "-rotation-" not in q.inputs["name"]
    ]
    queues = {q.inputs["name"] for q in event_queues}
    for consumer in ("fee", "notification", "reporting"):
        assert f"osp-prod-{consumer}-enrollment-created" in queues
        assert f"osp-prod-{consumer}-enrollment-created-dlq" in queues
    subscriptions = [
        s
        for s in prod.of_type("aws:sns/topicSubscription:TopicSubscription")
        if s.inputs["protocol"] == "sqs"
    ]
    # Ten consumer queues, and notification's SMS channel on payment-completed.
    assert len(subscriptions) == len(queues) // 2 == 11
    for queue in event_queues:
        if not queue.inputs["name"].endswith("-dlq"):
            assert json.loads(queue.inputs["redrivePolicy"])["maxReceiveCount"] == 3


def test_alarms_and_one_dashboard(prod):
    alarms = {a.name.removeprefix("osp-prod-monitoring-") for a in
              prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}  # fmt: skip
    for expected in ("api-5xx-rate", "db-primary-cpu", "db-primary-free-storage",
                     "db-primary-connections", "redis-1-memory", "redis-1-engine-cpu",
                     "dlq-1-messages",
                     "cdn-api-5xx-rate", "service-fee-healthy-hosts"):  # fmt: skip
        assert expected in alarms
    assert len(prod.of_type("aws:cloudwatch/dashboard:Dashboard")) == 1
    subscriptions = prod.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert "platform-oncall@example.com" in {s.inputs["endpoint"] for s in subscriptions}


def test_dev_keeps_the_security_with_fewer_extras(dev, prod):
    for plan in (dev, prod):
        assert len(plan.of_type(ACL)) == 2
        assert len(plan.of_type(DISTRIBUTION)) == 5
    # Access logs are no extra: CloudFront's and S3's are on in every profile
    # (tests/stacks/test_hardening.py checks their targets); prod's audit bucket logs too, and
    # so do the data buckets' four DR replicas (stacks/recovery.py; dev copies nothing).
    for plan, extra in ((dev, 0), (prod, 1 + 4)):
        assert all("loggingConfig" in d.inputs for d in plan.of_type(DISTRIBUTION))
        assert len(plan.of_type("aws:s3/bucketLogging:BucketLogging")) == 7 + extra
    assert not any(r.options.protect for r in dev.resources)
    assert dev.named("osp-dev-api-alb").inputs["enableDeletionProtection"] is False


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_every_bucket_is_private_and_tls_only(environment):
    plan = plan_of(environment)
    blocks = plan.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert blocks
    assert len(blocks) == len(plan.of_type("aws:s3/bucket:Bucket"))
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    for block in blocks:
        assert all(block.inputs[flag] is True for flag in flags)
    policies = plan.of_type("aws:s3/bucketPolicy:BucketPolicy")
    assert len(policies) == len(blocks)
    for policy in policies:
        statements = json.loads(policy.inputs["policy"])["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_learning_hub_routes_only_its_gateway():
    plan = plan_of("prod", "learning-hub")
    assert [g.name for g in plan.of_type("aws:lb/targetGroup:TargetGroup")] == [
        "osp-prod-api-tg-api-gateway"
    ]
    # Its events travel over RabbitMQ: its queues are Karpenter's interruption queue and the
    # dead letters of the rotation functions and of the broker's log-group function.
    assert all(
        q.name == "osp-prod-karpenter-interruption"
        or q.name.endswith("-rotation-dlq")
        or q.name == "osp-prod-rabbitmq-log-groups-dlq"
        for q in plan.of_type("aws:sqs/queue:Queue")
    )
    assert len(plan.of_type("aws:ecr/repository:Repository")) == 13
