"""Every rule, a resource that passes and one that fails (with the evidence it names), over
small synthetic plans; each way a setting can be written (inline or as its own resource, a
policy as text or mapping, a key by ARN or alias) gets its own case."""

from __future__ import annotations

import json
from typing import Any

import pytest

from osp.platform.policy import RULES, Severity
from tests.platform.policy.fixtures import KEY_ARN, TAGS, resource, verdict
from tests.platform.policy.test_serverless_and_stream_rules import CASES as MORE_CASES

R = resource
RDS = "aws:rds/instance:Instance"
RG = "aws:elasticache/replicationGroup:ReplicationGroup"
MQ = "aws:mq/broker:Broker"
DDB = "aws:dynamodb/table:Table"
BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BPOL = "aws:s3/bucketPolicy:BucketPolicy"
ACL = "aws:s3/bucketAcl:BucketAcl"
VERS = "aws:s3/bucketVersioning:BucketVersioning"
BLOG = "aws:s3/bucketLogging:BucketLogging"
TOPIC, TOPIC_POLICY = "aws:sns/topic:Topic", "aws:sns/topicPolicy:TopicPolicy"
QUEUE, QUEUE_POLICY = "aws:sqs/queue:Queue", "aws:sqs/queuePolicy:QueuePolicy"
KEY, SECRET = "aws:kms/key:Key", "aws:secretsmanager/secret:Secret"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
SG, DSG = "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SGR = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
NACL, NACL_RULE = "aws:ec2/networkAcl:NetworkAcl", "aws:ec2/networkAclRule:NetworkAclRule"
LB, LISTENER = "aws:lb/loadBalancer:LoadBalancer", "aws:lb/listener:Listener"
VPC, FLOW = "aws:ec2/vpc:Vpc", "aws:ec2/flowLog:FlowLog"
CF = "aws:cloudfront/distribution:Distribution"
RHP = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
ACLW = "aws:wafv2/webAcl:WebAcl"
WAF_LOG = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
WAF_ASSOC = "aws:wafv2/webAclAssociation:WebAclAssociation"
EKS, NG = "aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE_POLICY, ROLE = "aws:iam/rolePolicy:RolePolicy", "aws:iam/role:Role"
ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CRONJOB = "kubernetes:batch/v1:CronJob"


def tls_deny(action: str, resource_arn: Any = "*") -> dict:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resource_arn,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource_arn: Any, **extra: Any) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource_arn, **extra}


def bucket(**inputs: Any) -> Any:
    return R(BUCKET, {"bucket": "docs", **inputs}, name="docs")


def with_bucket(type_token: str, inputs: dict, *, by_name: bool = False):
    """A bucket and one companion of it, linked by dependency (or, `by_name`, by its name)."""
    target = bucket()
    refs = {} if by_name else {"bucket": target}
    return target, R(
        type_token, {"bucket": "docs" if by_name else "<unknown>", **inputs}, refs=refs
    )


def sse(algorithm: str, key: Any = None) -> dict:
    default = {"sseAlgorithm": algorithm} | ({"kmsMasterKeyId": key} if key else {})
    return {"rules": [{"applyServerSideEncryptionByDefault": default}]}


def lb_with(group: Any, ports: tuple[int, ...] = (443,)):
    balancer = R(
        LB,
        {"internal": False, "securityGroups": ["<unknown>"]},
        name="alb",
        refs={"securityGroups": group},
    )
    listeners = [R(LISTENER, {"port": p}, refs={"loadBalancerArn": balancer}) for p in ports]
    return balancer, *listeners


def container(**overrides: Any) -> dict:
    return {
        "name": "app",
        "image": "registry.example/app:1.2.3",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "privileged": False,
        },
        "resources": {"limits": {"cpu": "1", "memory": "512Mi"}},
    } | overrides


def deployment(*containers: dict, **pod: Any) -> Any:
    spec = {"containers": list(containers or [container()]), **pod}
    return R(DEPLOYMENT, {"spec": {"template": {"spec": spec}}}, name="web")


