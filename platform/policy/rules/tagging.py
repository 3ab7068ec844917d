"""Tags: every AWS resource that can carry tags carries the environment's required set, and
names the environment it belongs to. Resource types AWS cannot tag are listed, not failed."""

from __future__ import annotations

from osp.platform.naming import TAG_ENVIRONMENT
from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity

#: AWS resource types that take no tags (their provider resources have no `tags` input).
UNTAGGABLE = frozenset(
    {
        "aws:acm/certificateValidation:CertificateValidation",
        "aws:appautoscaling/policy:Policy",
        "aws:backup/selection:Selection",
        "aws:backup/vaultLockConfiguration:VaultLockConfiguration",
        "aws:cfg/deliveryChannel:DeliveryChannel",
        "aws:cfg/recorder:Recorder",
        "aws:cfg/recorderStatus:RecorderStatus",
        "aws:cloudfront/cachePolicy:CachePolicy",
        "aws:cloudfront/function:Function",
        "aws:cloudfront/keyGroup:KeyGroup",
        "aws:cloudfront/originAccessControl:OriginAccessControl",
        "aws:cloudfront/originRequestPolicy:OriginRequestPolicy",
        "aws:cloudfront/publicKey:PublicKey",
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
        "aws:cloudwatch/dashboard:Dashboard",
        "aws:cloudwatch/eventTarget:EventTarget",
        "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
        "aws:cloudwatch/logStream:LogStream",
        "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter",
        "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation",
        "aws:ec2/networkAclRule:NetworkAclRule",
        "aws:ec2/route:Route",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
        "aws:efs/backupPolicy:BackupPolicy",
        "aws:efs/fileSystemPolicy:FileSystemPolicy",
        "aws:efs/mountTarget:MountTarget",
        "aws:ecr/repositoryPolicy:RepositoryPolicy",
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        "aws:guardduty/detectorFeature:DetectorFeature",
        "aws:iam/groupPolicy:GroupPolicy",
        "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
        "aws:iam/policyAttachment:PolicyAttachment",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/userPolicy:UserPolicy",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        "aws:kms/alias:Alias",
        "aws:kms/grant:Grant",
        "aws:lambda/invocation:Invocation",
        "aws:lambda/permission:Permission",
        "aws:lb/listenerCertificate:ListenerCertificate",
        "aws:msk/configuration:Configuration",
        "aws:msk/topic:Topic",
        "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec",
        "aws:route53/keySigningKey:KeySigningKey",
        "aws:route53/queryLog:QueryLog",
        "aws:route53/record:Record",
        "aws:s3/bucketAcl:BucketAcl",
        "aws:s3/bucketAclV2:BucketAclV2",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
        "aws:s3/bucketLogging:BucketLogging",
        "aws:s3/bucketLoggingV2:BucketLoggingV2",
        "aws:s3/bucketNotification:BucketNotification",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketVersioningV2:BucketVersioningV2",
        "aws:scheduler/schedule:Schedule",
        "aws:secretsmanager/secretPolicy:SecretPolicy",
        "aws:secretsmanager/secretRotation:SecretRotation",
        "aws:secretsmanager/secretVersion:SecretVersion",
        "aws:sesv2/emailIdentityMailFromAttributes:EmailIdentityMailFromAttributes",
        "aws:sns/smsPreferences:SmsPreferences",
        "aws:sns/topicPolicy:TopicPolicy",
        "aws:sns/topicSubscription:TopicSubscription",
        "aws:sqs/queuePolicy:QueuePolicy",
        "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
        "aws:wafv2/webAclAssociation:WebAclAssociation",
        "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
    }
)


def _tags(resource: PlannedResource, scope: Scope) -> Check | None:
    if not resource.type.startswith("aws:") or resource.type in UNTAGGABLE:
        return None
    tags = resource.inputs.get("tags")
    if not isinstance(tags, dict):
        return Check.of(False, "carries no tags", tags=tags)
    required = scope.context.required_tags
    missing = [key for key in required if not tags.get(key)]
    evidence = {f"tags.{key}": tags.get(key) for key in required}
    if missing:
        return Check.of(False, f"lacks {', '.join(missing)}", **evidence)
    environment = tags.get(TAG_ENVIRONMENT)
    if TAG_ENVIRONMENT in required and environment != scope.context.environment:
        return Check.of(
            False,
            f"is tagged for environment {environment}, not {scope.context.environment}",
            **evidence,
        )
    return Check.of(True, **evidence)


RULES = (
    Rule(
        id="OSP-TAG-1",
        title="Every taggable AWS resource carries the environment's required tags",
        severity=Severity.LOW,
        controls=("Tagging standard", "NIST.800-53.r5 CM-8"),
        rationale="Cost reports, incident response and the audit report's inventory find a "
        "resource's environment, component and owner by its tags; an untagged resource is "
        "invisible to all three. Types AWS cannot tag are exempt.",
        fix="Create the resource with the component's base tags (osp.platform.naming): the "
        "required keys osp:environment, osp:component, osp:blueprint and osp:managed-by.",
        types=(),
        check=_tags,
    ),
)
