"""`Postgres` through the offline engine: exact children, encryption, access, logs, replicas."""

from __future__ import annotations

import json

import pytest

from osp.components.database import Postgres, PostgresArgs, problems, replica_identifiers
from osp.platform.validation import InvalidArguments
from tests.support import custom_counts, plan_component

TAGS = {"osp:environment": "t", "osp:component": "database", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip
DATA_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111"
LOGS_KEY = "arn:aws:kms:us-east-1:123456789012:key/22222222-2222-2222-2222-222222222222"
CLIENTS = ("sg-0aaaaaaaaaaaaaaaa", "sg-0bbbbbbbbbbbbbbbb")
OUTPUTS = ("identifier", "address", "port", "endpoint", "resource_id", "master_user_secret_arn",
           "security_group_id", "replica_addresses")  # fmt: skip

REQUIRED = {
    "vpc_id": "vpc-0123456789abcdef0",
    "db_subnet_group_name": "osp-t-isolated",
    "client_security_group_ids": CLIENTS,
    "kms_key_arn": DATA_KEY,
    "logs_kms_key_arn": LOGS_KEY,
    "tags": TAGS,
}
DEV = {
    **REQUIRED,
    "instance_class": "db.t4g.medium",
    "allocated_storage_gib": 20,
    "max_allocated_storage_gib": 100,
    "multi_az": False,
    "deletion_protection": False,
    "backup_retention_days": 7,
    "performance_insights_enabled": False,
    "monitoring_interval_seconds": 0,
    "read_replica_count": 0,
}
PROD = {
    **REQUIRED,
    "instance_class": "db.r6g.large",
    "engine_version": "16.4",
    "allocated_storage_gib": 100,
    "max_allocated_storage_gib": 1000,
    "multi_az": True,
    "deletion_protection": True,
    "backup_retention_days": 35,
    "performance_insights_enabled": True,
    "monitoring_interval_seconds": 60,
    "read_replica_count": 1,
    "log_retention_days": 365,
}
RDS = "aws:rds/instance:Instance"


def plan_postgres(args: dict, name: str = "osp-t-db"):
    return plan_component(Postgres, PostgresArgs(**args), name=name, exports=OUTPUTS)


def instances(plan):
    """The plan's RDS instances, never none: a test looping over them must not pass on none."""
    found = plan.of_type(RDS)
    assert found, "the plan holds no RDS instance"
    return found


@pytest.fixture(scope="module")
def dev():
    return plan_postgres(DEV)


@pytest.fixture(scope="module")
def prod():
    return plan_postgres(PROD)


# -- children -------------------------------------------------------------------------------


def test_children_dev(dev):
    assert custom_counts(dev) == {
        "ec2/securityGroup": 1,
        "vpc/securityGroupIngressRule": 2,
        "rds/parameterGroup": 1,
        "cloudwatch/logGroup": 2,
        "rds/instance": 1,
    }
    component = dev.named("osp-t-db")
    assert component.type == "osp:database:Postgres"
    assert all(r.parent == component.urn for r in dev.resources if r.custom)


def test_children_prod(prod):
    assert custom_counts(prod) == {
        "ec2/securityGroup": 1,
        "vpc/securityGroupIngressRule": 2,
        "rds/parameterGroup": 1,
        "cloudwatch/logGroup": 4,  # postgresql and upgrade, for the primary and the replica
        "iam/role": 1,
        "iam/rolePolicyAttachment": 1,
        "rds/instance": 2,
    }
    assert {r.name for r in prod.of_type(RDS)} == {"osp-t-db-primary", "osp-t-db-replica-1"}
    component = prod.named("osp-t-db")
    assert all(r.parent == component.urn for r in prod.resources if r.custom)


def test_log_groups_are_named_after_the_component_and_each_replica(prod):
    groups = prod.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert {g.name: g.inputs["name"] for g in groups} == {
        "osp-t-db-logs-postgresql": "/aws/rds/instance/osp-t-db/postgresql",
        "osp-t-db-logs-upgrade": "/aws/rds/instance/osp-t-db/upgrade",
        "osp-t-db-replica-1-logs-postgresql": "/aws/rds/instance/osp-t-db-replica-1/postgresql",
        "osp-t-db-replica-1-logs-upgrade": "/aws/rds/instance/osp-t-db-replica-1/upgrade",
    }


def test_replica_count_is_honoured():
    plan = plan_postgres({**PROD, "read_replica_count": 3})
    assert sorted(r.inputs["identifier"] for r in plan.of_type(RDS)) == [
        "osp-t-db",
        "osp-t-db-replica-1",
        "osp-t-db-replica-2",
        "osp-t-db-replica-3",
    ]
    assert len(plan.of_type("aws:cloudwatch/logGroup:LogGroup")) == 8


# -- the primary ----------------------------------------------------------------------------


def test_primary_engine_storage_and_encryption(prod):
    db = prod.named("osp-t-db-primary").inputs
    assert db["identifier"] == "osp-t-db"
    assert db["engine"] == "postgres" and db["engineVersion"] == "16.4"
    assert db["instanceClass"] == "db.r6g.large"
    assert db["storageType"] == "gp3"
    assert db["allocatedStorage"] == 100 and db["maxAllocatedStorage"] == 1000
    assert db["storageEncrypted"] is True and db["kmsKeyId"] == DATA_KEY
    assert db["multiAz"] is True
    assert db["dbSubnetGroupName"] == "osp-t-isolated"
    assert db["publiclyAccessible"] is False
    assert db["autoMinorVersionUpgrade"] is True
    assert "port" not in db  # RDS's PostgreSQL default, 5432, which the ingress rules admit


def test_default_engine_version_is_a_major_so_rds_owns_the_minor(dev):
    assert dev.named("osp-t-db-primary").inputs["engineVersion"] == "16"
    assert dev.named("osp-t-db-params").inputs["family"] == "postgres16"


def test_master_password_is_managed_by_rds_never_in_state(dev, prod):
    for plan in (dev, prod):
        db = plan.named("osp-t-db-primary").inputs
        assert db["manageMasterUserPassword"] is True
        assert db["masterUserSecretKmsKeyId"] == DATA_KEY
        assert db["username"] == "osp_admin"
        assert db["iamDatabaseAuthenticationEnabled"] is True
        for resource in plan.resources:
            assert not {"password", "passwordWo"} & resource.inputs.keys()
        assert not plan.of_type("random:index/randomPassword:RandomPassword")


def test_backups_and_final_snapshot(dev, prod):
    for plan, days in ((dev, 7), (prod, 35)):
        db = plan.named("osp-t-db-primary").inputs
        assert db["backupRetentionPeriod"] == days
        assert db["backupWindow"] == "03:00-04:00"
        assert db["maintenanceWindow"] == "sun:04:30-sun:05:30"
        assert db["skipFinalSnapshot"] is False
        assert db["finalSnapshotIdentifier"] == "osp-t-db-final"
        assert db["copyTagsToSnapshot"] is True
        assert db["deleteAutomatedBackups"] is False


def test_deletion_protection_on_prod_primary_and_replica(prod):
    for instance in instances(prod):
        assert instance.inputs["deletionProtection"] is True
        assert instance.options.protect is True
    # protect is for the stateful resources only
    assert all(not r.options.protect for r in prod.resources if r.type != RDS)


def test_no_deletion_protection_on_dev(dev):
    db = dev.named("osp-t-db-primary")
    assert db.inputs["deletionProtection"] is False
    assert not any(r.options.protect for r in dev.resources)


def test_performance_insights_and_monitoring_off_on_dev(dev):
    db = dev.named("osp-t-db-primary").inputs
    assert db["performanceInsightsEnabled"] is False
    assert "performanceInsightsKmsKeyId" not in db
    assert "performanceInsightsRetentionPeriod" not in db
    assert db["monitoringInterval"] == 0
    assert "monitoringRoleArn" not in db
    assert not dev.of_type("aws:iam/role:Role")


def test_performance_insights_encrypted_on_prod(prod):
    for instance in instances(prod):
        assert instance.inputs["performanceInsightsEnabled"] is True
        assert instance.inputs["performanceInsightsKmsKeyId"] == DATA_KEY
        assert instance.inputs["performanceInsightsRetentionPeriod"] == 7


def test_enhanced_monitoring_role(prod):
    role = prod.named("osp-t-db-monitoring")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "monitoring.rds.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": "123456789012"},
                "ArnLike": {
                    "aws:SourceArn": [
                        "arn:aws:rds:us-east-1:123456789012:db:osp-t-db",
                        "arn:aws:rds:us-east-1:123456789012:db:osp-t-db-replica-1",
                    ]
                },
            },
        }
    ]
    attachment = prod.named("osp-t-db-monitoring-policy")
    assert attachment.inputs["policyArn"] == (
        "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    )
    assert attachment.property_dependencies["role"] == (role.urn,)
    for instance in instances(prod):
        assert instance.inputs["monitoringInterval"] == 60
        assert instance.inputs["monitoringRoleArn"] == (
            "arn:aws:iam::123456789012:role/osp-t-db-monitoring"
        )
        # RDS checks the role's permissions when it creates the instance.
        assert attachment.urn in instance.dependencies


# -- parameter group ------------------------------------------------------------------------


def test_parameter_group_forces_tls_and_logs(prod):
    group = prod.named("osp-t-db-params").inputs
    assert group["family"] == "postgres16"
    assert group["name"] == "osp-t-db-postgres16"
    settings = {p["name"]: p["value"] for p in group["parameters"]}
    assert settings == {
        "rds.force_ssl": "1",
        "ssl_min_protocol_version": "TLSv1.2",
        "password_encryption": "scram-sha-256",
        "log_connections": "1",
        "log_disconnections": "1",
        "log_min_duration_statement": "500",
        "log_statement": "ddl",
        "log_lock_waits": "1",
    }
    for instance in instances(prod):
        assert instance.inputs["parameterGroupName"] == "osp-t-db-postgres16"


def test_parameter_group_follows_major_and_slow_query_threshold():
    plan = plan_postgres({**DEV, "engine_version": "17.2", "slow_query_ms": 250})
    group = plan.named("osp-t-db-params").inputs
    assert group["family"] == "postgres17" and group["name"] == "osp-t-db-postgres17"
    settings = {p["name"]: p["value"] for p in group["parameters"]}
    assert settings["log_min_duration_statement"] == "250"


# -- network access -------------------------------------------------------------------------


def test_ingress_only_postgres_from_each_client(prod):
    group = prod.named("osp-t-db-sg")
    assert group.inputs["vpcId"] == "vpc-0123456789abcdef0"
    assert "ingress" not in group.inputs and "egress" not in group.inputs
    rules = prod.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert sorted(r.inputs["referencedSecurityGroupId"] for r in rules) == sorted(CLIENTS)
    for rule in rules:
        assert rule.property_dependencies["securityGroupId"] == (group.urn,)
        assert rule.inputs["ipProtocol"] == "tcp"
        assert rule.inputs["fromPort"] == rule.inputs["toPort"] == 5432
        assert not {"cidrIpv4", "cidrIpv6", "prefixListId"} & rule.inputs.keys()
    assert not prod.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    for instance in instances(prod):
        assert instance.property_dependencies["vpcSecurityGroupIds"] == (group.urn,)
        assert instance.inputs["publiclyAccessible"] is False


def test_nothing_is_open_to_the_world(dev, prod):
    for plan in (dev, prod):
        text = json.dumps([r.inputs for r in plan.resources])
        assert "0.0.0.0/0" not in text and "::/0" not in text


def test_no_clients_means_no_ingress():
    plan = plan_postgres({**DEV, "client_security_group_ids": ()})
    assert not plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")


# -- logs -----------------------------------------------------------------------------------


def test_log_groups_precreated_encrypted_and_awaited(dev, prod):
    for plan, days in ((dev, 30), (prod, 365)):
        groups = {r.inputs["name"]: r for r in plan.of_type("aws:cloudwatch/logGroup:LogGroup")}
        for instance in instances(plan):
            ident = instance.inputs["identifier"]
            assert instance.inputs["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
            for log in ("postgresql", "upgrade"):
                group = groups[f"/aws/rds/instance/{ident}/{log}"]
                assert group.inputs["retentionInDays"] == days
                assert group.inputs["kmsKeyId"] == LOGS_KEY
                assert group.urn in instance.dependencies
        assert len(groups) == 2 * len(instances(plan))


# -- replicas -------------------------------------------------------------------------------


def test_replica_mirrors_the_primary(prod):
    primary = prod.named("osp-t-db-primary")
    replica = prod.named("osp-t-db-replica-1")
    r = replica.inputs
    assert r["identifier"] == "osp-t-db-replica-1"
    assert r["replicateSourceDb"] == "osp-t-db"
    assert replica.property_dependencies["replicateSourceDb"] == (primary.urn,)
    for key in ("instanceClass", "storageType", "storageEncrypted", "kmsKeyId",
                "parameterGroupName", "vpcSecurityGroupIds", "publiclyAccessible",
                "iamDatabaseAuthenticationEnabled", "deletionProtection",
                "performanceInsightsEnabled", "performanceInsightsKmsKeyId",
                "monitoringInterval", "monitoringRoleArn", "copyTagsToSnapshot",
                "autoMinorVersionUpgrade", "multiAz"):  # fmt: skip
        assert r[key] == primary.inputs[key], key
    # Inherited from the source, or refused by RDS for a replica.
    for key in ("username", "manageMasterUserPassword", "engineVersion", "dbSubnetGroupName",
                "finalSnapshotIdentifier"):  # fmt: skip
        assert key not in r, key
    assert r["skipFinalSnapshot"] is True


# -- outputs and tags -----------------------------------------------------------------------


def test_outputs(prod):
    out = prod.outputs
    assert out["identifier"] == "osp-t-db"
    assert out["address"].startswith("osp-t-db.") and out["address"].endswith(
        ".us-east-1.rds.amazonaws.com"
    )
    assert out["port"] == 5432
    assert out["endpoint"] == f"{out['address']}:5432"
    assert out["resource_id"].startswith("db-") and len(out["resource_id"]) == 29
    assert out["master_user_secret_arn"].startswith(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-"
    )
    assert out["security_group_id"].startswith("sg-")
    assert len(out["replica_addresses"]) == 1
    assert out["replica_addresses"][0].startswith("osp-t-db-replica-1.")


def test_dev_has_no_replica_addresses(dev):
    assert dev.outputs["replica_addresses"] == []


def test_every_taggable_resource_is_tagged(dev, prod):
    for plan in (dev, prod):
        for resource in plan.resources:
            if not resource.custom or resource.type.startswith("aws:iam/rolePolicyAttachment"):
                continue
            tags = resource.inputs["tags"]
            assert tags["Name"] == resource.name
            assert tags.items() >= TAGS.items()


def test_long_names_are_fitted_to_rds_limits():
    name = "osp-staging-" + "x" * 60
    plan = plan_postgres({**PROD, "read_replica_count": 1}, name=name)
    identifiers = [r.inputs["identifier"] for r in plan.of_type(RDS)]
    final = plan.named(f"{name}-primary").inputs["finalSnapshotIdentifier"]
    for ident in (*identifiers, final, plan.named(f"{name}-params").inputs["name"]):
        assert len(ident) <= 63 and "--" not in ident and not ident.endswith("-")
    assert len(set(identifiers)) == 2


# -- validation -----------------------------------------------------------------------------

NAME = "osp-t-db"
LOG_PERIODS = "1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, " \
    "2557, 2922, 3288, 3653"  # fmt: skip


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"instance_class": "db.t3.tiny"},
         "instance_class: got 'db.t3.tiny'; expected an RDS instance class such as db.r6g.large"),
        ({"instance_class": "r6g.large"},
         "instance_class: got 'r6g.large'; expected an RDS instance class such as db.r6g.large"),
        ({"instance_class": "db.serverless.large"},
         "instance_class: got 'db.serverless.large'; expected an RDS instance class such as "
         "db.r6g.large"),
        ({"engine_version": "13.7"}, "engine_version: got '13.7'; expected a PostgreSQL version "
         "of major 14, 15, 16, 17, such as 16 or 16.4"),
        ({"engine_version": "16.x"}, "engine_version: got '16.x'; expected a PostgreSQL version "
         "of major 14, 15, 16, 17, such as 16 or 16.4"),
        ({"allocated_storage_gib": 10},
         "allocated_storage_gib: got 10; expected an integer from 20 to 65536"),
        ({"max_allocated_storage_gib": 50},
         "max_allocated_storage_gib: got 50; expected at least allocated_storage_gib (100)"),
        ({"max_allocated_storage_gib": 70000},
         "max_allocated_storage_gib: got 70000; expected an integer from 20 to 65536"),
        ({"backup_retention_days": 0},
         "backup_retention_days: got 0; expected an integer from 1 to 35"),
        ({"backup_retention_days": 36},
         "backup_retention_days: got 36; expected an integer from 1 to 35"),
        ({"monitoring_interval_seconds": 20}, "monitoring_interval_seconds: got 20; expected "
         "one of 0, 1, 5, 10, 15, 30, 60 (0 turns it off)"),
        ({"read_replica_count": 6}, "read_replica_count: got 6; expected an integer from 0 to 5"),
        ({"read_replica_count": -1},
         "read_replica_count: got -1; expected an integer from 0 to 5"),
        ({"slow_query_ms": -5},
         "slow_query_ms: got -5; expected milliseconds >= 0, or -1 to log no statement"),
        ({"log_retention_days": 10},
         f"log_retention_days: got 10; expected a CloudWatch Logs retention period: {LOG_PERIODS}"),
        ({"client_security_group_ids": ("sg-1", "sg-1")},
         "client_security_group_ids: got ['sg-1', 'sg-1']; expected each security group at "
         "most once"),
        ({"username": "1admin"}, "username: got '1admin'; expected 1-63 letters, digits or "
         "underscores starting with a letter, not one of rds_superuser, rdsadmin, rdsrepladmin"),
        ({"username": "rdsadmin"}, "username: got 'rdsadmin'; expected 1-63 letters, digits or "
         "underscores starting with a letter, not one of rds_superuser, rdsadmin, rdsrepladmin"),
        ({"backup_window": "3:00-4:00"},
         "backup_window: got '3:00-4:00'; expected a daily UTC window hh:mm-hh:mm such as "
         "03:00-04:00"),
        ({"backup_window": "03:00-03:15"},
         "backup_window: got '03:00-03:15'; expected a window of at least 30 minutes"),
        ({"maintenance_window": "sunday 04:30"},
         "maintenance_window: got 'sunday 04:30'; expected a weekly UTC window "
         "ddd:hh:mm-ddd:hh:mm such as sun:04:30-sun:05:30"),
        ({"maintenance_window": "sun:04:30-sun:04:45"},
         "maintenance_window: got 'sun:04:30-sun:04:45'; expected a window of at least 30 "
         "minutes"),
        ({"maintenance_window": "mon:03:30-mon:04:30"},
         "maintenance_window: got 'mon:03:30-mon:04:30'; expected a window that does not "
         "overlap backup_window '03:00-04:00'"),
        ({"backup_window": "23:30-00:30", "maintenance_window": "tue:00:00-tue:01:00"},
         "maintenance_window: got 'tue:00:00-tue:01:00'; expected a window that does not "
         "overlap backup_window '23:30-00:30'"),
    ],
)  # fmt: skip
def test_bad_args_are_refused(override, message):
    assert problems(NAME, PostgresArgs(**{**PROD, **override})) == [f"Postgres {NAME}: {message}"]


