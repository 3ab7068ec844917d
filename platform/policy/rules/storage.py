"""S3 buckets: encrypted with the environment's key, never public, TLS only, versioned and
logged, and in production protected. A bucket's settings live in companion resources (its
encryption configuration, public access block, policy, ACL, versioning, logging), so each
rule looks up the companions that refer to the bucket."""

from __future__ import annotations

from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity
from osp.platform.policy.rules._reading import (
    as_list,
    at,
    customer_key,
    denies_insecure_transport,
    of_types,
    referrers,
    statements,
)
from osp.platform.policy.rules.data_stores import protected

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
BUCKETS = (BUCKET, BUCKET_V2)
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
PUBLIC_ACCESS_BLOCK = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
POLICY = ("aws:s3/bucketPolicy:BucketPolicy",)
ACL = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
VERSIONING = (
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketVersioningV2:BucketVersioningV2",
)
LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"

_BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
_PUBLIC_GRANTEES = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
_PUBLIC_CANNED = ("public-read", "public-read-write", "authenticated-read")


def _name(bucket: PlannedResource) -> str | None:
    return bucket.inputs.get("bucket")


def companions(
    scope: Scope, bucket: PlannedResource, types: tuple[str, ...]
) -> list[PlannedResource]:
    return referrers(scope, bucket, types, "bucket", (_name(bucket),))


def _log_target(scope: Scope, bucket: PlannedResource) -> bool:
    """Whether S3 server access logs or load balancer access logs are delivered into the
    bucket: both deliver only to buckets encrypted with S3-managed keys."""
    name = _name(bucket)
    for logging in of_types(scope, LOGGING):
        if logging.inputs.get(
            "targetBucket"
        ) == name or bucket.urn in logging.property_dependencies.get("targetBucket", ()):
            return True
    for balancer in of_types(scope, (LOAD_BALANCER,)):
        if at(
            balancer.inputs, "accessLogs.bucket"
        ) == name or bucket.urn in balancer.property_dependencies.get("accessLogs", ()):
            return True
    return False


def _encryption(resource: PlannedResource, scope: Scope) -> Check | None:
    defaults = [
        rule.get("applyServerSideEncryptionByDefault") or {}
        for config in companions(scope, resource, ENCRYPTION)
        for rule in as_list(config.inputs.get("rules"))
    ] + [
        at(rule, "applyServerSideEncryptionByDefault") or {}
        for rule in as_list(at(resource.inputs, "serverSideEncryptionConfiguration.rules"))
    ]
    path = "serverSideEncryptionConfiguration.rules[0].applyServerSideEncryptionByDefault"
    if not defaults:
        return Check.of(False, "no default encryption configuration", **{path: None})
    algorithm, key = defaults[0].get("sseAlgorithm"), defaults[0].get("kmsMasterKeyId")
    evidence = {f"{path}.sseAlgorithm": algorithm, f"{path}.kmsMasterKeyId": key}
    if algorithm in ("aws:kms", "aws:kms:dsse") and customer_key(key):
        return Check.of(True, **evidence)
    if algorithm == "AES256" and _log_target(scope, resource):
        return Check.of(True, "a log delivery target, which takes S3-managed keys only", **evidence)
    return Check.of(False, "not encrypted with the environment's KMS key", **evidence)


def _public_access_block(resource: PlannedResource, scope: Scope) -> Check | None:
    blocks = companions(scope, resource, PUBLIC_ACCESS_BLOCK)
    if not blocks:
        return Check.of(False, "no public access block", publicAccessBlock=None)
    settings = {key: blocks[0].inputs.get(key) for key in _BLOCKS}
    off = [key for key, value in settings.items() if value is not True]
    return Check.of(not off, f"{', '.join(off)} off" if off else "", **settings)


def _tls_only(resource: PlannedResource, scope: Scope) -> Check | None:
    policies = companions(scope, resource, POLICY)
    texts = [p.inputs.get("policy") for p in policies] + (
        [resource.inputs["policy"]] if resource.inputs.get("policy") else []
    )
    for text in texts:
        for statement in statements(text) or ():
            if denies_insecure_transport(statement, "s3:GetObject") and denies_insecure_transport(
                statement, "s3:PutObject"
            ):
                return Check.of(True, policy=f"{statement.label} denies aws:SecureTransport false")
    return Check.of(
        False,
        "no bucket policy denies requests without TLS",
        policy=texts[0] if texts else None,
    )


def _public_grants(grants: list, acl: object) -> list[str]:
    found = [str(acl)] if acl in _PUBLIC_CANNED else []
    for grant in grants:
        uri = at(grant, "grantee.uri") or grant.get("uri")
        if uri in _PUBLIC_GRANTEES:
            found.append(f"{uri} {grant.get('permission') or as_list(grant.get('permissions'))}")
    return found


