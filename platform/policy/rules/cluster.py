"""The EKS cluster and its nodes: a private API endpoint, every control-plane log, secrets
encrypted with the environment's key; nodes that require IMDSv2 and encrypt their disks."""

from __future__ import annotations

from osp.platform.plan import PlannedResource
from osp.platform.policy.model import Check, Rule, Scope, Severity
from osp.platform.policy.rules._reading import as_list, at, customer_key, truthy

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
VOLUME = "aws:ebs/volume:Volume"

CONTROL_PLANE_LOGS = ("api", "audit", "authenticator", "controllerManager", "scheduler")


def _private_endpoint(resource: PlannedResource, scope: Scope) -> Check | None:
    public = at(resource.inputs, "vpcConfig.endpointPublicAccess")
    cidrs = at(resource.inputs, "vpcConfig.publicAccessCidrs")
    evidence = {"vpcConfig.endpointPublicAccess": public, "vpcConfig.publicAccessCidrs": cidrs}
    # The provider's default for endpointPublicAccess is true.
    if public is False:
        return Check.of(True, **evidence)
    return Check.of(False, "the Kubernetes API is reachable from the internet", **evidence)


def _control_plane_logs(resource: PlannedResource, scope: Scope) -> Check | None:
    enabled = as_list(resource.inputs.get("enabledClusterLogTypes"))
    missing = [t for t in CONTROL_PLANE_LOGS if t not in enabled]
    return Check.of(
        not missing,
        f"{', '.join(missing)} not logged" if missing else "",
        enabledClusterLogTypes=enabled,
    )


def _secrets_encryption(resource: PlannedResource, scope: Scope) -> Check | None:
    config = resource.inputs.get("encryptionConfig") or {}
    configs = config if isinstance(config, list) else [config]
    for item in configs:
        key = at(item, "provider.keyArn")
        if "secrets" in as_list(item.get("resources")) and customer_key(key):
            return Check.of(True, **{"encryptionConfig.provider.keyArn": key})
    return Check.of(
        False,
        "Kubernetes secrets are not envelope-encrypted with a KMS key",
        encryptionConfig=resource.inputs.get("encryptionConfig"),
    )


def _metadata_options(resource: PlannedResource) -> dict | None:
    if resource.type in (LAUNCH_TEMPLATE, INSTANCE):
        return resource.inputs.get("metadataOptions") or {}
    return None


def _imdsv2(resource: PlannedResource, scope: Scope) -> Check | None:
    options = _metadata_options(resource)
    if options is None:
        return None
    endpoint, tokens = options.get("httpEndpoint"), options.get("httpTokens")
    ok = endpoint == "disabled" or tokens == "required"
    return Check.of(
        ok,
        "" if ok else "instance metadata answers without a session token (IMDSv1)",
        **{"metadataOptions.httpTokens": tokens, "metadataOptions.httpEndpoint": endpoint},
    )


def _hop_limit(resource: PlannedResource, scope: Scope) -> Check | None:
    options = _metadata_options(resource)
    if options is None or options.get("httpEndpoint") == "disabled":
        return None
    hops = options.get("httpPutResponseHopLimit")
    ok = hops == 1
    return Check.of(
        ok,
        "" if ok else "pods can reach the node's metadata and take the node role",
        **{"metadataOptions.httpPutResponseHopLimit": hops},
    )