def test_good_args_pass():
    args = {**PROD, "backup_window": "22:00-23:30", "maintenance_window": "sat:23:45-sun:00:30"}
    assert problems(NAME, PostgresArgs(**args)) == []
    assert problems(NAME, PostgresArgs(**{**PROD, "engine_version": "14"})) == []
    for instance_class in ("db.t4g.micro", "db.m7g.2xlarge", "db.r6id.metal", "db.x2iedn.xlarge",
                           "db.m6i.metal", "db.r7i.metal-48xl"):  # fmt: skip
        assert problems(NAME, PostgresArgs(**{**PROD, "instance_class": instance_class})) == []


def test_replica_identifiers_fit_rds():
    assert replica_identifiers("osp-t-db", 2) == ["osp-t-db-replica-1", "osp-t-db-replica-2"]
    assert replica_identifiers("osp-t-db", 0) == []
    fitted = replica_identifiers("x" * 63, 2)
    assert all(len(identifier) <= 63 for identifier in fitted)
    assert len(set(fitted)) == 2


def test_every_problem_is_reported_at_once_through_the_engine():
    with pytest.raises(InvalidArguments) as caught:
        plan_postgres({**DEV, "instance_class": "db.t3.tiny", "backup_retention_days": 40})
    assert caught.value.problems == [
        "Postgres osp-t-db: instance_class: got 'db.t3.tiny'; expected an RDS instance class "
        "such as db.r6g.large",
        "Postgres osp-t-db: backup_retention_days: got 40; expected an integer from 1 to 35",
    ]


@pytest.mark.parametrize("multi_az", [True, False])
def test_a_replica_has_a_standby_exactly_when_the_primary_does(multi_az):
    plan = plan_postgres({**PROD, "multi_az": multi_az, "read_replica_count": 2})
    assert {r.name: r.inputs["multiAz"] for r in plan.of_type(RDS)} == {
        "osp-t-db-primary": multi_az,
        "osp-t-db-replica-1": multi_az,
        "osp-t-db-replica-2": multi_az,
    }
