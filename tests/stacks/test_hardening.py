"""Issue 19's security gaps on the estates' plans (prod of both blueprints, and the other
profiles where the presets say so): access logs for every bucket, DNSSEC and query logging,
the read replica's standby, the load balancer's ports, the broker's log-group function, and
the account-level audit trail."""

from __future__ import annotations

import json
import re

import pytest

from osp.platform.catalogue import load_catalogue
from tests.support import ENVIRONMENTS, plan_of

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
BLUEPRINTS = ("osp", "learning-hub")
DATA_BUCKETS = {
    "osp": ("backups", "documents", "media", "reports"),
    "learning-hub": ("backups", "media"),
}
PORTALS = {"osp": ("admin", "school", "student"), "learning-hub": ("www",)}


def by_name(plan, token):
    return {r.name: r for r in plan.of_type(token)}


# -- 3. access logs for every bucket ---------------------------------------------------------


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_bucket_but_the_log_bucket_logs_into_the_log_bucket(environment, blueprint):
    plan = plan_of(environment, blueprint)
    e = f"osp-{environment}"
    (log_bucket,) = [b for b in plan.of_type(BUCKET) if b.name == f"{e}-logs-bucket"]
    suffix = log_bucket.inputs["bucket"].removeprefix(f"{e}-logs")  # the account's hash
    logged = {f"{e}-{b}": b for b in DATA_BUCKETS[blueprint]} | {
        f"{e}-{p}-portal-content": f"{p}-portal" for p in PORTALS[blueprint]
    }
    if environment != "dev":  # the audit bucket, where the preset keeps a trail
        logged[f"{e}-audit-logs"] = "audit"
    # The DR replicas log into the DR region's log bucket (tests/stacks/test_recovery.py).
    loggings = {n: r for n, r in by_name(plan, BUCKET_LOGGING).items() if "-replica-" not in n}
    assert sorted(loggings) == sorted(f"{name}-access-logging" for name in logged)
    buckets = by_name(plan, BUCKET)
    for name, physical in logged.items():
        logging = loggings[f"{name}-access-logging"]
        bucket = buckets[f"{name}-bucket"]
        assert bucket.inputs["bucket"] == f"{e}-{physical}{suffix}"
        assert logging.property_dependencies["bucket"] == (bucket.urn,)
        assert logging.property_dependencies["targetBucket"] == (log_bucket.urn,)
        assert logging.inputs["targetBucket"] == log_bucket.inputs["bucket"]
        assert logging.inputs["targetPrefix"] == f"s3-access-logs/{e}-{physical}{suffix}/"
        assert logging.inputs["targetObjectKeyFormat"] == {
            "partitionedPrefix": {"partitionDateSource": "EventTime"}
        }
    # The log bucket never logs into itself.
    assert log_bucket.urn not in {r.property_dependencies["bucket"][0] for r in loggings.values()}


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_distribution_logs_to_the_log_bucket(environment, blueprint):
    plan = plan_of(environment, blueprint)
    log_bucket = plan.named(f"osp-{environment}-logs-bucket")
    distributions = by_name(plan, DISTRIBUTION)
    # The portals, the API, and each bucket the blueprint delivers through CloudFront.
    delivered = len(load_catalogue(blueprint or "osp").delivered_buckets)
    assert len(distributions) == len(PORTALS[blueprint]) + 1 + delivered
    for distribution in distributions.values():
        assert distribution.property_dependencies["loggingConfig"] == (log_bucket.urn,)
        domain = distribution.inputs["aliases"][0]
        assert distribution.inputs["loggingConfig"]["prefix"] == f"cloudfront/{domain}/"


# -- 6. the read replica's standby -----------------------------------------------------------


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
@pytest.mark.parametrize(
    ("environment", "multi_az"), [("dev", False), ("staging", True), ("prod", True)]
)
def test_the_read_replica_is_multi_az_where_the_primary_is(environment, multi_az, blueprint):
    plan = plan_of(environment, blueprint)
    e = f"osp-{environment}-postgres"
    assert {r.name: r.inputs["multiAz"] for r in plan.of_type("aws:rds/instance:Instance")} == {
        f"{e}-primary": multi_az,
        f"{e}-replica-1": multi_az,
    }