def distribution(**inputs: Any) -> Any:
    base = {
        "defaultCacheBehavior": {
            "viewerProtocolPolicy": "redirect-to-https",
            "responseHeadersPolicyId": "p",
        },
        "viewerCertificate": {
            "acmCertificateArn": "arn:cert",
            "minimumProtocolVersion": "TLSv1.2_2021",
        },
        "origins": [
            {
                "originId": "site",
                "domainName": "b.s3.us-east-1.amazonaws.com",
                "originAccessControlId": "E1",
            }
        ],
        "loggingConfig": {"bucket": "logs.s3.amazonaws.com"},
        "webAclId": "arn:aws:wafv2:acl",
        "defaultRootObject": "index.html",
    }
    return R(CF, base | inputs, name="cdn")


def web_acl(*rules: dict) -> Any:
    return R(ACLW, {"rules": list(rules)}, name="acl")


def managed(name: str, count: bool = False, overrides: list | None = None) -> dict:
    group = {"name": name, "vendorName": "AWS"} | (
        {"ruleActionOverrides": overrides} if overrides else {}
    )
    return {
        "name": name,
        "overrideAction": {"count": {}} if count else {"none": {}},
        "statement": {"managedRuleGroupStatement": group},
    }


COMMON, BAD_INPUTS = "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"
RATE = {
    "name": "rate",
    "action": {"block": {}},
    "statement": {"rateBasedStatement": {"limit": 2000}},
}


def launch_template(**metadata: Any) -> Any:
    return R(
        LT,
        {
            "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1} | metadata,
            "blockDeviceMappings": [{"ebs": {"encrypted": "true", "kmsKeyId": KEY_ARN}}],
        },
    )


