"""The AWS and Kubernetes rules of osp.platform.limits, each with what it must accept and refuse."""

from __future__ import annotations

import pytest

from osp.platform import limits

ACCEPTS = {
    "PULUMI_URN": [
        "urn:pulumi:dev::osp::aws:s3/bucket:Bucket::osp-dev-assets",
        "urn:pulumi:prod::osp::osp:network:Network$aws:ec2/vpc:Vpc::osp-prod-network-vpc",
        "urn:pulumi:dev::osp::pulumi:pulumi:Stack::osp-dev",
        "urn:pulumi:dev.tenant-x::osp::random:index/randomPassword:RandomPassword::a::b c",
    ],
    "POLICY_RULE_ID": ["OSP-RDS-1", "OSP-K8S-12", "OSP-S3-3"],
    "DNS_LABEL": ["a", "school-1", "x" * 63, "0abc"],
    "DNS_1035_LABEL": ["a", "fee", "course-review", "a" + "b" * 62],
    "DOMAIN_NAME": ["school.example.com", "osp.example.co.uk", "a.io"],
    "EMAIL_ADDRESS": ["platform@school.example.com", "o'neil+ops@example.org"],
    "K8S_LABEL_KEY": [
        "app",
        "osp.io/pool",
        "app.kubernetes.io/name",
        "a_b.c",
        "a" * 253 + "/" + "b" * 63,
    ],
    "K8S_LABEL_VALUE": ["", "system", "v1.2_3"],
    "AWS_REGION": ["us-east-1", "eu-west-2", "us-gov-west-1", "ap-southeast-4"],
    "ACCOUNT_ID": ["123456789012"],
    "IAM_ROLE_ARN": [
        "arn:aws:iam::123456789012:role/platform-admin",
        "arn:aws:iam::123456789012:role/teams/platform/admin",
        "arn:aws-us-gov:iam::123456789012:role/x",
        "arn:aws-iso:iam::123456789012:role/x",
    ],
    "KMS_KEY_ARN": [
        "arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-1234abcd",
    ],
    "SNS_TOPIC_ARN": [
        "arn:aws:sns:us-east-1:123456789012:osp-prod-events",
        "arn:aws:sns:us-east-1:123456789012:a.fifo",
    ],
    "SQS_QUEUE_ARN": ["arn:aws:sqs:eu-west-2:123456789012:osp-prod-fee-order-placed"],
    "S3_BUCKET_ARN": ["arn:aws:s3:::osp-prod-media", "arn:aws-cn:s3:::a.b-c"],
    "SECRET_ARN": ["arn:aws:secretsmanager:us-east-1:123456789012:secret:osp-prod/jwt-AbCdEf"],
    "TARGET_GROUP_ARN": [
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/osp-prod-fee/0123abcd"
    ],
    "CLOUDFRONT_CERTIFICATE_ARN": [
        "arn:aws:acm:us-east-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100"
    ],
    "CLOUDFRONT_WEB_ACL_ARN": [
        "arn:aws:wafv2:us-east-1:123456789012:global/webacl/osp-prod-edge/0123abcd"
    ],
    "OIDC_PROVIDER_ARN": [
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/AB12"
    ],
    "CLOUDFRONT_FUNCTION_NAME": ["osp-prod-tenant-gate-viewer-request", "a", "A_b-1" + "c" * 59],
    "CLOUDFRONT_KEY_VALUE_STORE_NAME": ["osp-prod-tenant-gate", "x", "Ab_9" * 16],
    "CLOUDFRONT_FUNCTION_ARN": [
        "arn:aws:cloudfront::123456789012:function/osp-prod-tenant-gate-viewer-request",
        "arn:aws-cn:cloudfront::123456789012:function/a_b",
    ],
    "CLOUDFRONT_KEY_VALUE_STORE_ARN": [
        "arn:aws:cloudfront::123456789012:key-value-store/8562a61f-caba-2845-9d99-b97d1bae5d3c"
    ],
    "HOSTED_ZONE_ID": ["Z0123456789ABCDEFGHIJ", "Z1"],
    "LOG_RETENTION": [1, 30, 365, 3653],
    "SECRET_RECOVERY_WINDOW": [0, 7, 30],
    "SMS_MONTHLY_SPEND_LIMIT_USD": [1, 100, 1_000_000],
    "SMS_SUCCESS_SAMPLING_PERCENT": [0, 10, 100],
    "CLOUDFRONT_PATH_PREFIX": ["photos/", "branding/logos/", "a.b_c-d/"],
    "CLOUDFRONT_PUBLIC_KEY": [
        "-----BEGIN PUBLIC KEY-----\n" + "QUJD\n" * 6 + "-----END PUBLIC KEY-----\n"
    ],
    "POSTGRES_VERSION": ["14", "16", "16.4", "17.2"],
    "RDS_INSTANCE_CLASS": [
        "db.t4g.micro",
        "db.r6g.large",
        "db.r6g.16xlarge",
        "db.m6i.metal",
        "db.r7i.metal-48xl",
        "db.x2iedn.xlarge",
    ],
    "RDS_STORAGE_GIB": [20, 65536],
    "RDS_BACKUP_RETENTION_DAYS": [1, 35],
    "RDS_SNAPSHOT": [
        "osp-prod-postgres-1",
        "rds:osp-prod-postgres-2025-01-31-03-10",
        "arn:aws:rds:eu-west-2:123456789012:snapshot:awsbackup:job-1a2b",
    ],
    "BACKUP_RETENTION_DAYS": [1, 365, 36500],
    "BACKUP_CONTINUOUS_RETENTION_DAYS": [1, 35],
    "BACKUP_VAULT_LOCK_MIN_RETENTION_DAYS": [1, 35],
    "RDS_READ_REPLICAS": [0, 5],
    "RDS_MONITORING_INTERVAL": [0, 1, 60],
    "CACHE_NODE_TYPE": ["cache.t4g.small", "cache.r7g.large", "cache.m6gd.2xlarge"],
    "CACHE_REPLICAS": [0, 5],
    "CACHE_SHARDS": [1, 500],
    "CACHE_SNAPSHOT_RETENTION_DAYS": [1, 35],
    "MQ_INSTANCE_TYPE": ["mq.m5.large", "mq.t3.micro", "mq.m7g.xlarge"],
    "RABBITMQ_VERSION": ["3.13", "4.0", "3.20"],
    "MSK_INSTANCE_TYPE": ["kafka.m7g.large", "kafka.t3.small", "kafka.m5.4xlarge"],
    "KAFKA_VERSION": ["3.6.0", "3.8.x", "4.0.0"],
    "MSK_STORAGE_GIB": [1, 500, 16384],
    "MSK_BROKERS_PER_ZONE": [1, 10],
    "MSK_ENHANCED_MONITORING": ["DEFAULT", "PER_TOPIC_PER_PARTITION"],
    "KAFKA_PARTITIONS": [1, 1000],
    "KAFKA_RETENTION_HOURS": [1, 8760],
    "FLINK_PARALLELISM": [1, 64],
    "FLINK_RUNTIME": ["FLINK-1_18", "FLINK-1_20"],
    "MQ_CLUSTER_INSTANCE_TYPE": ["mq.m5.large", "mq.m7g.xlarge"],
    "EC2_INSTANCE_TYPE": ["m6i.large", "t4g.medium", "c7gn.16xlarge", "m7i.metal-24xl"],
    "KUBERNETES_VERSION": ["1.30", "1.34"],
    "EKS_LOG_TYPE": ["api", "audit", "controllerManager", "scheduler"],
    "HEALTH_CHECK_FAILURE_THRESHOLD": [1, 3, 10],
    "HEALTH_CHECK_INTERVAL": [10, 30],
    "HEALTH_CHECK_PATH": ["/", "/api/identity/readyz", "/" + "a" * 254],
    "PORT": [1, 443, 65535],
    "LISTENER_PORT": [80, 443, 8443],
    "NODE_INSTANCE_TYPE": ["m6i.large", "t3.medium", "c7i.2xlarge"],
    "NODE_POOL_MIN_SIZE": [0, 100],
    "NODE_POOL_MAX_SIZE": [1, 100],
    "NODE_DISK_GIB": [20, 1000],
    "KARPENTER_CPU": [1, 10000],
    "KARPENTER_MEMORY_GIB": [1, 80000],
    "KARPENTER_EXPIRE_AFTER_HOURS": [1, 720, 8760],
    "KMS_DELETION_WINDOW_DAYS": [7, 30],
    "IMAGE_TAG": ["1.0.0", "v2_rc.1", "a" * 128],
    "IMAGE_DIGEST": ["sha256:" + "a" * 64],
    "POSTGRES_SERVICE_USER": ["fee", "course_review", "user", "a" * 63],
    "SECRET_NAME": ["jwt-signing-key", "stripe_api_key", "a1"],
    "SECRET_NAME_PREFIX": ["osp-prod", "osp-prod/broker"],
    "LAMBDA_MEMORY_MIB": [128, 1024, 10240],
    "LAMBDA_TIMEOUT_SECONDS": [1, 900],
    "LAMBDA_RESERVED_CONCURRENCY": [1, 900],
    "LAMBDA_RUNTIME": ["python3.13", "nodejs22.x", "provided.al2023"],
    "LAMBDA_HANDLER": ["index.handler", "Osp::Thumbnails.Function::Handle", "app/main.run"],
    "LAMBDA_SQS_BATCH_SIZE": [1, 10],
    "SCHEDULE_EXPRESSION": [
        "cron(0 7 * * ? *)",
        "cron(0 6 ? * MON *)",
        "rate(1 day)",
        "rate(15 minutes)",
        "at(2027-01-01T00:00:00)",
    ],
    "SCHEDULE_FLEXIBLE_WINDOW_MINUTES": [1, 1440],
    "SCHEDULE_MAX_ATTEMPTS": [0, 185],
    "SCHEDULE_MAX_EVENT_AGE_SECONDS": [60, 86400],
}