# -- 7. the load balancer: 443 only ----------------------------------------------------------


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_the_load_balancer_listens_and_admits_on_443_only(blueprint):
    plan = plan_of("prod", blueprint)
    alb = plan.named("osp-prod-api-alb")
    (listener,) = plan.of_type("aws:lb/listener:Listener")
    assert (listener.name, listener.inputs["port"], listener.inputs["protocol"]) == (
        "osp-prod-api-https",
        443,
        "HTTPS",
    )
    group = plan.named("osp-prod-api-sg")
    assert alb.property_dependencies["securityGroups"] == (group.urn,)
    admitted = [
        (r.inputs["fromPort"], r.inputs["toPort"], r.inputs.get("prefixListId"))
        for r in plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.property_dependencies["securityGroupId"] == (group.urn,)
    ]
    assert admitted == [(443, 443, "pl-3b927c52")]
    # CloudFront reaches it over HTTPS only; TLS ends there and HTTP goes to the pods in the VPC.
    (api,) = [d for d in plan.of_type(DISTRIBUTION) if d.name == "osp-prod-api-cdn-distribution"]
    (origin,) = api.inputs["origins"]
    assert origin["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    for target_group in plan.of_type("aws:lb/targetGroup:TargetGroup"):
        assert target_group.inputs["protocol"] == "HTTP"


# -- 8. the broker's log-group function ------------------------------------------------------


def test_the_brokers_log_group_function_is_bounded_traced_and_keeps_its_failures():
    plan = plan_of("prod", "learning-hub")  # the osp blueprint's estate has no broker
    function = plan.named("osp-prod-rabbitmq-log-groups-fn")
    assert function.inputs["reservedConcurrentExecutions"] == 1
    assert function.inputs["tracingConfig"] == {"mode": "Active"}
    queue = plan.named("osp-prod-rabbitmq-log-groups-dlq")
    assert function.property_dependencies["deadLetterConfig"] == (queue.urn,)
    logs_key = plan.named("osp-prod-keys-logs")
    assert queue.property_dependencies["kmsMasterKeyId"] == (logs_key.urn,)


# -- 5. DNSSEC and query logging, in us-east-1 -----------------------------------------------


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_the_zone_is_signed_and_its_queries_logged_in_us_east_1(blueprint):
    plan = plan_of("prod", blueprint)
    edge = plan.named("osp-prod-us-east-1")  # the estate's us-east-1 provider (CloudFront's)
    assert edge.inputs["region"] == "us-east-1"
    zone = plan.named("osp-prod-dns-zone")
    key = plan.named("osp-prod-dns-dnssec-key")
    ksk = plan.named("osp-prod-dns-ksk")
    signing = plan.named("osp-prod-dns-dnssec")
    group = plan.named("osp-prod-dns-query-logs")
    query_log = plan.named("osp-prod-dns-query-log")
    for resource in (key, ksk, signing, group, query_log):
        assert resource.provider.startswith(edge.urn), resource.name
    assert (key.inputs["customerMasterKeySpec"], key.inputs["keyUsage"]) == (
        "ECC_NIST_P256",
        "SIGN_VERIFY",
    )
    assert key.options.protect is True and key.inputs["deletionWindowInDays"] == 30
    principals = {
        json.dumps(s["Principal"], sort_keys=True): s
        for s in json.loads(key.inputs["policy"])["Statement"]
    }
    route53 = principals['{"Service": "dnssec-route53.amazonaws.com"}']
    assert route53["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:route53:::hostedzone/*"}
    assert ksk.property_dependencies["hostedZoneId"] == (zone.urn,)
    assert ksk.property_dependencies["keyManagementServiceArn"] == (key.urn,)
    assert signing.inputs["signingStatus"] == "SIGNING"
    assert re.fullmatch(r"\d+ 13 2 [0-9A-F]{64}", plan.outputs["dnssecDsRecord"])
    assert group.inputs["name"] == "/aws/route53/osp.example.com"
    assert group.inputs["retentionInDays"] == 365
    logs_key = plan.named("osp-prod-keys-logs")  # prod lives in us-east-1: its own logs key
    assert group.property_dependencies["kmsKeyId"] == (logs_key.urn,)
    assert query_log.property_dependencies["zoneId"] == (zone.urn,)
    assert query_log.property_dependencies["cloudwatchLogGroupArn"] == (group.urn,)


@pytest.mark.parametrize(("environment", "days"), [("dev", 30), ("staging", 90)])
def test_every_profile_signs_and_logs_queries_kept_as_its_preset_says(environment, days):
    plan = plan_of(environment)
    assert plan.named(f"osp-{environment}-dns-dnssec").inputs["signingStatus"] == "SIGNING"
    assert plan.named(f"osp-{environment}-dns-query-logs").inputs["retentionInDays"] == days


# -- 9. the account's audit trail, GuardDuty and Config --------------------------------------


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_prod_keeps_a_trail_guardduty_and_a_config_recorder(blueprint):
    plan = plan_of("prod", blueprint)
    trail = plan.named("osp-prod-audit-trail")
    key = plan.named("osp-prod-audit-key")
    bucket = plan.named("osp-prod-audit-logs-bucket")
    assert (
        trail.inputs["isMultiRegionTrail"],
        trail.inputs["includeGlobalServiceEvents"],
        trail.inputs["enableLogFileValidation"],
        trail.inputs["s3KeyPrefix"],
    ) == (True, True, True, "cloudtrail")
    assert trail.property_dependencies["kmsKeyId"] == (key.urn,)
    assert bucket.urn in trail.property_dependencies["s3BucketName"]
    assert key.inputs["enableKeyRotation"] is True and key.options.protect is True
    assert bucket.options.protect is True
    lifecycle = {r["id"]: r for r in plan.named("osp-prod-audit-logs-lifecycle").inputs["rules"]}
    assert lifecycle["expire-objects"]["expiration"] == {"days": 365}
    logging = plan.named("osp-prod-audit-logs-access-logging")
    assert logging.property_dependencies["targetBucket"] == (
        plan.named("osp-prod-logs-bucket").urn,
    )
    features = {
        f.inputs["name"]: f.inputs
        for f in plan.of_type("aws:guardduty/detectorFeature:DetectorFeature")
    }
    assert {n: f["status"] for n, f in features.items()} == {
        "EKS_AUDIT_LOGS": "ENABLED",
        "RUNTIME_MONITORING": "ENABLED",
    }
    assert features["RUNTIME_MONITORING"]["additionalConfigurations"] == [
        {"name": "EKS_ADDON_MANAGEMENT", "status": "ENABLED"}
    ]
    assert plan.named("osp-prod-audit-guardduty").inputs["enable"] is True
    recorder = plan.named("osp-prod-audit-config-recorder")
    assert recorder.inputs["recordingGroup"] == {
        "allSupported": True,
        "includeGlobalResourceTypes": True,
    }
    assert plan.named("osp-prod-audit-config-status").inputs["isEnabled"] is True
    assert plan.named("osp-prod-audit-config-channel").inputs["s3KeyPrefix"] == "config"


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_the_presets_say_what_dev_and_staging_get(blueprint):
    staging, dev = plan_of("staging", blueprint), plan_of("dev", blueprint)
    # Staging: its own trail (kept 90 days); GuardDuty and Config belong to prod's account.
    assert [t.name for t in staging.of_type("aws:cloudtrail/trail:Trail")] == [
        "osp-staging-audit-trail"
    ]
    lifecycle = {
        r["id"]: r for r in staging.named("osp-staging-audit-logs-lifecycle").inputs["rules"]
    }
    assert lifecycle["expire-objects"]["expiration"] == {"days": 90}
    for token in ("aws:guardduty/detector:Detector", "aws:cfg/recorder:Recorder"):
        assert not staging.of_type(token) and not dev.of_type(token)
    # Dev: none of the three (the account's owner runs them).
    assert not dev.of_type("aws:cloudtrail/trail:Trail")
    assert not dev.of_type("osp:audit:AccountAudit")