def _encrypted_volumes(resource: PlannedResource, scope: Scope) -> Check | None:
    inputs = resource.inputs
    if resource.type == NODE_GROUP:
        if inputs.get("launchTemplate"):
            return None  # its launch template holds the volumes
        return Check.of(
            False,
            "nodes get the AMI's volume, encrypted only if the account default "
            "is; declare a launch template",
            launchTemplate=None,
            diskSize=inputs.get("diskSize"),
        )
    if resource.type == VOLUME:
        volumes = [("", inputs)]
    elif resource.type == LAUNCH_TEMPLATE:
        volumes = [
            (f"blockDeviceMappings[{i}].ebs.", m.get("ebs") or {})
            for i, m in enumerate(as_list(inputs.get("blockDeviceMappings")))
            if m.get("ebs")
        ]
    else:
        volumes = [("rootBlockDevice.", inputs.get("rootBlockDevice") or {})] + [
            (f"ebsBlockDevices[{i}].", d)
            for i, d in enumerate(as_list(inputs.get("ebsBlockDevices")))
        ]
    if not volumes:
        return None
    evidence, bad = {}, []
    for prefix, volume in volumes:
        encrypted, key = volume.get("encrypted"), volume.get("kmsKeyId")
        evidence[f"{prefix}encrypted"] = encrypted
        evidence[f"{prefix}kmsKeyId"] = key
        if not truthy(encrypted):
            bad.append(f"{prefix.rstrip('.') or 'the volume'} is not encrypted")
        elif not customer_key(key):
            bad.append(f"{prefix.rstrip('.') or 'the volume'} uses the AWS-managed key")
    return Check.of(not bad, "; ".join(bad), **evidence)


RULES = (
    Rule(
        id="OSP-EKS-1",
        title="The cluster's API endpoint is private",
        severity=Severity.HIGH,
        controls=("EKS.1",),
        rationale="A public endpoint exposes the Kubernetes API (and any auth bypass in it) to "
        "the internet; administrators reach a private one through the VPC.",
        fix="Set `vpcConfig.endpointPublicAccess: false` (the Cluster component does).",
        types=(CLUSTER,),
        check=_private_endpoint,
    ),
    Rule(
        id="OSP-EKS-2",
        title="The cluster logs every control-plane log type",
        severity=Severity.MEDIUM,
        controls=("EKS.8",),
        rationale="The audit log shows who did what through the API; controllerManager and "
        "scheduler logs explain what the cluster did on its own during an incident.",
        fix="Set `enabledClusterLogTypes` to api, audit, authenticator, controllerManager and "
        "scheduler (ClusterArgs).",
        types=(CLUSTER,),
        check=_control_plane_logs,
    ),
    Rule(
        id="OSP-EKS-3",
        title="Kubernetes secrets are encrypted with the environment's KMS key",
        severity=Severity.HIGH,
        controls=("EKS.3",),
        rationale="Envelope encryption keeps secrets unreadable in etcd backups and needs a "
        "KMS grant the environment can revoke.",
        fix="Set `encryptionConfig: {resources: [secrets], provider.keyArn: <secrets key>}`.",
        types=(CLUSTER,),
        check=_secrets_encryption,
    ),
    Rule(
        id="OSP-EC2-1",
        title="Nodes require IMDSv2",
        severity=Severity.HIGH,
        controls=("EC2.8", "EC2.170"),
        rationale="IMDSv1 answers any request, so one SSRF in a service hands out the node's "
        "credentials.",
        fix="Set `metadataOptions.httpTokens: required` on the launch template (the Cluster "
        "component does).",
        types=(LAUNCH_TEMPLATE, INSTANCE),
        check=_imdsv2,
    ),
    Rule(
        id="OSP-EC2-2",
        title="Pods cannot reach the node's instance metadata",
        severity=Severity.MEDIUM,
        controls=("NIST.800-53.r5 AC-6", "EKS best practices: restrict IMDS"),
        rationale="With a hop limit above 1 every pod can take the node role's credentials; "
        "pods get their own through IRSA.",
        fix="Set `metadataOptions.httpPutResponseHopLimit: 1`.",
        types=(LAUNCH_TEMPLATE, INSTANCE),
        check=_hop_limit,
    ),
    Rule(
        id="OSP-EC2-3",
        title="Node volumes are encrypted with the environment's KMS key",
        severity=Severity.HIGH,
        controls=("EC2.3", "EC2.7"),
        rationale="Node disks hold container images, logs and emptyDir data, student records "
        "among them.",
        fix="Give each block device mapping `encrypted: true` and `kmsKeyId` (the Cluster "
        "component's launch templates do); give every node group a launch template.",
        types=(LAUNCH_TEMPLATE, INSTANCE, VOLUME, NODE_GROUP),
        check=_encrypted_volumes,
    ),
)
