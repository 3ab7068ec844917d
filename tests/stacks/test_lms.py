"""The lms blueprint (seed 002) in the estate, dev and prod: the seed's services with their HPA
bounds, PostgreSQL for each, the MSK cluster with the six topics, each service granted exactly
its own topics and consumer group, the Flink job between learning-events and
analytics-results, the DynamoDB tables (sessions, payment tokens, notification queue) granted
to the services the seed names, the in-cluster observability stack and Argo CD, and silo
tenants refused cleanly.

The per-service checks every blueprint gets (objects, grants naming only the service's own
resources, valid manifests) run over lms in tests/stacks/test_services.py; the guardrails in
tests/platform/policy/test_estate.py; the network ACLs in tests/stacks/test_network_acls.py.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from osp.components.streaming import group_arn, topic_arn
from osp.platform.catalogue import Database, load_catalogue
from osp.stacks.services import NAMESPACE
from osp.stacks.tenant_services import check_blueprint
from tests.support import plan_of, spec_of, statements

BLUEPRINT = "lms"
ENVIRONMENTS = ("dev", "prod")
CATALOGUE = load_catalogue(BLUEPRINT)
SERVICES = ("web", "user", "course", "enrollment", "payment", "analytics")
SEED_TOPICS = (
    "user-events",
    "course-events",
    "enrollment-events",
    "payment-events",
    "learning-events",
    "analytics-results",
)
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CLUSTER = "aws:msk/cluster:Cluster"
TOPIC = "aws:msk/topic:Topic"
APPLICATION = "aws:kinesisanalyticsv2/application:Application"
KAFKA_ACTIONS = "kafka-cluster:"
TABLE = "aws:dynamodb/table:Table"
SCALING_TARGET = "aws:appautoscaling/target:Target"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ACCOUNT = "123456789012"
#: Which services reach which tables (§3.1.5, the diagram's "DynamoDB (Sessions)").
TABLE_USERS = {
    "web": {"sessions": "read"},
    "user": {"sessions": "read-write"},
    "payment": {
        "sessions": "read-write",
        "payment-tokens": "read-write",
        "notification-queue": "read-write",
    },
}


def in_namespace(plan, kind, name):
    (found,) = [
        r
        for r in plan.of_type(kind)
        if r.inputs["metadata"].get("namespace") == NAMESPACE
        and r.inputs["metadata"]["name"] == name
    ]
    return found


def env_of(plan, service) -> dict[str, str]:
    deployment = in_namespace(plan, DEPLOYMENT, service)
    (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value") for e in container["env"]}


def table_arn(spec, name) -> str:
    return f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/osp-{spec.name}-{name}"


def table_resources(policy) -> set[str]:
    """The DynamoDB resources a role policy names."""
    return {
        r
        for s in json.loads(policy.inputs["policy"])["Statement"]
        if any(a.startswith("dynamodb:") for a in s["Action"])
        for r in s["Resource"]
    }


def cluster_arn(plan) -> str:
    (topic, *_) = plan.of_type(TOPIC)
    return topic.inputs["clusterArn"]


@pytest.fixture(params=ENVIRONMENTS)
def estate(request):
    return spec_of(request.param, BLUEPRINT), plan_of(request.param, BLUEPRINT)


# --- the catalogue ---------------------------------------------------------------------------


def test_the_seeds_services_behind_the_web_service():
    assert tuple(s.name for s in CATALOGUE.services) == SERVICES
    assert [(s.name, s.route) for s in CATALOGUE.routed] == [("web", "/web")]
    for name in ("user", "course", "enrollment", "analytics"):
        assert CATALOGUE.callers_of(name) == ("web",), name
    assert CATALOGUE.callers_of("payment") == ("enrollment",)  # flow 1: gRPC


def test_the_seeds_hpa_bounds():
    bounds = {s.name: (s.replicas.baseline, s.replicas.max) for s in CATALOGUE.services}
    assert bounds["web"] == (2, 15)
    assert bounds["user"] == bounds["course"] == (2, 10)


def test_postgresql_for_every_backend_and_none_for_web():
    databases = {s.name: s.uses.database for s in CATALOGUE.services}
    assert databases == {
        "web": Database.NONE,
        **{name: Database.OWN for name in SERVICES[1:]},
    }


def test_the_topics_each_service_writes_and_reads():
    use = {s.name: (s.uses.kafka.produces, s.uses.kafka.consumes) for s in CATALOGUE.services}
    assert use == {
        "web": (("learning-events",), ()),
        "user": (("user-events",), ()),
        "course": (("course-events",), ("course-events",)),  # file-processing's records
        "enrollment": (("enrollment-events",), ()),
        "payment": (("payment-events",), ("enrollment-events",)),
        "analytics": ((), ("analytics-results",)),
    }


def test_the_seeds_tables_and_who_uses_them():
    tables = {t.name: t for t in CATALOGUE.tables}
    assert set(tables) == {"sessions", "payment-tokens", "notification-queue"}
    # A session and a payment token expire, and belong to one tenant's student.
    for name in ("sessions", "payment-tokens"):
        assert (tables[name].ttl_attribute, tables[name].tenant_partitioned) == (
            "expires_at",
            True,
        )
    # One function serves every tenant's notifications: no tenant to hold it to.
    queue = tables["notification-queue"]
    assert (queue.ttl_attribute, queue.tenant_partitioned) == (None, False)
    # §7.2 "DynamoDB: Auto-scaling based on throughput".
    assert {t.billing.value for t in tables.values()} == {"provisioned"}
    used = {s.name: {k: v.value for k, v in s.uses.tables.items()} for s in CATALOGUE.services}
    assert {k: v for k, v in used.items() if v} == TABLE_USERS


# --- the estate ------------------------------------------------------------------------------


def test_counts_per_service(estate):
    spec, plan = estate
    per_service = Counter(
        r.inputs["metadata"]["name"]
        for r in plan.resources
        if r.type.startswith("kubernetes:")
        and r.type != "kubernetes:helm.sh/v3:Release"
        and r.inputs.get("metadata", {}).get("namespace") == NAMESPACE
        and r.inputs["metadata"].get("name") in SERVICES
    )
    # ServiceAccount, Deployment, Service, HPA, PDB, NetworkPolicy; web also its
    # TargetGroupBinding.
    assert per_service == {"web": 7, **{name: 6 for name in SERVICES[1:]}}
    assert [g.name for g in plan.of_type("aws:lb/targetGroup:TargetGroup")] == [
        f"osp-{spec.name}-api-tg-web"
    ]
    # No Redis, no broker, no event topics: lms uses none of them.
    for absent in ("aws:elasticache/replicationGroup:ReplicationGroup", "aws:mq/broker:Broker",
                   "aws:sns/topic:Topic"):  # fmt: skip
        assert not [r for r in plan.of_type(absent) if "alarm" not in r.name], absent


def test_hpa_bounds_and_targets_in_prod_and_one_pod_in_dev(estate):
    spec, plan = estate
    targets_of = {"web": {"cpu": 70}, "user": {"cpu": 70, "memory": 80}}
    targets_of["course"] = targets_of["user"]
    for name, (low, high) in {"web": (2, 15), "user": (2, 10), "course": (2, 10)}.items():
        hpa = in_namespace(plan, HPA, name)
        bounds = (hpa.inputs["spec"]["minReplicas"], hpa.inputs["spec"]["maxReplicas"])
        assert bounds == ((1, 1) if spec.name == "dev" else (low, high)), name
        targets = {
            m["resource"]["name"]: m["resource"]["target"]["averageUtilization"]
            for m in hpa.inputs["spec"]["metrics"]
        }
        assert targets == targets_of[name], name


def test_one_broker_per_zone_and_the_six_topics(estate):
    spec, plan = estate
    (cluster,) = plan.of_type(CLUSTER)
    zones = len(spec.zones)
    assert cluster.inputs["numberOfBrokerNodes"] == zones == (2 if spec.name == "dev" else 3)
    assert cluster.inputs["brokerNodeGroupInfo"]["instanceType"] == spec.kafka.instance_type
    assert cluster.options.protect is spec.deletion_protection
    topics = {t.inputs["name"]: t.inputs for t in plan.of_type(TOPIC)}
    assert set(topics) == set(SEED_TOPICS)
    in_sync = "2" if spec.name == "prod" else "1"
    for topic in CATALOGUE.topics:
        inputs = topics[topic.name]
        assert inputs["partitionCount"] == topic.partitions
        assert inputs["replicationFactor"] == min(3, zones)
        configs = json.loads(inputs["configs"])
        assert configs["retention.ms"] == str(topic.retention_hours * 3_600_000)
        assert configs["min.insync.replicas"] == in_sync
    subnets = {
        s.urn: s.inputs["tags"]["osp:subnet-tier"] for s in plan.of_type("aws:ec2/subnet:Subnet")
    }
    placed = {
        subnets[u] for u in cluster.property_dependencies["brokerNodeGroupInfo"] if u in subnets
    }
    assert placed == {"isolated"}


def test_each_service_is_granted_exactly_its_topics_and_group(estate):
    spec, plan = estate
    arn = cluster_arn(plan)
    for service in CATALOGUE.services:
        policy = plan.named(f"osp-{spec.name}-{service.name}-identity-policy")
        by_sid = statements(policy.inputs["policy"])
        kafka = {sid: s for sid, s in by_sid.items() if sid.startswith("Kafka")}
        use = service.uses.kafka
        expected = {"KafkaConnect": [arn]}
        if use.produces:
            expected["KafkaProduce"] = [topic_arn(arn, t) for t in sorted(use.produces)]
        if use.consumes:
            expected["KafkaConsume"] = [topic_arn(arn, t) for t in sorted(use.consumes)]
            expected["KafkaConsumerGroup"] = [group_arn(arn, service.name)]
        assert {sid: s["Resource"] for sid, s in kafka.items()} == expected, service.name
        # No Kafka action anywhere else in its policy, and none on a wildcard.
        others = [s for sid, s in by_sid.items() if sid not in kafka]
        assert not any(a.startswith(KAFKA_ACTIONS) for s in others for a in s["Action"])
        assert not any("*" in r for s in kafka.values() for r in s["Resource"])


def test_each_service_is_told_where_the_brokers_and_its_topics_are(estate):
    _, plan = estate
    for service in CATALOGUE.services:
        env = env_of(plan, service.name)
        use = service.uses.kafka
        topics = {k: v for k, v in env.items() if k.startswith("KAFKA_TOPIC_")}
        assert set(topics.values()) == {*use.produces, *use.consumes}, service.name
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert env["KAFKA_SASL_MECHANISM"] == "AWS_MSK_IAM"
        assert env["KAFKA_BOOTSTRAP_SERVERS"].endswith(":9098")
        assert env.get("KAFKA_CONSUMER_GROUP") == (service.name if use.consumes else None)


def test_the_services_reach_kafka_on_9098_in_the_isolated_subnets(estate):
    _spec, plan = estate
    isolated = {
        s.inputs["cidrBlock"]
        for s in plan.of_type("aws:ec2/subnet:Subnet")
        if s.inputs["tags"]["osp:subnet-tier"] == "isolated"
    }
    for service in CATALOGUE.services:
        policy = in_namespace(plan, POLICY, service.name)
        reach = {
            peer["ipBlock"]["cidr"]
            for rule in policy.inputs["spec"]["egress"]
            if any(p["port"] == 9098 for p in rule.get("ports", []))
            for peer in rule["to"]
        }
        assert reach == isolated, service.name


def test_the_flink_job_reads_learning_events_and_writes_analytics_results(estate):
    spec, plan = estate
    (application,) = plan.of_type(APPLICATION)
    config = application.inputs["applicationConfiguration"]
    groups = {g["propertyGroupId"]: g["propertyMap"] for g in config["environmentProperties"][
        "propertyGroups"]}  # fmt: skip
    kafka = groups["KafkaSource"]
    assert (kafka["source.topics"], kafka["sink.topics"]) == (
        "learning-events",
        "analytics-results",
    )
    assert kafka["group.id"] == f"osp-{spec.name}-learning-analytics"
    assert groups["ApplicationProperties"] == {"window.seconds": "60"}
    parallelism = config["flinkApplicationConfiguration"]["parallelismConfiguration"]
    assert parallelism["parallelism"] == (1 if spec.name == "dev" else 2)
    code = config["applicationCodeConfiguration"]["codeContent"]["s3ContentLocation"]
    assert code["fileKey"] == "flink/learning-analytics-1.0.0.jar"
    assert code["bucketArn"].startswith(f"arn:aws:s3:::osp-{spec.name}-stream-artifacts-")
    subnets = {
        s.urn: s.inputs["tags"]["osp:subnet-tier"] for s in plan.of_type("aws:ec2/subnet:Subnet")
    }
    placed = {subnets[u] for u in application.property_dependencies["applicationConfiguration"]
              if u in subnets}  # fmt: skip
    assert placed == {"private"}
    policy = plan.named(f"osp-{spec.name}-learning-analytics-flink-policy")
    by_sid = statements(policy.inputs["policy"])
    arn = cluster_arn(plan)
    assert by_sid["KafkaConsume"]["Resource"] == [topic_arn(arn, "learning-events")]
    assert by_sid["KafkaProduce"]["Resource"] == [topic_arn(arn, "analytics-results")]
    assert by_sid["ReadCode"]["Resource"] == [f"{code['bucketArn']}/{code['fileKey']}"]


def test_kafka_admits_the_nodes_and_the_flink_job_by_their_groups(estate):
    """The cluster's own rules; the file-processing function's rule into the cluster is its
    own (tests/stacks/test_lms_functions.py)."""
    spec, plan = estate
    rules = [
        r
        for r in plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.name.startswith(f"osp-{spec.name}-kafka-")
    ]
    assert sorted(r.name for r in rules) == [
        f"osp-{spec.name}-kafka-from-client-0",
        f"osp-{spec.name}-kafka-from-learning-analytics",
    ]
    assert all((r.inputs["fromPort"], r.inputs["toPort"]) == (9098, 9098) for r in rules)
    assert all("cidrIpv4" not in r.inputs for r in rules)


def test_the_stack_exports_the_cluster_and_the_job(estate):
    _spec, plan = estate
    assert plan.outputs["kafkaClusterArn"] == cluster_arn(plan)
    assert plan.outputs["kafkaBootstrapBrokers"].endswith(":9098")
    assert set(plan.outputs["flinkApplicationArns"]) == {"learning-analytics"}


def test_the_tables_expire_autoscale_and_are_encrypted(estate):
    spec, plan = estate
    tables = {t.inputs["name"].removeprefix(f"osp-{spec.name}-"): t for t in plan.of_type(TABLE)}
    assert set(tables) == {"tenants", "sessions", "payment-tokens", "notification-queue"}
    data_key = plan.named(f"osp-{spec.name}-keys-data")
    for name in ("sessions", "payment-tokens", "notification-queue"):
        inputs = tables[name].inputs
        assert inputs["billingMode"] == "PROVISIONED", name
        assert inputs["serverSideEncryption"]["enabled"] is True
        assert tables[name].property_dependencies["serverSideEncryption"] == (data_key.urn,)
        assert inputs["pointInTimeRecovery"] == {"enabled": True}
        assert inputs["deletionProtectionEnabled"] is (spec.name == "prod")
        expires = {"attributeName": "expires_at", "enabled": True}
        assert inputs.get("ttl") == (None if name == "notification-queue" else expires), name
    bounds = {
        (t.inputs["resourceId"], t.inputs["scalableDimension"].rsplit(":", 1)[1]): (
            t.inputs["minCapacity"],
            t.inputs["maxCapacity"],
        )
        for t in plan.of_type(SCALING_TARGET)
        if t.inputs["resourceId"].startswith("table/")
    }
    prefix = f"table/osp-{spec.name}-"
    assert bounds == {
        (f"{prefix}sessions", "ReadCapacityUnits"): (5, 200),
        (f"{prefix}sessions", "WriteCapacityUnits"): (5, 100),
        (f"{prefix}payment-tokens", "ReadCapacityUnits"): (5, 50),
        (f"{prefix}payment-tokens", "WriteCapacityUnits"): (5, 50),
        (f"{prefix}notification-queue", "ReadCapacityUnits"): (5, 50),
        (f"{prefix}notification-queue", "WriteCapacityUnits"): (5, 100),
    }


def test_each_service_reaches_only_its_tables_the_tenants_through_its_tenant_role(estate):
    spec, plan = estate
    tenant_policies = {
        p.name.removeprefix(f"osp-{spec.name}-").removesuffix("-identity-tenant-policy"): p
        for p in plan.of_type(ROLE_POLICY)
        if p.name.endswith("-identity-tenant-policy")
    }
    assert set(tenant_policies) == set(TABLE_USERS)
    for service in SERVICES:
        own = table_resources(plan.named(f"osp-{spec.name}-{service}-identity-policy"))
        uses = TABLE_USERS.get(service, {})
        # The notification queue is not tenant-partitioned: payment's own role has it.
        assert own == {table_arn(spec, t) for t in uses if t == "notification-queue"}, service
        if not uses:
            assert "TABLE_SESSIONS_NAME" not in env_of(plan, service)
            continue
        tenant = json.loads(tenant_policies[service].inputs["policy"])["Statement"]
        partitioned = {table_arn(spec, t) for t in uses if t != "notification-queue"}
        assert {r for s in tenant for r in s["Resource"]} == partitioned, service
        for statement in tenant:
            leading = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
            assert leading == ["${aws:PrincipalTag/osp:tenant}", "${aws:PrincipalTag/osp:tenant}#*"]
        writes = {r for s in tenant if "dynamodb:PutItem" in s["Action"] for r in s["Resource"]}
        assert writes == {table_arn(spec, t) for t, a in uses.items() if a == "read-write"
                          and t != "notification-queue"}, service  # fmt: skip
        env = env_of(plan, service)
        for name in uses:
            key = f"TABLE_{name.upper().replace('-', '_')}_NAME"
            assert env[key] == f"osp-{spec.name}-{name}", (service, key)
        assert env["TENANT_DATA_ROLE_ARN"] == (
            f"arn:aws:iam::{ACCOUNT}:role/osp-{spec.name}-{service}-tenant"
        )


def test_prometheus_grafana_loki_promtail_and_argocd_run_in_the_cluster(estate):
    """§5.5 and §5.6: the add-ons the blueprint chooses (what each is: test_platform_addons)."""
    spec, plan = estate
    releases = {
        r.inputs["chart"]: r.inputs["namespace"]
        for r in plan.of_type("kubernetes:helm.sh/v3:Release")
        if r.inputs["namespace"] != "kube-system"
    }
    assert releases == {
        "kube-prometheus-stack": "observability",  # Prometheus, Alertmanager, Grafana
        "loki": "observability",
        "promtail": "observability-agents",
        "argo-cd": "argocd",
    }
    assert plan.outputs["argocdNamespace"] == "argocd"
    assert plan.named(f"osp-{spec.name}-observability-grafana-admin")


def test_silo_tenants_are_refused_cleanly():
    assert check_blueprint(CATALOGUE) == (
        "the lms blueprint's services write and read Kafka topics on the estate's MSK cluster, "
        "and osp gives silo tenants no Kafka of their own: run silo tenants on a blueprint "
        "whose transport is sns-sqs"
    )