REFUSES = {
    "PULUMI_URN": [
        "not-a-urn",
        "",
        "urn:pulumi:dev::osp::aws:s3/bucket:Bucket",
        "urn:pulumi:dev::osp::::name",
        "urn:pulumi:::osp::aws:s3/bucket:Bucket::n",
        "urn:aws:dev::osp::t::n",
        "osp-dev-assets",
        " urn:pulumi:dev::osp::aws:s3/bucket:Bucket::n",
        None,
    ],
    "POLICY_RULE_ID": ["", "osp-rds-1", "OSP-RDS-0", "OSP-RDS", "RDS-1", "OSP--1", 7],
    "DNS_LABEL": ["", "-a", "a-", "A", "a.b", "x" * 64, "a_b"],
    "DNS_1035_LABEL": ["1abc", "a-", "Fee", ""],
    "DOMAIN_NAME": [
        "example",
        "School.example.com",
        "a..b",
        "example.123",
        "-a.com",
        "a." + "b" * 63 + ".com" * 60,
        42,
    ],
    "EMAIL_ADDRESS": ["nobody", "a@b", "a b@example.com"],
    "K8S_LABEL_KEY": ["", "-a", "Osp.io/pool", "a/b/c", "a" * 254 + "/b", "a/" + "b" * 64],
    "K8S_LABEL_VALUE": ["-a", "a" * 64, "a b"],
    "AWS_REGION": ["us-east", "US-EAST-1", "useast1", "eu-west-2a"],
    "ACCOUNT_ID": ["12345678901", "12345678901a", 123456789012],
    "IAM_ROLE_ARN": [
        "arn:aws:iam::123456789012:user/x",
        "arn:aws:iam:us-east-1:123456789012:role/x",
        "arn:aws:iam::123456789012:role/*",
        "arn:aws:iam::1234:role/x",
        "role/x",
    ],
    "KMS_KEY_ARN": [
        "arn:aws:kms:eu-west-2:123456789012:alias/x",
        "key/1234",
        "arn:aws:kms:eu-west-2:12345678901:key/1234",
        "arn:aws:kms:eu-west-2:123456789012:key/*",
    ],
    "SNS_TOPIC_ARN": [
        "arn:aws:sns:us-east-1:123456789012:*",
        "arn:aws:sqs:us-east-1:123456789012:a",
        "arn:aws:sns::123456789012:a",
    ],
    "SQS_QUEUE_ARN": ["arn:aws:sqs:us-east-1:123456789012:" + "a" * 81],
    "S3_BUCKET_ARN": ["arn:aws:s3:::osp-prod-media/*", "arn:aws:s3:us-east-1:123456789012:osp"],
    "SECRET_ARN": [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:*",
        "arn:aws:secretsmanager:us-east-1:123456789012:osp",
    ],
    "TARGET_GROUP_ARN": [
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/0123abcd"
    ],
    "CLOUDFRONT_CERTIFICATE_ARN": [
        "arn:aws:acm:eu-west-2:123456789012:certificate/0f0e0d0c",
        "arn:aws:acm:us-east-1:123456789012:certificate/*",
    ],
    "CLOUDFRONT_WEB_ACL_ARN": [
        "arn:aws:wafv2:eu-west-2:123456789012:global/webacl/x/1",
        "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/x/1",
    ],
    "OIDC_PROVIDER_ARN": ["arn:aws:iam:us-east-1:123456789012:oidc-provider/x"],
    "CLOUDFRONT_FUNCTION_NAME": ["", "a" * 65, "gate.js", "osp gate", 7],
    "CLOUDFRONT_KEY_VALUE_STORE_NAME": ["", "a" * 65, "osp.prod", None],
    "CLOUDFRONT_FUNCTION_ARN": [
        "arn:aws:cloudfront:us-east-1:123456789012:function/gate",
        "arn:aws:lambda:us-east-1:123456789012:function:gate",
        "arn:aws:cloudfront::123456789012:function/*",
        "arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL",
    ],
    "CLOUDFRONT_KEY_VALUE_STORE_ARN": [
        "arn:aws:cloudfront::123456789012:key-value-store/osp-prod-tenant-gate",
        "arn:aws:cloudfront:us-east-1:123456789012:key-value-store/"
        "8562a61f-caba-2845-9d99-b97d1bae5d3c",
        "arn:aws:cloudfront::123456789012:key-value-store/*",
    ],
    "HOSTED_ZONE_ID": ["abc", "Z", "z123"],
    "LOG_RETENTION": [0, 2, 45, 3654, True, "30"],
    "SECRET_RECOVERY_WINDOW": [1, 6, 31, -1, False],
    "SMS_MONTHLY_SPEND_LIMIT_USD": [0, -1, 1_000_001, True, 1.5],
    "SMS_SUCCESS_SAMPLING_PERCENT": [-1, 101, True, "50"],
    "CLOUDFRONT_PATH_PREFIX": ["photos", "/photos/", "Photos/", "a//", "p" * 100 + "/", None],
    "CLOUDFRONT_PUBLIC_KEY": [
        "ssh-rsa AAAA",
        "-----BEGIN PUBLIC KEY-----\nQUJD\n-----END PUBLIC KEY-----",
        None,
    ],
    "POSTGRES_VERSION": ["13", "18", "16.4.1", "sixteen", 16],
    # db.serverless is Aurora Serverless v2 only; RDS for PostgreSQL has no such class.
    "RDS_INSTANCE_CLASS": ["db.serverless.large", "db.t3.tiny", "r6g.large", "db.r6g"],
    "RDS_STORAGE_GIB": [19, 65537, 20.5],
    "RDS_BACKUP_RETENTION_DAYS": [0, 36],
    "RDS_SNAPSHOT": ["1abc", "two--hyphens", "ends-", "arn:aws:s3:::bucket", ""],
    "BACKUP_RETENTION_DAYS": [0, 36501, True],
    "BACKUP_CONTINUOUS_RETENTION_DAYS": [0, 36],
    "BACKUP_VAULT_LOCK_MIN_RETENTION_DAYS": [0, 36501],
    "RDS_READ_REPLICAS": [-1, 6],
    "RDS_MONITORING_INTERVAL": [2, 120, True],
    "CACHE_NODE_TYPE": ["cache.r7g", "r7g.large", "cache.r7g.huge"],
    "CACHE_REPLICAS": [-1, 6],
    "CACHE_SHARDS": [0, 501, True],
    "CACHE_SNAPSHOT_RETENTION_DAYS": [0, 36],
    "MQ_INSTANCE_TYPE": ["m5.large", "mq.m5"],
    # Before 3.13 Amazon MQ wants major.minor.patch and no automatic minor upgrades.
    "RABBITMQ_VERSION": ["3.12", "3.11.20", "3", "latest"],
    "MSK_INSTANCE_TYPE": ["m7g.large", "kafka.m7g", "mq.m5.large"],
    "KAFKA_VERSION": ["2.8.1", "3.4.0", "3.6", "latest"],
    "MSK_STORAGE_GIB": [0, 16385, True],
    "MSK_BROKERS_PER_ZONE": [0, 11],
    "MSK_ENHANCED_MONITORING": ["default", "PER_TOPIC"],
    "KAFKA_PARTITIONS": [0, 1001],
    "KAFKA_RETENTION_HOURS": [0, 8761],
    "FLINK_PARALLELISM": [0, 65],
    "FLINK_RUNTIME": ["FLINK-1_13", "SQL-1_0"],
    "MQ_CLUSTER_INSTANCE_TYPE": ["mq.t3.micro", "mq.t3.small", "m5.large"],
    "EC2_INSTANCE_TYPE": ["m6i", "M6I.large", "m6i.huge"],
    "KUBERNETES_VERSION": ["1.29", "1.35", "2.0"],
    "EKS_LOG_TYPE": ["Audit", "kube-apiserver", "", None],
    "HEALTH_CHECK_FAILURE_THRESHOLD": [0, 11, "3"],
    "HEALTH_CHECK_INTERVAL": [0, 20, 60],
    "HEALTH_CHECK_PATH": ["", "healthz", "/a b", "/" + "a" * 255],
    "PORT": [0, 65536, True, "443"],
    "LISTENER_PORT": [22, 3389, 0, 65536],
    "NODE_INSTANCE_TYPE": ["m7g.large", "t4g.medium", "c6gn.xlarge", "m6i"],
    "NODE_POOL_MIN_SIZE": [-1, 101],
    "NODE_POOL_MAX_SIZE": [0, 101],
    "NODE_DISK_GIB": [19, 1001],
    "KARPENTER_CPU": [0, 10001, "8", True],
    "KARPENTER_MEMORY_GIB": [0, 80001],
    "KARPENTER_EXPIRE_AFTER_HOURS": [0, 8761],
    "KMS_DELETION_WINDOW_DAYS": [6, 31],
    "IMAGE_TAG": ["", ".hidden", "-x", "a" * 129, "a:b"],
    "IMAGE_DIGEST": ["sha256:abc", "md5:" + "a" * 32],
    "POSTGRES_SERVICE_USER": [
        "Fee",
        "postgres",
        "rds_iam",
        "rdsadmin",
        "pg_read",
        "public",
        "1fee",
        "a" * 64,
        "fee-service",
    ],
    "SECRET_NAME": ["Jwt", "a--b", "-a", "a/b", ""],
    "SECRET_NAME_PREFIX": ["osp-prod/", "/osp", "osp//prod", "OSP"],
    "LAMBDA_MEMORY_MIB": [127, 10241, True, "1024"],
    "LAMBDA_TIMEOUT_SECONDS": [0, 901],
    "LAMBDA_RESERVED_CONCURRENCY": [0, 901],
    "LAMBDA_RUNTIME": ["python2.7", "nodejs12.x", "", 3],
    "LAMBDA_HANDLER": ["", "a b", "x" * 129],
    "LAMBDA_SQS_BATCH_SIZE": [0, 11],
    "SCHEDULE_EXPRESSION": [
        "cron(0 7 * * *)",
        "rate(1 days)",
        "rate(0 minutes)",
        "rate(2 minute)",
        "every day",
        "at(2027-01-01)",
    ],
    "SCHEDULE_FLEXIBLE_WINDOW_MINUTES": [0, 1441],
    "SCHEDULE_MAX_ATTEMPTS": [-1, 186],
    "SCHEDULE_MAX_EVENT_AGE_SECONDS": [59, 86401],
}


