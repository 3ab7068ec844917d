"""KMS keys and Secrets Manager secrets: keys rotate and are not deleted by accident;
secrets are encrypted with the environment's key and rotated."""

from __future__ import annotations

from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity
from osp.platform.policy.rules._reading import customer_key, referrers
from osp.platform.policy.rules.data_stores import protected

KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"


def _key_rotation(resource: PlannedResource, scope: Scope) -> Check | None:
    spec = resource.inputs.get("customerMasterKeySpec") or resource.inputs.get("keySpec")
    if spec not in (None, "SYMMETRIC_DEFAULT"):
        return None  # AWS rotates only symmetric encryption keys
    on = resource.inputs.get("enableKeyRotation")
    return Check.of(on is True, "" if on else "automatic key rotation is off", enableKeyRotation=on)


def _secret_key(resource: PlannedResource, scope: Scope) -> Check | None:
    key = resource.inputs.get("kmsKeyId")
    ok = customer_key(key)
    return Check.of(
        ok, "" if ok else "encrypted with the AWS-managed key, not the environment's", kmsKeyId=key
    )


def _secret_rotation(resource: PlannedResource, scope: Scope) -> Check | None:
    rotations = referrers(scope, resource, (ROTATION,), "secretId", (resource.inputs.get("name"),))
    if not rotations:
        return Check.of(False, "never rotated: no rotation is declared for it", secretRotation=None)
    schedule = rotations[0].inputs.get("rotationRules")
    return Check.of(True, secretRotation=schedule)


RULES = (
    Rule(
        id="OSP-KMS-1",
        title="Customer-managed KMS keys rotate automatically",
        severity=Severity.MEDIUM,
        controls=("KMS.4",),
        rationale="Yearly rotation limits how much data one key version protects and is "
        "expected by every audit framework the schools answer to.",
        fix="Set `enableKeyRotation: true` (the KeyRing component does).",
        types=(KEY,),
        check=_key_rotation,
    ),
    Rule(
        id="OSP-KMS-2",
        title="Production KMS keys are protected from deletion by Pulumi",
        severity=Severity.HIGH,
        controls=("KMS.3",),
        rationale="Deleting a key makes every database, bucket, queue and backup encrypted "
        "with it unreadable for good once the waiting period ends.",
        fix="Set `osp:deletion_protection: true` in the stack file (the prod preset does): the "
        "KeyRing component then protects its keys.",
        types=(KEY,),
        check=protected,
    ),
    Rule(
        id="OSP-SM-1",
        title="Secrets are encrypted with the environment's KMS key",
        severity=Severity.MEDIUM,
        controls=("NIST.800-53.r5 SC-28", "NIST.800-53.r5 SC-12"),
        rationale="With the environment's secrets key, reading a secret needs a key grant "
        "too, and each decrypt is audited; the AWS-managed key is open to the whole account.",
        fix="Set `kmsKeyId` to the secrets key (ServiceSecretsArgs.kms_key_arn).",
        types=(SECRET,),
        check=_secret_key,
    ),
    Rule(
        id="OSP-SM-2",
        title="Secrets rotate automatically",
        severity=Severity.MEDIUM,
        controls=("SecretsManager.1", "SecretsManager.4"),
        rationale="A credential that never changes stays valid for as long as anyone who ever "
        "saw it keeps a copy.",
        fix="Declare an aws.secretsmanager.SecretRotation for the secret with a rotation "
        "function and a schedule of 90 days or less (or let the owning service manage the "
        "secret, as RDS does with manageMasterUserPassword).",
        types=(SECRET,),
        check=_secret_rotation,
    ),
)
