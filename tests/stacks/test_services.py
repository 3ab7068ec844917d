"""The blueprints' services in the estate, as issue 5's done-when states them.

The bundled blueprints (CASES) in dev and prod: every object per service, the pods' security
stance, images, routes, the event fan-out, each IAM policy naming only the service's own
resources, the configuration pointing at exactly what the policy grants, and every Kubernetes
object valid for the cluster's version.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from osp.app.pods import container_security_context, pod_security_context
from osp.platform.catalogue import Access, Database, QueueAccess, load_catalogue
from osp.stacks.services import NAMESPACE
from tests.app import k8s
from tests.support import plan_of, spec_of

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
ACCOUNT = "kubernetes:core/v1:ServiceAccount"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PER_SERVICE = (ACCOUNT, DEPLOYMENT, SERVICE, HPA, PDB, POLICY)
CASES = [
    (b, e)
    for b in ("osp", "learning-hub", "learning-platform", "code-learn", "lms")
    for e in ("dev", "prod")
]
NAME_LABEL = "app.kubernetes.io/name"


@pytest.fixture(params=CASES, ids=[f"{b}-{e}" for b, e in CASES])
def case(request):
    blueprint, environment = request.param
    return (
        load_catalogue(blueprint),
        spec_of(environment, blueprint),
        plan_of(environment, blueprint),
    )


def in_namespace(plan, token, name):
    return [
        r
        for r in plan.of_type(token)
        if r.inputs["metadata"].get("namespace") == NAMESPACE
        and r.inputs["metadata"].get("name") == name
    ]


def one(plan, token, name):
    (found,) = in_namespace(plan, token, name)
    return found


def container(deployment):
    (only,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    return only


def env_of(deployment) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(deployment)["env"]}


def policy_of(plan, spec, service) -> list[dict]:
    """The statements of the service's IRSA policy (none when it has no grants)."""
    role = plan.named(f"osp-{spec.name}-{service}-identity-role")
    # Its own role's policy, not its tenant-data role's (tests/stacks/test_tables_and_parameters).
    policies = [
        p
        for p in plan.of_type(ROLE_POLICY)
        if p.parent == role.parent and p.name.endswith("-identity-policy")
    ]
    if not policies:
        return []
    (policy,) = policies
    return json.loads(policy.inputs["policy"])["Statement"]


def resources(statements, sid) -> list[str]:
    return [r for s in statements if s["Sid"] == sid for r in s["Resource"]]