def _no_public_acl(resource: PlannedResource, scope: Scope) -> Check | None:
    if resource.type in BUCKETS:
        found = _public_grants(as_list(resource.inputs.get("grants")), resource.inputs.get("acl"))
        evidence = {"acl": resource.inputs.get("acl"), "grants": resource.inputs.get("grants")}
    else:
        found = _public_grants(
            as_list(at(resource.inputs, "accessControlPolicy.grants")), resource.inputs.get("acl")
        )
        evidence = {
            "acl": resource.inputs.get("acl"),
            "accessControlPolicy.grants": at(resource.inputs, "accessControlPolicy.grants"),
        }
    return Check.of(not found, f"grants {'; '.join(found)}" if found else "", **evidence)


def _versioning(resource: PlannedResource, scope: Scope) -> Check | None:
    if not scope.context.production:
        return None
    statuses = [
        at(v.inputs, "versioningConfiguration.status")
        for v in companions(scope, resource, VERSIONING)
    ]
    if at(resource.inputs, "versioning.enabled") is True:
        statuses.append("Enabled")
    status = statuses[0] if statuses else None
    return Check.of(
        status == "Enabled",
        "" if status == "Enabled" else "versioning is not enabled",
        **{"versioningConfiguration.status": status},
    )


def _access_logging(resource: PlannedResource, scope: Scope) -> Check | None:
    if _log_target(scope, resource):
        return None  # logging the log bucket into itself would loop
    loggings = companions(scope, resource, LOGGING)
    target = (
        loggings[0].inputs.get("targetBucket")
        if loggings
        else at(resource.inputs, "loggings[0].targetBucket")
    )
    return Check.of(bool(target), "" if target else "no server access logging", targetBucket=target)


def _protected_bucket(resource: PlannedResource, scope: Scope) -> Check | None:
    return protected(resource, scope)


RULES = (
    Rule(
        id="OSP-S3-1",
        title="Buckets are encrypted by default with the environment's KMS key",
        severity=Severity.HIGH,
        controls=("S3.17",),
        rationale="Documents, media and backups hold student records; with the environment's "
        "key every read is logged in CloudTrail and access can be revoked. Log delivery "
        "targets take S3-managed keys only (S3 and ELB access logs cannot use KMS).",
        fix="Give the bucket a server-side encryption configuration with `sseAlgorithm: "
        "aws:kms` and `kmsMasterKeyId` (BucketArgs.kms_key_arn).",
        types=BUCKETS,
        check=_encryption,
    ),
    Rule(
        id="OSP-S3-2",
        title="Buckets block all public access",
        severity=Severity.CRITICAL,
        controls=("S3.8", "S3.1"),
        rationale="With every public access block on, no policy or ACL written later can "
        "make the bucket or an object in it public.",
        fix="Give the bucket a public access block with all four settings true (the Bucket "
        "component does).",
        types=BUCKETS,
        check=_public_access_block,
    ),
    Rule(
        id="OSP-S3-3",
        title="Bucket policies deny requests without TLS",
        severity=Severity.HIGH,
        controls=("S3.5",),
        rationale="Without an explicit deny on aws:SecureTransport false, a client may read "
        "or write objects over plain HTTP.",
        fix="Add a Deny statement for every principal on s3:* over the bucket and its objects "
        'with `"Condition": {"Bool": {"aws:SecureTransport": "false"}}` (the Bucket '
        "component's policy has it).",
        types=BUCKETS,
        check=_tls_only,
    ),
    Rule(
        id="OSP-S3-4",
        title="Buckets grant nothing to everyone through ACLs",
        severity=Severity.CRITICAL,
        controls=("S3.2", "S3.3", "S3.12"),
        rationale="An ACL grant to AllUsers or AuthenticatedUsers (any AWS account) publishes "
        "the bucket regardless of its policy.",
        fix="Remove the public canned ACL or grant; prefer ObjectOwnership "
        "BucketOwnerEnforced, which disables ACLs.",
        types=(*BUCKETS, *ACL),
        check=_no_public_acl,
    ),
    Rule(
        id="OSP-S3-5",
        title="Production buckets are versioned",
        severity=Severity.MEDIUM,
        controls=("S3.14",),
        rationale="Versioning keeps overwritten and deleted objects recoverable after a bad "
        "deploy, a bug or ransomware.",
        fix="Give the bucket a versioning configuration with `status: Enabled` "
        "(BucketArgs.versioning).",
        types=BUCKETS,
        check=_versioning,
    ),
    Rule(
        id="OSP-S3-6",
        title="Buckets log server access",
        severity=Severity.MEDIUM,
        controls=("S3.9",),
        rationale="Access logs are the record of who read which object; without them a leak "
        "cannot be scoped.",
        fix="Give the bucket a BucketLogging into the environment's log bucket "
        "(BucketArgs.access_log_bucket).",
        types=BUCKETS,
        check=_access_logging,
    ),
    Rule(
        id="OSP-S3-7",
        title="Production buckets are protected from deletion by Pulumi",
        severity=Severity.HIGH,
        controls=("NIST.800-53.r5 CP-9", "NIST.800-53.r5 SI-12"),
        rationale="Without `protect`, one `pulumi destroy` or a replacing change deletes the "
        "bucket and, with force_destroy, every object in it.",
        fix="Set `osp:deletion_protection: true` in the stack file (the prod preset does): "
        "the Bucket component then protects its bucket.",
        types=BUCKETS,
        check=_protected_bucket,
    ),
)