def _cases(table):
    return [
        pytest.param(name, value, id=f"{name}-{value!r}"[:60])
        for name, values in table.items()
        for value in values
    ]


@pytest.mark.parametrize(("rule", "value"), _cases(ACCEPTS))
def test_accepts(rule, value):
    assert getattr(limits, rule).problem(value) is None


@pytest.mark.parametrize(("rule", "value"), _cases(REFUSES))
def test_refuses_and_says_what_is_allowed(rule, value):
    constraint = getattr(limits, rule)
    assert constraint.problem(value) == constraint.expected
    assert constraint.expected and not constraint.expected.startswith("expected")


def test_every_constraint_has_samples_both_ways():
    constraints = {n for n, v in vars(limits).items() if isinstance(v, limits.Constraint)}
    assert constraints == set(ACCEPTS) == set(REFUSES)


@pytest.mark.parametrize("engine", sorted(limits.CACHE_ENGINE_VERSIONS))
def test_cache_engine_versions(engine):
    rule = limits.CACHE_ENGINE_VERSIONS[engine]
    assert rule.problem({"redis": "7.1", "valkey": "8.0"}[engine]) is None
    assert rule.problem("6.2") == rule.expected


def test_optional_accepts_none_and_says_so():
    rule = limits.optional(limits.HOSTED_ZONE_ID, " to create a zone")
    assert rule.problem(None) is None and rule.problem("Z1") is None
    assert rule.problem("abc") == (
        "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ, or None to create a zone"
    )


def test_booleans_are_not_integers():
    assert limits.is_int(3) and not limits.is_int(True) and not limits.is_int("3")