def arn_name(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


# --- objects per service -------------------------------------------------------------------


def test_every_service_has_its_objects_and_nothing_twice(case):
    catalogue, spec, plan = case
    for service in catalogue.services:
        for token in PER_SERVICE:
            assert len(in_namespace(plan, token, service.name)) == 1, (service.name, token)
        bindings = in_namespace(plan, BINDING, service.name)
        assert len(bindings) == (1 if service.route else 0), service.name
        roles = [
            r for r in plan.of_type(ROLE) if r.inputs["name"] == f"osp-{spec.name}-{service.name}"
        ]
        assert len(roles) == 1, service.name
    deployments = [
        r for r in plan.of_type(DEPLOYMENT) if r.inputs["metadata"]["namespace"] == NAMESPACE
    ]
    assert sorted(d.inputs["metadata"]["name"] for d in deployments) == sorted(
        s.name for s in catalogue.services
    )


def test_the_namespace_enforces_restricted_and_denies_by_default(case):
    _, _, plan = case
    (namespace,) = [
        n
        for n in plan.of_type("kubernetes:core/v1:Namespace")
        if n.inputs["metadata"]["name"] == NAMESPACE
    ]
    assert (
        namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    )
    deny = one(plan, POLICY, "default-deny")
    assert deny.inputs["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_workloads_go_on_the_cluster_through_its_provider(case):
    catalogue, spec, plan = case
    provider = f"$pulumi:providers:kubernetes::osp-{spec.name}-eks-k8s"
    checked = 0
    for resource in plan.resources:
        if resource.custom and resource.type.startswith("kubernetes:"):
            assert (resource.provider or "").split("::")[:4][-1] == f"osp-{spec.name}-eks-k8s"
            assert provider in resource.provider, resource.urn
            checked += 1
    assert checked >= len(PER_SERVICE) * len(catalogue.services)


# --- pods ----------------------------------------------------------------------------------


def test_pods_are_hardened_with_probes_and_resources(case):
    catalogue, _, plan = case
    for service in catalogue.services:
        deployment = one(plan, DEPLOYMENT, service.name)
        pod = deployment.inputs["spec"]["template"]["spec"]
        assert pod["securityContext"] == pod_security_context()
        assert pod["automountServiceAccountToken"] is False
        assert pod["serviceAccountName"] == service.name
        main = container(deployment)
        assert main["securityContext"] == container_security_context()
        assert main["resources"] == {
            "requests": service.resources.requests.model_dump(),
            "limits": service.resources.limits.model_dump(),
        }
        assert main["startupProbe"]["httpGet"]["path"] == service.probes.startup.path
        assert main["readinessProbe"]["httpGet"]["path"] == service.probes.readiness.path
        assert main["livenessProbe"]["httpGet"]["path"] == service.probes.liveness.path
        assert main["ports"] == [{"name": "http", "containerPort": service.port, "protocol": "TCP"}]
        keys = {c["topologyKey"] for c in pod["topologySpreadConstraints"]}
        assert "topology.kubernetes.io/zone" in keys


def test_images_come_from_the_estates_registry_with_the_catalogues_tag(case):
    catalogue, spec, plan = case
    for service in catalogue.services:
        image = container(one(plan, DEPLOYMENT, service.name))["image"]
        repository, tag = image.rsplit(":", 1)
        assert tag == service.image.tag != "latest"
        assert re.fullmatch(
            rf"\d{{12}}\.dkr\.ecr\.{spec.region}\.amazonaws\.com/osp-{spec.name}-services/"
            rf"{service.image.repository}",
            repository,
        ), image


def test_no_container_anywhere_runs_latest(case):
    catalogue, _, plan = case
    checked = 0
    for manifest in k8s.manifests(plan):
        template = manifest.get("spec", {}).get("template", {}).get("spec", {})
        for c in template.get("containers", []) + template.get("initContainers", []):
            reference = c["image"].split("@")[0]
            assert ":" in reference.rsplit("/", 1)[-1], c["image"]
            assert not reference.endswith(":latest"), c["image"]
            checked += 1
    assert checked >= len(catalogue.services)


def test_replicas_per_profile(case):
    catalogue, spec, plan = case
    for service in catalogue.services:
        deployment = one(plan, DEPLOYMENT, service.name)
        hpa = one(plan, HPA, service.name).inputs["spec"]
        wanted = service.replicas
        if spec.name == "dev":
            expected = (max(1, wanted.min),) * 3
        else:
            expected = (wanted.baseline, wanted.baseline, wanted.max)
        got = (hpa["minReplicas"], deployment.inputs["spec"]["replicas"], hpa["maxReplicas"])
        assert got == expected, service.name
    if catalogue.name == "osp" and spec.name == "prod":
        hpa = one(plan, HPA, "enrollment").inputs["spec"]
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (4, 10)


# --- routes and reach ------------------------------------------------------------------------


def test_routed_services_are_bound_to_their_own_target_group(case):
    catalogue, spec, plan = case
    groups = {g.name: g for g in plan.of_type("aws:lb/targetGroup:TargetGroup")}
    routed = {s.name for s in catalogue.routed}
    assert len(groups) == len(routed)
    for service in catalogue.routed:
        binding = one(plan, BINDING, service.name).inputs["spec"]
        assert binding["serviceRef"] == {"name": service.name, "port": service.port}
        assert binding["targetType"] == "ip"
        assert re.search(r":targetgroup/[^/]+/", binding["targetGroupARN"])
        ingress = one(plan, POLICY, service.name).inputs["spec"]["ingress"]
        assert ingress[0]["from"] == [
            {"ipBlock": {"cidr": c}} for c in _subnet_cidrs(plan, spec, "public")
        ]
    for service in catalogue.services:
        if service.name not in routed:
            ingress = one(plan, POLICY, service.name).inputs["spec"]["ingress"]
            assert all("ipBlock" not in peer for rule in ingress for peer in rule["from"])


def _subnet_cidrs(plan, spec, tier):
    return [
        s.inputs["cidrBlock"]
        for s in plan.of_type("aws:ec2/subnet:Subnet")
        if s.name.startswith(f"osp-{spec.name}-network-{tier}-")
    ]


def test_callers_and_callees_agree(case):
    catalogue, _, plan = case
    for service in catalogue.services:
        policy = one(plan, POLICY, service.name).inputs["spec"]
        admitted = {
            peer["podSelector"]["matchLabels"][NAME_LABEL]
            for rule in policy["ingress"]
            for peer in rule["from"]
            if "podSelector" in peer
        }
        assert admitted == set(service.callers), service.name
        reached = {
            peer["podSelector"]["matchLabels"][NAME_LABEL]: rule["ports"]
            for rule in policy["egress"]
            for peer in rule["to"]
            if "podSelector" in peer and "namespaceSelector" not in peer
        }
        callees = {s.name: s.port for s in catalogue.services if service.name in s.callers}
        assert reached == {
            name: [{"protocol": "TCP", "port": port}] for name, port in callees.items()
        }, service.name
        env = env_of(one(plan, DEPLOYMENT, service.name))
        for name, port in callees.items():
            key = f"SERVICE_{name.upper().replace('-', '_')}_URL"
            assert env[key] == f"http://{name}.{NAMESPACE}.svc.cluster.local:{port}"


def test_egress_reaches_only_the_data_stores_each_service_uses(case):
    catalogue, spec, plan = case
    for service in catalogue.services:
        egress = one(plan, POLICY, service.name).inputs["spec"]["egress"]
        store_ports = {
            p["port"]
            for rule in egress
            for peer in rule["to"]
            if "ipBlock" in peer
            for p in rule["ports"]
            if p["port"] != 443
        }
        expected = set()
        if service.uses.database_access:
            expected.add(5432)
        if service.uses.cache:
            expected.add(6379)
        if catalogue.transport == "rabbitmq" and (service.uses.publishes or service.uses.consumes):
            expected.add(5671)
        if catalogue.transport == "kafka" and service.uses.kafka:
            expected.add(9098)
        assert store_ports == expected, service.name
        https = {
            peer["ipBlock"]["cidr"]
            for rule in egress
            for peer in rule["to"]
            if "ipBlock" in peer and rule["ports"] == [{"protocol": "TCP", "port": 443}]
        }
        assert https == _expected_https(catalogue, spec, plan, service), service.name


def _expected_https(catalogue, spec, plan, service):
    """Anywhere only for what has no address in the VPC — S3's public addresses, the SES API,
    a third party's API (placeholder secret) — and where the VPC has no endpoints (dev);
    otherwise the private subnets, where the interface endpoints (SNS included) are."""
    uses = service.uses
    placeholder = any(catalogue.secret_map[s].kind == "placeholder" for s in uses.secrets)
    # DynamoDB, like S3, is reached at its public addresses (a gateway endpoint at best).
    if uses.buckets or uses.email or placeholder or uses.tables:
        return {"0.0.0.0/0"}
    if not spec.network.interface_endpoints:
        return {"0.0.0.0/0"}
    return set(_subnet_cidrs(plan, spec, "private"))


# --- events --------------------------------------------------------------------------------


def test_sns_sqs_fan_out_gives_every_consumer_its_queue_and_dead_letter_queue():
    catalogue = load_catalogue("osp")
    plan = plan_of("prod", "osp")
    queues = {q.inputs["name"] for q in plan.of_type("aws:sqs/queue:Queue")}
    subscriptions = [
        s
        for s in plan.of_type("aws:sns/topicSubscription:TopicSubscription")
        if s.inputs["protocol"] == "sqs"
    ]
    expected = set()
    for service in catalogue.services:
        for sub in service.uses.consumes:  # a channel's queue is <event>-<channel>
            expected |= {
                f"osp-prod-{service.name}-{sub.queue}",
                f"osp-prod-{service.name}-{sub.queue}-dlq",
            }
    assert expected <= queues
    assert len(subscriptions) == sum(len(s.uses.consumes) for s in catalogue.services)
    # The seed's fan-out: three services each receive every enrollment.
    assert catalogue.consumers_of("enrollment-created") == ("fee", "notification", "reporting")
    for consumer in ("fee", "notification", "reporting"):
        env = env_of(one(plan, DEPLOYMENT, consumer))
        assert env["QUEUE_ENROLLMENT_CREATED_URL"].endswith(
            f"/osp-prod-{consumer}-enrollment-created"
        )


# --- identities ----------------------------------------------------------------------------


def test_each_policy_names_only_the_services_own_resources(case):
    catalogue, spec, plan = case
    prefix = f"osp-{spec.name}"
    for service in catalogue.services:
        uses = service.uses
        statements = policy_of(plan, spec, service.name)
        for statement in statements:
            assert statement["Effect"] == "Allow"
            assert "*" not in statement.get("Resource", []), (service.name, statement)
            assert all("*" not in action for action in statement["Action"])
        topics = {arn_name(a) for a in resources(statements, "PublishEvents")}
        queues = {arn_name(a) for a in resources(statements, "ConsumeEvents")}
        if catalogue.transport == "sns-sqs":
            assert topics == {f"{prefix}-{e}" for e in uses.publishes}, service.name
            # Its event queues, and the blueprint's own queues it is the consumer of.
            assert queues == {f"{prefix}-{service.name}-{s.queue}" for s in uses.consumes} | {
                f"{prefix}-queue-{q}" for q, access in uses.queues.items() if access == "receive"
            }
        else:
            assert topics == queues == set()
        buckets = {a.split(":::")[1] for a in resources(statements, "ListBuckets")}
        assert {b.rsplit("-", 1)[0] for b in buckets} == {f"{prefix}-{b}" for b in uses.buckets}
        writable = {
            a.split(":::")[1].removesuffix("/*") for a in resources(statements, "WriteObjects")
        }
        assert {b.rsplit("-", 1)[0] for b in writable} == {
            f"{prefix}-{b}" for b, access in uses.buckets.items() if access is Access.READ_WRITE
        }
        users = resources(statements, "ConnectDatabase")
        user = service.name.replace("-", "_")
        if uses.database is Database.NONE:
            assert users == []
        else:
            assert users and all(u.endswith(f"/{user}") for u in users), service.name
            instances = 2 if uses.database is Database.READ_REPLICA else 1
            assert len(users) >= instances
        assert bool(resources(statements, "SendEmail")) == uses.email
        assert any(s["Sid"] == "SendSms" for s in statements) == uses.sms


def test_each_policy_has_exactly_the_statements_its_uses_call_for(case):
    """Derived from the catalogue alone: which statements, how many secrets, which keys."""
    catalogue, spec, plan = case
    sns_sqs = catalogue.transport == "sns-sqs"
    for service in catalogue.services:
        uses = service.uses
        statements = policy_of(plan, spec, service.name)
        broker_user = not sns_sqs and bool(uses.publishes or uses.consumes)
        # A signer of a delivered bucket's URLs reads its signing key.
        signer = sum(service.name in b.delivery.signers for b in catalogue.delivered_buckets)
        secrets = len(uses.secrets) + uses.cache + broker_user + signer
        writes = Access.READ_WRITE in uses.buckets.values()
        own_tables = {
            t: a for t, a in uses.tables.items() if not catalogue.table_map[t].tenant_partitioned
        }
        expected = {
            "PublishEvents": sns_sqs and bool(uses.publishes),
            "ConsumeEvents": sns_sqs and bool(uses.consumes),
            # A blueprint queue it sends to (tests/stacks/test_lms_functions.py).
            "SendMessages": QueueAccess.SEND in uses.queues.values(),
            "ListBuckets": bool(uses.buckets),
            "ReadObjects": bool(uses.buckets),
            "WriteObjects": writes,
            "ReadSecrets": bool(secrets),
            "ConnectDatabase": uses.database_access,
            "SendEmail": uses.email,
            "SendSms": uses.sms,
            # Its own parameters, or the shared ones (tests/stacks/test_tables_and_parameters).
            "ReadParameters": bool({service.name, "shared"} & set(catalogue.parameters)),
            # Kafka (IAM): connect, write its topics, read its topics in its own group.
            "KafkaConnect": bool(uses.kafka),
            "KafkaProduce": bool(uses.kafka and uses.kafka.produces),
            "KafkaConsume": bool(uses.kafka and uses.kafka.consumes),
            "KafkaConsumerGroup": bool(uses.kafka and uses.kafka.consumes),
            # Tables: its own role reads (and writes) the others; a tenant-partitioned one
            # only through its tenant-data role (tests/stacks/test_tables_and_parameters).
            "ReadTables": bool(own_tables),
            "WriteTables": Access.READ_WRITE in own_tables.values(),
            "AssumeTenantDataRole": any(
                catalogue.table_map[t].tenant_partitioned for t in uses.tables
            ),
        }
        vias = [
            ("sns", expected["PublishEvents"]),
            ("sqs", expected["ConsumeEvents"] or expected["SendMessages"]),
            ("s3", bool(uses.buckets)),
            ("secretsmanager", bool(secrets)),
        ]
        keys = {f"UseKey{i}" for i in range(sum(wanted for _, wanted in vias))}
        sids = {s["Sid"] for s in statements}
        assert sids == {sid for sid, wanted in expected.items() if wanted} | keys, service.name
        assert len(resources(statements, "ReadSecrets")) == secrets, service.name
        through = sorted(
            s["Condition"]["StringEquals"]["kms:ViaService"][0].split(".")[0]
            for s in statements
            if s["Sid"].startswith("UseKey")
        )
        assert through == sorted(via for via, wanted in vias if wanted), service.name
        for statement in statements:
            if statement["Sid"] == "SendSms":
                assert statement["NotResource"] == ["arn:aws:sns:*:*:*"]
                assert statement["Action"] == ["sns:Publish"]
            else:
                assert "NotResource" not in statement and "NotAction" not in statement
        emails = resources(statements, "SendEmail")
        if uses.email:
            assert sorted(e.split(":")[-1] for e in emails) == [
                f"configuration-set/osp-{spec.name}-email",
                f"identity/{spec.domain}",
            ]


def test_configuration_points_at_exactly_what_the_policy_grants(case):
    catalogue, spec, plan = case
    for service in catalogue.services:
        statements = policy_of(plan, spec, service.name)
        env = env_of(one(plan, DEPLOYMENT, service.name))
        secrets = {v for k, v in env.items() if k.endswith("_ARN") and ":secretsmanager:" in v}
        assert secrets == set(resources(statements, "ReadSecrets")), service.name
        topics = {v for k, v in env.items() if k.startswith("TOPIC_")}
        assert topics == set(resources(statements, "PublishEvents")), service.name
        queues = {
            v.rsplit("/", 1)[1]
            for k, v in env.items()
            if k.startswith("QUEUE_") and k.endswith("_URL")
        }
        assert queues == {
            arn_name(a)
            for sid in ("ConsumeEvents", "SendMessages")
            for a in resources(statements, sid)
        }
        buckets = {v for k, v in env.items() if k.startswith("BUCKET_") and k.endswith("_NAME")}
        assert buckets == {a.split(":::")[1] for a in resources(statements, "ListBuckets")}
        paths = {v for k, v in env.items() if k.endswith("PARAMETERS_PATH")}
        assert {f"arn:aws:ssm:us-east-1:123456789012:parameter{p}" for p in paths} == {
            r for r in resources(statements, "ReadParameters") if not r.endswith("/*")
        }, service.name
        # Never a secret value: every variable is a reference or plain configuration.
        for key, value in env.items():
            assert value not in (k8s.SECRET, k8s.UNKNOWN), (service.name, key)


def test_notification_sends_email_and_sms_and_touches_no_s3_or_rds():
    plan = plan_of("prod", "osp")
    spec = spec_of("prod", "osp")
    statements = policy_of(plan, spec, "notification")
    actions = {a for s in statements for a in s["Action"]}
    assert {"ses:SendEmail", "ses:SendRawEmail", "sns:Publish"} <= actions
    assert not {a for a in actions if a.startswith(("s3:", "rds", "rds-db:"))}


def test_the_load_balancer_controller_may_only_fill_the_estates_target_groups(case):
    _, spec, plan = case
    role = plan.named(f"osp-{spec.name}-lb-controller-role")
    (policy,) = [p for p in plan.of_type(ROLE_POLICY) if p.parent == role.parent]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert set(statements) == {"Describe", "RegisterTargets", "RegisterTargetsInTaggedGroups"}
    groups = statements["RegisterTargets"]["Resource"]
    assert len(groups) == len(plan.of_type("aws:lb/targetGroup:TargetGroup"))
    # Beyond the estate's own groups: only those its silo tenants' stacks tag as theirs.
    assert statements["RegisterTargetsInTaggedGroups"]["Condition"] == {
        "StringEquals": {
            "aws:ResourceTag/osp:environment": spec.name,
            "aws:ResourceTag/osp:tier": "silo",
        }
    }


# --- Kubernetes schema -----------------------------------------------------------------------


def test_every_kubernetes_object_is_valid_for_the_clusters_version(case):
    _, spec, plan = case
    k8s.validate_all(plan, spec.cluster.kubernetes_version)
    kinds = Counter(m["kind"] for m in k8s.manifests(plan))
    assert kinds["Deployment"] >= len(load_catalogue(spec.blueprint).services)


def test_stack_outputs_name_every_services_role_and_address(case):
    catalogue, spec, plan = case
    outputs = plan.outputs
    assert outputs["servicesNamespace"] == NAMESPACE
    assert (
        set(outputs["serviceRoleArns"])
        == set(outputs["serviceUrls"])
        == {s.name for s in catalogue.services}
    )
    for service in catalogue.services:
        role = outputs["serviceRoleArns"][service.name]
        assert re.fullmatch(rf"arn:aws:iam::\d{{12}}:role/osp-{spec.name}-{service.name}", role)
        assert outputs["serviceUrls"][service.name] == (
            f"http://{service.name}.{NAMESPACE}.svc.cluster.local:{service.port}"
        )
    assert outputs["loadBalancerControllerRoleArn"].endswith(f":role/osp-{spec.name}-lb-controller")
    # A function sending email makes the estate's sending domain too (lms's notifications).
    senders = any(s.uses.email for s in (*catalogue.services, *catalogue.functions))
    assert ("emailIdentityArn" in outputs) == senders
    if senders:
        assert outputs["emailIdentityArn"].endswith(f":identity/{spec.domain}")


def test_a_service_waits_for_its_policy_its_database_and_its_broker_user(case):
    """Pulumi records a dependency on a component as one on each of its resources."""
    catalogue, spec, plan = case
    prefix = f"osp-{spec.name}"

    def resources_of(name):
        found = [r for r in plan.resources if r.name == name]
        return {r.urn for c in found for r in plan.descendants(c.urn) if r.custom}

    addons, databases = resources_of(f"{prefix}-addons"), resources_of(f"{prefix}-databases")
    topology = resources_of(f"{prefix}-broker-topology")
    assert addons and databases
    for service in catalogue.services:
        waits = set(plan.named(f"{prefix}-{service.name}-workload").dependencies)
        assert addons <= waits
        policy = {
            r.urn
            for r in plan.of_type(ROLE_POLICY)
            if r.name == f"{prefix}-{service.name}-identity-policy"
        }
        assert policy <= waits
        assert (databases <= waits) == service.uses.database_access, service.name
        events = bool(service.uses.publishes or service.uses.consumes)
        uses_broker = catalogue.transport == "rabbitmq" and events
        assert bool(topology) == (catalogue.transport == "rabbitmq")
        assert (bool(topology) and topology <= waits) == uses_broker, service.name


def test_the_database_job_creates_exactly_the_users_of_services_with_a_database(case):
    catalogue, _, plan = case
    (config,) = [
        c
        for c in plan.of_type("kubernetes:core/v1:ConfigMap")
        if c.inputs["metadata"]["name"].startswith("osp-database-setup-")
    ]
    script = "\n".join(config.inputs["data"].values())
    users = set(re.findall(r"^-- ([a-z0-9_]+): its login role", script, re.M))
    assert users == {s.name.replace("-", "_") for s in catalogue.services if s.uses.database_access}
    for user in users:
        assert f"GRANT rds_iam TO %I', '{user}'" in script


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_rabbitmq_fan_out_gives_every_consumer_its_queue_and_dead_letter_queue(environment):
    catalogue = load_catalogue("learning-hub")
    plan = plan_of(environment, "learning-hub")
    (config,) = [
        c
        for c in plan.of_type("kubernetes:core/v1:ConfigMap")
        if c.inputs["metadata"]["name"].startswith("rabbitmq-topology-")
    ]
    topology = json.loads(config.inputs["data"]["topology.json"])
    queues = {q["name"] for q in topology["queues"]}
    bound = {(b["source"], b["destination"]) for b in topology["bindings"]}
    expected = set()
    for event in catalogue.events.values():
        for consumer in event.consumers:
            queue = f"{consumer}.{event.name}"
            expected |= {queue, f"{queue}.dlq"}
            assert (event.name, queue) in bound
    assert queues == expected
    users = {u["name"]: u for u in topology["users"]}
    assert set(users) == {s.name for s in catalogue.services if s.uses.publishes or s.uses.consumes}
    assert all(u["configure"] == "^$" for u in users.values())
    for service in catalogue.services:
        env = env_of(one(plan, DEPLOYMENT, service.name))
        for subscription in service.uses.consumes:
            key = f"QUEUE_{subscription.event.upper().replace('-', '_')}_NAME"
            assert env[key] == f"{service.name}.{subscription.event}"