#: rule id → (passing case, failing case, the evidence path the failure names). A case is a
#: function returning (target, *others) and the context's keywords.
CASES: dict[str, tuple[Any, Any, str]] = {
    # --- RDS ---------------------------------------------------------------------------
    "OSP-RDS-1": (
        lambda: (R(RDS, {"multiAz": True}),),
        lambda: (R(RDS, {"multiAz": False}),),
        "multiAz",
    ),
    "OSP-RDS-2": (
        lambda: (R(RDS, {"storageEncrypted": True, "kmsKeyId": "alias/osp-prod-data"}),),
        lambda: (R(RDS, {"storageEncrypted": True, "kmsKeyId": "alias/aws/rds"}),),
        "kmsKeyId",
    ),
    "OSP-RDS-3": (
        lambda: (R(RDS, {"publiclyAccessible": False}),),
        lambda: (R(RDS, {"publiclyAccessible": True}),),
        "publiclyAccessible",
    ),
    "OSP-RDS-4": (
        lambda: (R(RDS, {"deletionProtection": True}),),
        lambda: (R(RDS, {}),),
        "deletionProtection",
    ),
    "OSP-RDS-5": (
        lambda: (R(RDS, {"backupRetentionPeriod": 7}),),
        lambda: (R(RDS, {"backupRetentionPeriod": 1}),),
        "backupRetentionPeriod",
    ),
    "OSP-RDS-6": (lambda: (R(RDS, {}, protect=True),), lambda: (R(RDS, {}),), "protect"),
    "OSP-RDS-7": (
        lambda: (
            R(RDS, {"engine": "postgres", "engineVersion": "14", "parameterGroupName": "pg"}),
            R(
                "aws:rds/parameterGroup:ParameterGroup",
                {"name": "pg", "parameters": [{"name": "rds.force_ssl", "value": "1"}]},
            ),
        ),
        lambda: (
            R(RDS, {"engine": "postgres", "engineVersion": "16", "parameterGroupName": "pg"}),
            R(
                "aws:rds/parameterGroup:ParameterGroup",
                {"name": "pg", "parameters": [{"name": "rds.force_ssl", "value": "0"}]},
            ),
        ),
        "parameterGroupName(pg).parameters.rds.force_ssl",
    ),
    "OSP-RDS-8": (
        lambda: (R(RDS, {"engine": "postgres", "enabledCloudwatchLogsExports": ["postgresql"]}),),
        lambda: (R(RDS, {"engine": "postgres", "enabledCloudwatchLogsExports": ["upgrade"]}),),
        "enabledCloudwatchLogsExports",
    ),
    "OSP-RDS-9": (
        lambda: (R(RDS, {"iamDatabaseAuthenticationEnabled": True}),),
        lambda: (R(RDS, {}),),
        "iamDatabaseAuthenticationEnabled",
    ),
    # --- ElastiCache ---------------------------------------------------------------------
    "OSP-CACHE-1": (
        lambda: (R(RG, {"atRestEncryptionEnabled": True, "kmsKeyId": KEY_ARN}),),
        lambda: (R(RG, {"atRestEncryptionEnabled": True}),),
        "kmsKeyId",
    ),
    "OSP-CACHE-2": (
        lambda: (R(RG, {"transitEncryptionEnabled": True, "transitEncryptionMode": "required"}),),
        lambda: (R(RG, {"transitEncryptionEnabled": True, "transitEncryptionMode": "preferred"}),),
        "transitEncryptionMode",
    ),
    "OSP-CACHE-3": (
        lambda: (R(RG, {"automaticFailoverEnabled": True, "multiAzEnabled": True}),),
        lambda: (R(RG, {"automaticFailoverEnabled": True, "multiAzEnabled": False}),),
        "multiAzEnabled",
    ),
    "OSP-CACHE-4": (
        lambda: (R(RG, {"snapshotRetentionLimit": 7}),),
        lambda: (R(RG, {"snapshotRetentionLimit": 0}),),
        "snapshotRetentionLimit",
    ),
    "OSP-CACHE-5": (lambda: (R(RG, {"authToken": "<secret>"}),), lambda: (R(RG, {}),), "authToken"),
    "OSP-CACHE-6": (lambda: (R(RG, {}, protect=True),), lambda: (R(RG, {}),), "protect"),
    # --- Amazon MQ -----------------------------------------------------------------------
    "OSP-MQ-1": (
        lambda: (R(MQ, {"encryptionOptions": {"useAwsOwnedKey": False, "kmsKeyId": KEY_ARN}}),),
        lambda: (R(MQ, {}),),
        "encryptionOptions.useAwsOwnedKey",
    ),
    "OSP-MQ-2": (
        lambda: (R(MQ, {"publiclyAccessible": False}),),
        lambda: (R(MQ, {"publiclyAccessible": True}),),
        "publiclyAccessible",
    ),
    "OSP-MQ-3": (
        lambda: (R(MQ, {"deploymentMode": "CLUSTER_MULTI_AZ"}),),
        lambda: (R(MQ, {"deploymentMode": "SINGLE_INSTANCE"}),),
        "deploymentMode",
    ),
    "OSP-MQ-4": (lambda: (R(MQ, {}, protect=True),), lambda: (R(MQ, {}),), "protect"),
    # --- DynamoDB ------------------------------------------------------------------------
    "OSP-DDB-1": (
        lambda: (R(DDB, {"serverSideEncryption": {"enabled": True, "kmsKeyArn": KEY_ARN}}),),
        lambda: (R(DDB, {"serverSideEncryption": {"enabled": False}}),),
        "serverSideEncryption.enabled",
    ),
    "OSP-DDB-2": (
        lambda: (R(DDB, {"pointInTimeRecovery": {"enabled": True}}),),
        lambda: (R(DDB, {}),),
        "pointInTimeRecovery.enabled",
    ),
    "OSP-DDB-3": (
        lambda: (R(DDB, {"deletionProtectionEnabled": True}),),
        lambda: (R(DDB, {"deletionProtectionEnabled": False}),),
        "deletionProtectionEnabled",
    ),
    "OSP-DDB-4": (lambda: (R(DDB, {}, protect=True),), lambda: (R(DDB, {}),), "protect"),
    # --- S3 ------------------------------------------------------------------------------
    "OSP-S3-1": (
        lambda: with_bucket(SSE, sse("aws:kms", KEY_ARN)),
        lambda: with_bucket(SSE, sse("AES256")),
        "serverSideEncryptionConfiguration.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm",
    ),
    "OSP-S3-2": (
        lambda: with_bucket(
            PAB,
            dict.fromkeys(
                (
                    "blockPublicAcls",
                    "blockPublicPolicy",
                    "ignorePublicAcls",
                    "restrictPublicBuckets",
                ),
                True,
            ),
        ),
        lambda: with_bucket(
            PAB,
            {
                "blockPublicAcls": True,
                "blockPublicPolicy": False,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": True,
            },
        ),
        "blockPublicPolicy",
    ),
    "OSP-S3-3": (
        lambda: with_bucket(
            BPOL,
            {
                "policy": {
                    "Statement": [tls_deny("s3:*", ["arn:aws:s3:::docs", "arn:aws:s3:::docs/*"])]
                }
            },
        ),
        lambda: with_bucket(
            BPOL,
            {
                "policy": doc(
                    allow(
                        "s3:GetObject",
                        "arn:aws:s3:::docs/*",
                        Principal={"Service": "cloudfront.amazonaws.com"},
                    )
                )
            },
        ),
        "policy",
    ),
    "OSP-S3-4": (
        lambda: (R(ACL, {"acl": "private"}),),
        lambda: (
            R(
                ACL,
                {
                    "accessControlPolicy": {
                        "grants": [
                            {
                                "grantee": {
                                    "type": "Group",
                                    "uri": "http://acs.amazonaws.com/groups/global/AllUsers",
                                },
                                "permission": "READ",
                            }
                        ]
                    }
                },
            ),
        ),
        "accessControlPolicy.grants",
    ),
    "OSP-S3-5": (
        lambda: with_bucket(VERS, {"versioningConfiguration": {"status": "Enabled"}}, by_name=True),
        lambda: with_bucket(VERS, {"versioningConfiguration": {"status": "Suspended"}}),
        "versioningConfiguration.status",
    ),
    "OSP-S3-6": (
        lambda: with_bucket(BLOG, {"targetBucket": "logs"}),
        lambda: (bucket(),),
        "targetBucket",
    ),
    "OSP-S3-7": (lambda: (R(BUCKET, {}, protect=True),), lambda: (R(BUCKET, {}),), "protect"),
    # --- SNS / SQS -----------------------------------------------------------------------
    "OSP-SNS-1": (
        lambda: (R(TOPIC, {"kmsMasterKeyId": "alias/osp-prod-data"}),),
        lambda: (R(TOPIC, {"kmsMasterKeyId": "alias/aws/sns"}),),
        "kmsMasterKeyId",
    ),
    "OSP-SNS-2": (
        lambda: (
            t := R(TOPIC, {"name": "events"}),
            R(
                TOPIC_POLICY,
                {"arn": "<unknown>", "policy": doc(tls_deny(["sns:Publish", "sns:Subscribe"]))},
                refs={"arn": t},
            ),
        ),
        lambda: (
            R(TOPIC, {"name": "events"}),
            R(
                TOPIC_POLICY,
                {
                    "arn": "arn:aws:sns:us-east-1:1:events",
                    "policy": doc(allow("sns:Publish", "*", Principal="*")),
                },
            ),
        ),
        "policy",
    ),
    "OSP-SQS-1": (
        lambda: (R(QUEUE, {"kmsMasterKeyId": KEY_ARN}),),
        lambda: (R(QUEUE, {"sqsManagedSseEnabled": True}),),
        "sqsManagedSseEnabled",
    ),
    "OSP-SQS-2": (
        lambda: (
            R(QUEUE, {"name": "jobs"}),
            R(
                QUEUE_POLICY,
                {
                    "queueUrl": "https://sqs.us-east-1.amazonaws.com/1/jobs",
                    "policy": doc(tls_deny("sqs:*")),
                },
            ),
        ),
        lambda: (
            q := R(QUEUE, {"name": "jobs"}),
            R(
                QUEUE_POLICY,
                {"queueUrl": "<unknown>", "policy": doc(tls_deny("sqs:SendMessage"))},
                refs={"queueUrl": q},
            ),
        ),
        "policy",
    ),
    # --- KMS / Secrets Manager -----------------------------------------------------------
    "OSP-KMS-1": (
        lambda: (R(KEY, {"enableKeyRotation": True}),),
        lambda: (R(KEY, {}),),
        "enableKeyRotation",
    ),
    "OSP-KMS-2": (lambda: (R(KEY, {}, protect=True),), lambda: (R(KEY, {}),), "protect"),
    "OSP-SM-1": (lambda: (R(SECRET, {"kmsKeyId": KEY_ARN}),), lambda: (R(SECRET, {}),), "kmsKeyId"),
    "OSP-SM-2": (
        lambda: (
            s := R(SECRET, {"name": "db"}),
            R(
                ROTATION,
                {"secretId": "<unknown>", "rotationRules": {"automaticallyAfterDays": 30}},
                refs={"secretId": s},
            ),
        ),
        lambda: (R(SECRET, {"name": "db"}),),
        "secretRotation",
    ),
    # --- network -------------------------------------------------------------------------
    "OSP-NET-1": (
        lambda: (
            g := R(SG, {}, name="alb-sg"),
            R(
                INGRESS,
                {"cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443},
                refs={"securityGroupId": g},
            ),
            g,
            *lb_with(g),
        )[1:],
        lambda: (
            g := R(SG, {}, name="db-sg"),
            R(
                INGRESS,
                {"cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432},
                refs={"securityGroupId": g},
            ),
            g,
        )[1:],
        "cidrIpv4",
    ),
    "OSP-NET-2": (
        lambda: (R(DSG, {"ingress": [], "egress": []}),),
        lambda: (R(DSG, {"ingress": [{"protocol": "-1", "self": True}]}),),
        "ingress",
    ),
    "OSP-NET-3": (
        lambda: (
            R(
                NACL,
                {
                    "ingress": [
                        {
                            "action": "allow",
                            "protocol": "tcp",
                            "fromPort": 1024,
                            "toPort": 3388,
                            "cidrBlock": "0.0.0.0/0",
                        },
                        {
                            "action": "allow",
                            "protocol": "tcp",
                            "fromPort": 3390,
                            "toPort": 65535,
                            "cidrBlock": "::/0",
                        },
                    ]
                },
            ),
        ),
        lambda: (
            R(
                NACL,
                {
                    "ingress": [
                        {
                            "action": "allow",
                            "protocol": "-1",
                            "fromPort": 0,
                            "toPort": 0,
                            "cidrBlock": "0.0.0.0/0",
                        }
                    ]
                },
            ),
        ),
        "ingress[0].cidrBlock",
    ),
    "OSP-NET-4": (
        lambda: (v := R(VPC, {}), R(FLOW, {"trafficType": "ALL"}, refs={"vpcId": v})),
        lambda: (v := R(VPC, {}), R(FLOW, {"trafficType": "REJECT"}, refs={"vpcId": v})),
        "flowLog.trafficType",
    ),
    # --- CloudFront ----------------------------------------------------------------------
    "OSP-CF-1": (
        lambda: (distribution(),),
        lambda: (
            distribution(
                orderedCacheBehaviors=[
                    {"viewerProtocolPolicy": "allow-all", "responseHeadersPolicyId": "p"}
                ]
            ),
        ),
        "orderedCacheBehaviors[0].viewerProtocolPolicy",
    ),
    "OSP-CF-2": (
        lambda: (distribution(),),
        lambda: (
            distribution(
                viewerCertificate={
                    "acmCertificateArn": "arn:cert",
                    "minimumProtocolVersion": "TLSv1.1_2016",
                }
            ),
        ),
        "viewerCertificate.minimumProtocolVersion",
    ),
    "OSP-CF-3": (
        lambda: (distribution(),),
        lambda: (
            distribution(
                origins=[
                    {
                        "originId": "site",
                        "domainName": "b.s3.amazonaws.com",
                        "s3OriginConfig": {
                            "originAccessIdentity": "origin-access-identity/cloudfront/E1"
                        },
                    }
                ]
            ),
        ),
        "origins[0].originAccessControlId",
    ),
    "OSP-CF-4": (
        lambda: (
            distribution(
                origins=[
                    {
                        "originId": "api",
                        "domainName": "api.example.com",
                        "customOriginConfig": {
                            "originProtocolPolicy": "https-only",
                            "originSslProtocols": ["TLSv1.2"],
                        },
                    }
                ]
            ),
        ),
        lambda: (
            distribution(
                origins=[
                    {
                        "originId": "api",
                        "domainName": "api.example.com",
                        "customOriginConfig": {
                            "originProtocolPolicy": "match-viewer",
                            "originSslProtocols": ["TLSv1", "TLSv1.2"],
                        },
                    }
                ]
            ),
        ),
        "origins[0].customOriginConfig.originProtocolPolicy",
    ),
    "OSP-CF-5": (
        lambda: (distribution(),),
        lambda: (distribution(defaultCacheBehavior={"viewerProtocolPolicy": "https-only"}),),
        "defaultCacheBehavior.responseHeadersPolicyId",
    ),
    "OSP-CF-6": (
        lambda: (
            R(
                RHP,
                {
                    "securityHeadersConfig": {
                        "strictTransportSecurity": {"accessControlMaxAgeSec": 63072000},
                        "contentTypeOptions": {"override": True},
                        "frameOptions": {"frameOption": "DENY"},
                    }
                },
            ),
        ),
        lambda: (
            R(
                RHP,
                {
                    "securityHeadersConfig": {
                        "strictTransportSecurity": {"accessControlMaxAgeSec": 300},
                        "contentTypeOptions": {"override": True},
                        "frameOptions": {"frameOption": "DENY"},
                    }
                },
            ),
        ),
        "securityHeadersConfig.strictTransportSecurity.accessControlMaxAgeSec",
    ),
    "OSP-CF-7": (
        lambda: (distribution(),),
        lambda: (distribution(loggingConfig=None),),
        "loggingConfig.bucket",
    ),
    "OSP-CF-8": (lambda: (distribution(),), lambda: (distribution(webAclId=""),), "webAclId"),
    "OSP-CF-9": (
        lambda: (distribution(),),
        lambda: (distribution(defaultRootObject=None),),
        "defaultRootObject",
    ),
    # --- WAF -----------------------------------------------------------------------------
    "OSP-WAF-1": (
        lambda: (
            web_acl(
                managed(COMMON),
                managed(
                    BAD_INPUTS,
                    overrides=[{"name": "Host_localhost_HEADER", "actionToUse": {"count": {}}}],
                ),
            ),
        ),
        lambda: (
            web_acl(
                managed(COMMON),
                managed(
                    BAD_INPUTS,
                    overrides=[{"name": "Log4JRCE_HEADER", "actionToUse": {"count": {}}}],
                ),
            ),
        ),
        "rules[*].statement.managedRuleGroupStatement.name",
    ),
    "OSP-WAF-2": (
        lambda: (web_acl(RATE),),
        lambda: (
            web_acl(
                {
                    **RATE,
                    "statement": {
                        "rateBasedStatement": {
                            "limit": 100,
                            "scopeDownStatement": {"byteMatchStatement": {}},
                        }
                    },
                }
            ),
        ),
        "rules[*].statement.rateBasedStatement",
    ),
    "OSP-WAF-3": (
        lambda: (
            a := web_acl(),
            R(WAF_LOG, {"logDestinationConfigs": ["arn:logs"]}, refs={"resourceArn": a}),
        ),
        lambda: (web_acl(),),
        "logDestinationConfigs",
    ),
    # --- load balancer -------------------------------------------------------------------
    "OSP-ALB-1": (
        lambda: (
            b := R(LB, {"internal": False}),
            R(WAF_ASSOC, {"webAclArn": "arn:acl"}, refs={"resourceArn": b}),
        ),
        lambda: (R(LB, {"internal": False}),),
        "webAclAssociation",
    ),
    "OSP-ALB-2": (
        lambda: (
            R(
                LISTENER,
                {
                    "protocol": "HTTP",
                    "defaultActions": [{"type": "redirect", "redirect": {"protocol": "HTTPS"}}],
                },
            ),
        ),
        lambda: (R(LISTENER, {"protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-2016-08"}),),
        "sslPolicy",
    ),
    "OSP-ALB-3": (
        lambda: (R(LB, {"dropInvalidHeaderFields": True}),),
        lambda: (R(LB, {}),),
        "dropInvalidHeaderFields",
    ),
    "OSP-ALB-4": (
        lambda: (R(LB, {"accessLogs": {"enabled": True, "bucket": "logs"}}),),
        lambda: (R(LB, {"accessLogs": {"enabled": False, "bucket": "logs"}}),),
        "accessLogs.enabled",
    ),
    "OSP-ALB-5": (
        lambda: (R(LB, {"enableDeletionProtection": True}),),
        lambda: (R(LB, {}),),
        "enableDeletionProtection",
    ),
    # --- cluster and nodes ---------------------------------------------------------------
    "OSP-EKS-1": (
        lambda: (R(EKS, {"vpcConfig": {"endpointPublicAccess": False}}),),
        lambda: (R(EKS, {"vpcConfig": {}}),),
        "vpcConfig.endpointPublicAccess",
    ),
    "OSP-EKS-2": (
        lambda: (
            R(
                EKS,
                {
                    "enabledClusterLogTypes": [
                        "api",
                        "audit",
                        "authenticator",
                        "controllerManager",
                        "scheduler",
                    ]
                },
            ),
        ),
        lambda: (R(EKS, {"enabledClusterLogTypes": ["api", "audit"]}),),
        "enabledClusterLogTypes",
    ),
    "OSP-EKS-3": (
        lambda: (
            R(
                EKS,
                {"encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": KEY_ARN}}},
            ),
        ),
        lambda: (R(EKS, {}),),
        "encryptionConfig",
    ),
    "OSP-EC2-1": (
        lambda: (launch_template(),),
        lambda: (launch_template(httpTokens="optional"),),
        "metadataOptions.httpTokens",
    ),
    "OSP-EC2-2": (
        lambda: (launch_template(),),
        lambda: (launch_template(httpPutResponseHopLimit=2),),
        "metadataOptions.httpPutResponseHopLimit",
    ),
    "OSP-EC2-3": (
        lambda: (launch_template(),),
        lambda: (R(LT, {"blockDeviceMappings": [{"ebs": {"encrypted": "false"}}]}),),
        "blockDeviceMappings[0].ebs.encrypted",
    ),
    # --- logs ----------------------------------------------------------------------------
    "OSP-LOGS-1": (
        lambda: (R(LOG_GROUP, {"retentionInDays": 90}),),
        lambda: (R(LOG_GROUP, {"retentionInDays": 30}),),
        "retentionInDays",
    ),
    "OSP-LOGS-2": (
        lambda: (R(LOG_GROUP, {"kmsKeyId": KEY_ARN}),),
        lambda: (R(LOG_GROUP, {}),),
        "kmsKeyId",
    ),
    "OSP-LOGS-3": (
        lambda: (
            R(EKS, {"name": "c", "enabledClusterLogTypes": ["api"]}),
            R(LOG_GROUP, {"name": "/aws/eks/c/cluster"}),
        ),
        lambda: (
            R(EKS, {"name": "c", "enabledClusterLogTypes": ["api"]}),
            R(LOG_GROUP, {"name": "/aws/eks/other/cluster"}),
        ),
        "enabledClusterLogTypes",
    ),
    # --- IAM -----------------------------------------------------------------------------
    "OSP-IAM-1": (
        lambda: (
            R(
                ROLE_POLICY,
                {
                    "policy": doc(
                        allow("s3:GetObject", "arn:aws:s3:::docs/*"),
                        allow("ec2:DescribeSubnets", "*"),
                    )
                },
            ),
        ),
        lambda: (R(ROLE_POLICY, {"policy": doc(allow("s3:Get*", ["arn:aws:s3:::docs/*", "*"]))}),),
        "policy.Statement[0].Resource",
    ),
    "OSP-IAM-2": (
        lambda: (
            R(ROLE_POLICY, {"policy": doc(allow("iam:PassRole", "arn:aws:iam::1:role/app"))}),
        ),
        lambda: (R(ROLE_POLICY, {"policy": doc(allow(["iam:PassRole", "iam:GetRole"], "*"))}),),
        "policy.Statement[0].Resource",
    ),
    "OSP-IAM-3": (
        lambda: (R(ATTACH, {"policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),),
        lambda: (R(ATTACH, {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),),
        "policyArn",
    ),
    # --- workloads -----------------------------------------------------------------------
    "OSP-K8S-1": (
        lambda: (
            deployment(container(securityContext={}), securityContext={"runAsNonRoot": True}),
        ),
        lambda: (deployment(container(securityContext={"runAsUser": 0})),),
        "spec.template.spec.containers[0].securityContext.runAsUser",
    ),
    "OSP-K8S-2": (
        lambda: (deployment(),),
        lambda: (deployment(container(securityContext={"readOnlyRootFilesystem": False})),),
        "spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem",
    ),
    "OSP-K8S-3": (
        lambda: (deployment(),),
        lambda: (deployment(container(securityContext={"runAsNonRoot": True})),),
        "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation",
    ),
    "OSP-K8S-4": (
        lambda: (deployment(),),
        lambda: (deployment(container(resources={"limits": {"memory": "1Gi"}})),),
        "spec.template.spec.containers[0].resources.limits",
    ),
    "OSP-K8S-5": (
        lambda: (deployment(container(image="registry.example:5000/app@sha256:" + "a" * 64)),),
        lambda: (deployment(container(image="registry.example:5000/app")),),
        "spec.template.spec.containers[0].image",
    ),
    "OSP-K8S-6": (
        lambda: (deployment(),),
        lambda: (deployment(hostNetwork=True),),
        "spec.template.spec.hostNetwork",
    ),
    # --- tags ----------------------------------------------------------------------------
    "OSP-TAG-1": (
        lambda: (R(QUEUE, {"tags": TAGS}),),
        lambda: (R(QUEUE, {"tags": {k: v for k, v in TAGS.items() if k != "osp:component"}}),),
        "tags.osp:component",
    ),
}

#: Rules whose cases live elsewhere: test_tenancy_rules.py (they need real tenant plans) and
#: test_serverless_and_stream_rules.py.
ELSEWHERE = {"OSP-TENANT-1", "OSP-TENANT-2", "OSP-TENANT-3", "OSP-TENANT-4"} | set(MORE_CASES)


def test_every_rule_has_a_passing_and_a_failing_case():
    assert set(CASES) | ELSEWHERE == {rule.id for rule in RULES}


def test_the_catalogue_is_well_formed():
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert rule.title and rule.rationale and rule.fix and rule.controls, rule.id
        assert isinstance(rule.severity, Severity)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_passes(rule_id):
    target, *others = CASES[rule_id][0]()
    check = verdict(rule_id, target, *others)
    assert check is not None and check.passed, check


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_fails_naming_the_property(rule_id):
    target, *others = CASES[rule_id][1]()
    check = verdict(rule_id, target, *others)
    assert check is not None and not check.passed, check
    assert check.detail
    assert CASES[rule_id][2] in {e.path for e in check.evidence}, check.evidence


_AT_REST = {
    "OSP-EFS-1": (
        "aws:efs/fileSystem:FileSystem",
        "encrypted",
        "the file system is not encrypted at rest",
    ),
    "OSP-CACHE-1": (RG, "atRestEncryptionEnabled", "encryption at rest is off"),
}


@pytest.mark.parametrize("rule", _AT_REST)
def test_a_store_encrypted_at_rest_needs_its_switch_on_and_a_customer_key(rule):
    type_, switch, off = _AT_REST[rule]
    unencrypted = verdict(rule, R(type_, {switch: False, "kmsKeyId": KEY_ARN}))
    assert not unencrypted.passed and unencrypted.detail == off
    assert [e.path for e in unencrypted.evidence] == [switch]
    aws_key = verdict(rule, R(type_, {switch: "true", "kmsKeyId": "alias/aws/kms"}))
    assert not aws_key.passed
    assert aws_key.detail == "encrypted with the AWS-managed key, not the environment's"
    assert [e.path for e in aws_key.evidence] == [switch, "kmsKeyId"]
    assert verdict(rule, R(type_, {switch: True, "kmsKeyId": KEY_ARN})).passed
