"""The fake AWS the offline engine answers with: deterministic ids, ARNs and data-source answers.

Everything here is a pure function of the spec and of a resource's type and name, so the
same spec always yields the same plan, and documents built from these values (IAM and
bucket policies, kubeconfigs) are complete and checkable without an account.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

from osp.platform.errors import EngineError
from osp.platform.spec import EnvironmentSpec

#: AWS's documentation account, used when the spec does not pin `osp:account_id`.
EXAMPLE_ACCOUNT_ID = "123456789012"

# EC2-style ids: a prefix and 17 hex digits, as AWS issues them.
_EC2_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/networkAcl:NetworkAcl": "acl",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:ec2/flowLog:FlowLog": "fl",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
    # EFS issues its ids the same way.
    "aws:efs/fileSystem:FileSystem": "fs",
    "aws:efs/mountTarget:MountTarget": "fsmt",
    "aws:efs/accessPoint:AccessPoint": "fsap",
}

#: The resource part of IAM and Elastic Load Balancing ARNs, per resource class.
_IAM_ARN_KINDS = {
    "Role": "role",
    "Policy": "policy",
    "InstanceProfile": "instance-profile",
    "User": "user",
    "OpenIdConnectProvider": "oidc-provider",
}
_ELB_ARN_KINDS = {
    "LoadBalancer": "loadbalancer/app",
    "TargetGroup": "targetgroup",
    "Listener": "listener/app",
    "ListenerRule": "listener-rule/app",
}


def digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]


def partition_of(region: str) -> tuple[str, str]:
    """(partition, DNS suffix) of a region."""
    if region.startswith("cn-"):
        return "aws-cn", "amazonaws.com.cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov", "amazonaws.com"
    return "aws", "amazonaws.com"


class FakeAws(Mocks):
    """A fake AWS: Pulumi mocks that answer like AWS would for the environment in `spec`."""

    def __init__(self, spec: EnvironmentSpec):
        self.spec = spec
        self.account_id = spec.account_id or EXAMPLE_ACCOUNT_ID
        self.partition, self.dns_suffix = partition_of(spec.region)
        #: Region of each explicit provider, by provider reference ("<urn>::<id>"); the
        #: engine fills it as providers register, so resources know where they live.
        self.provider_regions: dict[str, str] = {}

    # -- resources ---------------------------------------------------------------------

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        token, name, inputs = args.typ, args.name, dict(args.inputs)
        if token.startswith("pulumi:providers:"):
            return digest(token, name), inputs
        region = str(
            inputs.get("region") or self.provider_regions.get(args.provider or "", self.spec.region)
        )
        ident = self._resource_id(token, name, inputs)
        state = dict(inputs)
        if token.startswith("aws:"):
            state["arn"] = inputs.get("arn") or self.arn(token, ident, inputs, region)
            if "tags" in inputs:
                state.setdefault("tagsAll", inputs["tags"])
        # Cloud-side values win over inputs of the same name (an ARN is the cloud's to give).
        state.update(_OUTPUTS.get(token, _no_outputs)(self, ident, inputs, region))
        return ident, state

    def _resource_id(self, token: str, name: str, inputs: Mapping[str, Any]) -> str:
        prefix = _EC2_ID_PREFIX.get(token)
        if prefix:
            return f"{prefix}-{digest(token, name)}"
        if token in _CLOUDFRONT_IDS:
            # CloudFront ids: E + 13 upper-case letters and digits.
            return "E" + digest(token, name, length=13).upper()
        if token in _UUID_IDS:
            return str(uuid.UUID(digest(token, name, length=32)))
        if token == "aws:cloudfront/keyvaluestoreKey:KeyvaluestoreKey":
            # AWS's provider: "<store ARN>,<key>".
            return f"{inputs.get('keyValueStoreArn', '')},{inputs.get('key', '')}"
        if token == "aws:route53/zone:Zone":
            return "Z" + digest(token, name, length=20).upper()
        if token == "aws:kms/key:Key":
            return str(uuid.UUID(digest(token, name, length=32)))
        if token == "aws:guardduty/detector:Detector":
            # A detector id: 32 lower-case hex digits.
            return digest(token, name, length=32)
        # Most other AWS resources are identified by the name they were given.
        for key in (
            "name",
            "bucket",
            "identifier",
            "replicationGroupId",
            "brokerName",
            "clusterName",
        ):
            value = inputs.get(key)
            if isinstance(value, str) and value:
                return value
        return f"{name}-{digest(token, name, length=8)}"

    def arn(self, token: str, ident: str, inputs: Mapping[str, Any], region: str) -> str:
        """A well-formed ARN for a resource of `token` with id `ident`."""
        module, _, cls = token.partition(":")[2].partition(":")
        service = module.split("/")[0]
        resource = cls[:1].lower() + cls[1:]
        p, acct = self.partition, self.account_id
        if service == "s3":
            return f"arn:{p}:s3:::{ident}"
        if service == "iam":
            kind = _IAM_ARN_KINDS.get(cls, resource)
            return f"arn:{p}:iam::{acct}:{kind}/{ident}"
        if service in ("sqs", "sns"):
            return f"arn:{p}:{service}:{region}:{acct}:{ident}"
        if service == "cloudwatch" and cls == "LogGroup":
            return f"arn:{p}:logs:{region}:{acct}:log-group:{ident}"
        if service == "secretsmanager":
            return (
                f"arn:{p}:secretsmanager:{region}:{acct}:secret:{ident}-{digest(ident, length=6)}"
            )
        if service == "kms" and cls == "Key":
            return f"arn:{p}:kms:{region}:{acct}:key/{ident}"
        if service == "cloudfront":
            return f"arn:{p}:cloudfront::{acct}:{resource}/{ident}"
        if service == "route53" and cls == "Zone":
            return f"arn:{p}:route53:::hostedzone/{ident}"
        if service == "acm":
            return f"arn:{p}:acm:{region}:{acct}:certificate/{uuid.UUID(digest(ident, length=32))}"
        if service == "lb":
            kind = _ELB_ARN_KINDS.get(cls)
            if kind:
                return (
                    f"arn:{p}:elasticloadbalancing:{region}:{acct}:{kind}/{ident}/{digest(ident)}"
                )
        if service == "wafv2" and cls == "WebAcl":
            scope = "global" if inputs.get("scope") == "CLOUDFRONT" else "regional"
            name = inputs.get("name", ident)
            return f"arn:{p}:wafv2:{region}:{acct}:{scope}/webacl/{name}/{ident}"
        if service == "cloudwatch" and cls == "MetricAlarm":
            return f"arn:{p}:cloudwatch:{region}:{acct}:alarm:{ident}"
        if service == "cloudwatch" and cls == "EventRule":
            # EventBridge rules: pulumi_aws files them under cloudwatch, AWS under events.
            return f"arn:{p}:events:{region}:{acct}:rule/{ident}"
        if service == "cloudwatch" and cls == "Dashboard":
            return f"arn:{p}:cloudwatch::{acct}:dashboard/{ident}"
        if service == "ecr" and cls == "Repository":
            return f"arn:{p}:ecr:{region}:{acct}:repository/{ident}"
        if service == "backup" and cls == "Vault":
            return f"arn:{p}:backup:{region}:{acct}:backup-vault:{ident}"
        if service == "backup" and cls == "Plan":
            return f"arn:{p}:backup:{region}:{acct}:backup-plan:{ident}"
        if service == "lambda" and cls == "Function":
            return f"arn:{p}:lambda:{region}:{acct}:function:{ident}"
        if service == "efs" and cls in ("FileSystem", "AccessPoint"):
            kind = "file-system" if cls == "FileSystem" else "access-point"
            return f"arn:{p}:elasticfilesystem:{region}:{acct}:{kind}/{ident}"
        if service in ("ec2", "vpc"):
            return f"arn:{p}:ec2:{region}:{acct}:{resource.lower()}/{ident}"
        return f"arn:{p}:{service}:{region}:{acct}:{resource.lower()}/{ident}"

    # -- data sources ------------------------------------------------------------------

    def call(self, args: MockCallArgs) -> dict[str, Any]:
        answer = _CALLS.get(args.token)
        if answer is None:
            raise EngineError(
                f"the offline engine has no answer for the data source {args.token}; "
                "add one to osp.platform.engine.fake_aws"
            )
        arguments = dict(args.args)
        # A lookup through an explicit provider answers for that provider's region.
        region = self.provider_regions.get(args.provider or "")
        if region and args.token == "aws:index/getRegion:getRegion":
            arguments.setdefault("region", region)
        return answer(self, arguments)


def _no_outputs(*_: Any) -> dict[str, Any]:
    return {}


_OutputsFn = Callable[[FakeAws, str, Mapping[str, Any], str], dict[str, Any]]

#: Outputs only the cloud knows, per resource type, beyond `id`, `arn` and the inputs.
_OUTPUTS: dict[str, _OutputsFn] = {
    "aws:ec2/vpc:Vpc": lambda c, i, _in, _r: {
        "defaultSecurityGroupId": f"sg-{digest(i, 'default-sg')}",
        "defaultNetworkAclId": f"acl-{digest(i, 'default-acl')}",
        "defaultRouteTableId": f"rtb-{digest(i, 'default-rtb')}",
        "mainRouteTableId": f"rtb-{digest(i, 'default-rtb')}",
        "ownerId": c.account_id,
    },
    "aws:ec2/eip:Eip": lambda c, i, _in, _r: {
        # 192.0.2.0/24 (TEST-NET-1) is reserved for documentation: never a real address.
        "publicIp": f"192.0.2.{int(digest(i, length=4), 16) % 254 + 1}",
        "allocationId": i,
    },
    "aws:ec2/subnet:Subnet": lambda c, i, _in, _r: {"ownerId": c.account_id},
    "aws:kms/key:Key": lambda c, i, _in, _r: {"keyId": i},
    "aws:ec2/launchTemplate:LaunchTemplate": lambda c, i, _in, _r: {
        "latestVersion": 1,
        "defaultVersion": 1,
    },
    "aws:rds/instance:Instance": lambda c, i, inputs, r: _rds_instance(c, i, inputs, r),
    "aws:elasticache/replicationGroup:ReplicationGroup": lambda c, i, inputs, r: (
        _cache_cluster(i, inputs, r)
        if inputs.get("clusterMode") == "enabled"
        else {
            "primaryEndpointAddress": f"master.{_cache_host(i, r)}",
            "readerEndpointAddress": f"replica.{_cache_host(i, r)}",
            "port": int(inputs.get("port", 6379)),
            "memberClusters": [
                f"{i}-00{n}" for n in range(1, int(inputs.get("numCacheClusters", 1)) + 1)
            ],
        }
    ),
    "aws:mq/broker:Broker": lambda c, i, inputs, r: _mq_broker(c, i, inputs, r),
    "aws:eks/cluster:Cluster": lambda c, i, inputs, r: _eks_cluster(c, i, inputs, r),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda c, i, inputs, _r: {
        "arn": f"arn:{c.partition}:iam::{c.account_id}:oidc-provider/"
        + str(inputs.get("url", "")).removeprefix("https://"),
    },
    "aws:secretsmanager/secret:Secret": lambda c, i, inputs, r: {
        "arn": f"arn:{c.partition}:secretsmanager:{r}:{c.account_id}:secret:{i}-"
        + digest(i, length=6),
    },
    "aws:s3/bucket:Bucket": lambda c, i, _in, r: {
        "bucketDomainName": f"{i}.s3.{c.dns_suffix}",
        "bucketRegionalDomainName": f"{i}.s3.{r}.{c.dns_suffix}",
        "hostedZoneId": _S3_ZONE.get(r, "Z3AQBSTGFYJSTF"),
        "region": r,
    },
    "aws:cloudfront/distribution:Distribution": lambda c, i, _in, _r: {
        "domainName": f"d{digest('cloudfront', i, length=13)}.cloudfront.net",
        # The one hosted zone every CloudFront distribution is aliased through.
        "hostedZoneId": "Z2FDTNDATAQYW2",
        "status": "Deployed",
        "etag": digest("etag", i, length=14).upper(),
    },
    # A store's ARN ends in the id AWS gives it (a UUID); its Pulumi id is its name.
    "aws:cloudfront/keyValueStore:KeyValueStore": lambda c, i, _in, _r: {
        "arn": f"arn:{c.partition}:cloudfront::{c.account_id}:key-value-store/"
        + str(uuid.UUID(digest("key-value-store", i, length=32))),
        "etag": digest("etag", i, length=14).upper(),
    },
    "aws:cloudfront/function:Function": lambda c, i, inputs, _r: {
        "etag": digest("etag", i, length=14).upper(),
        "liveStageEtag": digest("etag", i, length=14).upper() if inputs.get("publish") else "",
        "status": "UNASSOCIATED",
    },
    "aws:lb/loadBalancer:LoadBalancer": lambda c, i, inputs, r: {
        "dnsName": f"{inputs.get('name', i)}-{int(digest('elb', i, length=8), 16)}."
        f"{r}.elb.{c.dns_suffix}",
        "zoneId": _ALB_ZONE.get(r, "Z35SXDOTRQ7X7K"),
        "arnSuffix": "app/" + i + "/" + digest(i),
    },
    "aws:lb/targetGroup:TargetGroup": lambda c, i, _in, _r: {
        "arnSuffix": "targetgroup/" + i + "/" + digest(i),
    },
    "aws:route53/zone:Zone": lambda c, i, _in, _r: {
        "zoneId": i,
        "nameServers": [
            f"ns-{int(digest(i, str(n), length=3), 16) % 2048}.awsdns-{n:02d}.{tld}"
            for n, tld in enumerate(("com", "net", "org", "co.uk"))
        ],
    },
    "aws:route53/keySigningKey:KeySigningKey": lambda c, i, _in, _r: _key_signing_key(i),
    "aws:sesv2/emailIdentity:EmailIdentity": lambda c, i, inputs, r: _email_identity(
        c, str(inputs.get("emailIdentity", i)), r
    ),
    # SES names configuration sets `configuration-set/<name>` under the `ses` service (the
    # ARN a sender's IAM policy must allow ses:SendEmail on, besides the identity's).
    "aws:sesv2/configurationSet:ConfigurationSet": lambda c, i, inputs, r: {
        "arn": f"arn:{c.partition}:ses:{r}:{c.account_id}:configuration-set/"
        + str(inputs.get("configurationSetName", i)),
    },
    "aws:route53/record:Record": lambda c, i, inputs, _r: {
        "fqdn": str(inputs.get("name", "")).rstrip(".").lower(),
    },
    "aws:acm/certificate:Certificate": lambda c, i, inputs, _r: _certificate(i, inputs),
    "aws:wafv2/webAcl:WebAcl": lambda c, i, _in, _r: {"capacity": 1000, "lockToken": i},
    "aws:sqs/queue:Queue": lambda c, i, inputs, r: {
        "url": f"https://sqs.{r}.{c.dns_suffix}/{c.account_id}/{inputs.get('name', i)}",
    },
    "aws:dynamodb/table:Table": lambda c, i, inputs, r: _dynamodb_table(c, i, inputs, r),
    "aws:efs/fileSystem:FileSystem": lambda c, i, _in, r: {
        "dnsName": f"{i}.efs.{r}.{c.dns_suffix}",
        "ownerId": c.account_id,
    },
    "aws:efs/mountTarget:MountTarget": lambda c, i, inputs, r: {
        "dnsName": f"{inputs.get('fileSystemId', '')}.efs.{r}.{c.dns_suffix}",
        "networkInterfaceId": f"eni-{digest('efs', i)}",
        "ownerId": c.account_id,
    },
    "aws:efs/accessPoint:AccessPoint": lambda c, i, inputs, r: {
        "fileSystemArn": f"arn:{c.partition}:elasticfilesystem:{r}:{c.account_id}:file-system/"
        + str(inputs.get("fileSystemId", "")),
        "ownerId": c.account_id,
    },
    "aws:ecr/repository:Repository": lambda c, i, _in, r: {
        "repositoryUrl": f"{c.account_id}.dkr.ecr.{r}.{c.dns_suffix}/{i}",
        "registryId": c.account_id,
    },
    # EventBridge Scheduler: a group's ARN is `…:schedule-group/<name>` (its type token
    # would read `schedulegroup`).
    "aws:scheduler/scheduleGroup:ScheduleGroup": lambda c, i, _in, r: {
        "arn": f"arn:{c.partition}:scheduler:{r}:{c.account_id}:schedule-group/{i}",
    },
    # Random values are secrets; a stable stand-in keeps the plan deterministic.
    "random:index/randomPassword:RandomPassword": lambda c, i, inputs, _r: {
        "result": digest("password", i, length=int(inputs.get("length", 32))),
        "bcryptHash": f"$2a$10${digest('bcrypt', i, length=53)}",
    },
}


# Hosted zones of S3 website/regional endpoints and of application load balancers, per region.
_S3_ZONE = {
    "us-east-1": "Z3AQBSTGFYJSTF",
    "us-west-2": "Z3BJ6K6RIION7M",
    "eu-west-1": "Z1BKCTXD74EZPE",
}
_ALB_ZONE = {
    "us-east-1": "Z35SXDOTRQ7X7K",
    "us-west-2": "Z1H1FL5HABSF5",
    "eu-west-1": "Z32O12XQLNTSW2",
}

# Types whose ids AWS issues as CloudFront-style `E…` strings or as UUIDs.
_CLOUDFRONT_IDS = frozenset(
    {
        "aws:cloudfront/distribution:Distribution",
        "aws:cloudfront/originAccessControl:OriginAccessControl",
    }
)
_UUID_IDS = frozenset(
    {
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
        "aws:cloudfront/cachePolicy:CachePolicy",
        "aws:cloudfront/originRequestPolicy:OriginRequestPolicy",
        "aws:wafv2/webAcl:WebAcl",
        "aws:wafv2/ipSet:IpSet",
        # AWS Backup names plans by a generated id, not by their name.
        "aws:backup/plan:Plan",
    }
)


def _key_signing_key(ident: str) -> dict[str, Any]:
    """What Route 53 derives from a key-signing key: ECDSA P-256 with SHA-256 (DNSSEC
    algorithm 13), the key tag, the SHA-256 digest (digest type 2) and the DS record the
    parent zone publishes, `<key tag> 13 2 <digest>`."""
    key_tag = int(digest("key-tag", ident, length=4), 16)
    ds_digest = digest("ds", ident, length=64).upper()
    return {
        "digestAlgorithmMnemonic": "SHA-256",
        "digestAlgorithmType": 2,
        "digestValue": ds_digest,
        "dnskeyRecord": f"257 3 13 {digest('dnskey', ident, length=64)}",
        "dsRecord": f"{key_tag} 13 2 {ds_digest}",
        "flag": 257,
        "keyTag": key_tag,
        "publicKey": digest("public-key", ident, length=64),
        "signingAlgorithmMnemonic": "ECDSAP256SHA256",
        "signingAlgorithmType": 13,
    }


def _certificate(ident: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """DNS validation records, one per name; a wildcard shares its apex's record, as in ACM."""
    names = [inputs.get("domainName", ""), *(inputs.get("subjectAlternativeNames") or [])]
    options = []
    for name in names:
        apex = str(name).removeprefix("*.")
        options.append(
            {
                "domainName": name,
                "resourceRecordName": f"_{digest('acm-name', apex, length=32)}.{apex}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{digest('acm-value', apex, length=32)}"
                ".mhbtsbpdnt.acm-validations.aws.",
            }
        )
    return {"domainValidationOptions": options, "status": "PENDING_VALIDATION"}


def _email_identity(c: FakeAws, identity: str, region: str) -> dict[str, Any]:
    tokens = [digest("dkim", identity, str(n), length=32) for n in range(3)]
    return {
        "arn": f"arn:{c.partition}:ses:{region}:{c.account_id}:identity/{identity}",
        "identityType": "DOMAIN",
        # Easy DKIM: three CNAME tokens SES generates for the domain.
        "dkimSigningAttributes": {
            "tokens": tokens,
            "nextSigningKeyLength": "RSA_2048_BIT",
            "signingAttributesOrigin": "AWS_SES",
            "status": "PENDING",
        },
    }


def _dynamodb_table(c: FakeAws, ident: str, inputs: Mapping[str, Any], region: str) -> dict:
    """`arn:…:table/<name>`; with a stream, its ARN `<table arn>/stream/<label>`, the label
    being the stream's creation time (fixed here, so the plan stays deterministic)."""
    arn = f"arn:{c.partition}:dynamodb:{region}:{c.account_id}:table/{ident}"
    out: dict[str, Any] = {"arn": arn}
    if inputs.get("streamEnabled"):
        label = "2024-01-01T00:00:00.000"
        out |= {"streamArn": f"{arn}/stream/{label}", "streamLabel": label}
    return out


def _cache_host(ident: str, region: str) -> str:
    """`<id>.<hash>.use1.cache.amazonaws.com`, the form ElastiCache endpoints take."""
    area, direction, number = [*region.split("-"), "", ""][:3]
    return (
        f"{ident}.{digest(ident, length=6)}.{area[:2]}{direction[:1]}{number}.cache.amazonaws.com"
    )


def _cache_cluster(ident: str, inputs: Mapping[str, Any], region: str) -> dict:
    """A cluster-mode group: one configuration endpoint, no primary or reader endpoint, and
    members named `<id>-<shard:04>-<node:03>` as ElastiCache names them."""
    shards = int(inputs.get("numNodeGroups", 1))
    nodes = 1 + int(inputs.get("replicasPerNodeGroup", 0))
    return {
        "configurationEndpointAddress": f"clustercfg.{_cache_host(ident, region)}",
        "primaryEndpointAddress": "",
        "readerEndpointAddress": "",
        "port": int(inputs.get("port", 6379)),
        "memberClusters": [
            f"{ident}-{shard:04d}-{node:03d}"
            for shard in range(1, shards + 1)
            for node in range(1, nodes + 1)
        ],
    }


def _rds_instance(c: FakeAws, ident: str, inputs: Mapping[str, Any], region: str) -> dict:
    address = f"{ident}.{digest(c.account_id, region, length=12)}.{region}.rds.{c.dns_suffix}"
    port = int(inputs.get("port", 5432))  # wire numbers arrive as floats
    resource_id = "db-" + digest("rds", ident, length=26).upper()
    out: dict[str, Any] = {
        "address": address,
        "endpoint": f"{address}:{port}",
        "port": port,
        "resourceId": resource_id,
        "hostedZoneId": "Z2R2ITUGPM61AM",
    }
    if inputs.get("manageMasterUserPassword"):
        out["masterUserSecrets"] = [
            {
                "secretArn": f"arn:{c.partition}:secretsmanager:{region}:{c.account_id}:secret:"
                f"rds!db-{digest('secret', ident, length=8)}-{digest(ident, length=6)}",
                "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", ""),
                "secretStatus": "active",
            }
        ]
    return out


def _mq_broker(c: FakeAws, ident: str, inputs: Mapping[str, Any], region: str) -> dict:
    broker_id = "b-" + str(uuid.UUID(digest("mq", ident, length=32)))
    host = f"{broker_id}.mq.{region}.{c.dns_suffix}"
    return {
        "arn": f"arn:{c.partition}:mq:{region}:{c.account_id}:broker:{ident}:{broker_id}",
        "instances": [
            {
                "consoleUrl": f"https://{host}",
                "endpoints": [f"amqps://{host}:5671"],
                "ipAddress": "",
            }
        ],
    }


# --- Amazon MSK and Managed Service for Apache Flink (osp.components.streaming, flink) ------


def _msk_cluster_uuid(cluster_name: str) -> str:
    # MSK's cluster ARNs end in a UUID and a revision number: `…/<uuid>-2`.
    return f"{uuid.UUID(digest('msk', cluster_name, length=32))}-2"


def _msk_cluster(c: FakeAws, ident: str, inputs: Mapping[str, Any], region: str) -> dict:
    name = str(inputs.get("clusterName", ident))
    short = digest("msk-host", name, length=6)
    brokers = int(inputs.get("numberOfBrokerNodes", 1))
    hosts = [
        f"b-{n}.{name}.{short}.c2.kafka.{region}.{c.dns_suffix}" for n in range(1, brokers + 1)
    ]
    return {
        "arn": f"arn:{c.partition}:kafka:{region}:{c.account_id}:cluster/{name}/"
        + _msk_cluster_uuid(name),
        "bootstrapBrokersSaslIam": ",".join(f"{host}:9098" for host in hosts),
        "currentVersion": "K" + digest("msk-version", name, length=13).upper(),
    }


def _msk_topic(c: FakeAws, ident: str, inputs: Mapping[str, Any], region: str) -> dict:
    # `arn:…:topic/<cluster name>/<cluster uuid>/<topic>`, from the cluster's ARN.
    cluster = str(inputs.get("clusterArn", ""))
    base = cluster.replace(":cluster/", ":topic/", 1) if ":cluster/" in cluster else cluster
    return {"arn": f"{base}/{inputs.get('name', ident)}"}


_OUTPUTS.update(
    {
        "aws:msk/cluster:Cluster": _msk_cluster,
        "aws:msk/configuration:Configuration": lambda c, i, inputs, r: {
            "arn": f"arn:{c.partition}:kafka:{r}:{c.account_id}:configuration/{i}/"
            + str(uuid.UUID(digest("msk-configuration", i, length=32)))
            + "-2",
            "latestRevision": 1,
        },
        "aws:msk/topic:Topic": _msk_topic,
        "aws:kinesisanalyticsv2/application:Application": lambda c, i, inputs, r: {
            "arn": f"arn:{c.partition}:kinesisanalytics:{r}:{c.account_id}:application/{i}",
            "status": "READY",
            "versionId": 1,
        },
        "aws:cloudwatch/logStream:LogStream": lambda c, i, inputs, r: {
            "arn": f"arn:{c.partition}:logs:{r}:{c.account_id}:log-group:"
            f"{inputs.get('logGroupName', '')}:log-stream:{inputs.get('name', i)}",
        },
    }
)


def _eks_cluster(c: FakeAws, ident: str, inputs: Mapping[str, Any], region: str) -> dict:
    oidc = digest("oidc", ident, length=32).upper()
    vpc_config = dict(inputs.get("vpcConfig") or {})
    vpc_config.setdefault("clusterSecurityGroupId", f"sg-{digest(ident, 'cluster-sg')}")
    host = f"{digest('eks', ident, length=32).upper()}.gr7.{region}.eks.{c.dns_suffix}"
    return {
        "endpoint": f"https://{host}",
        "certificateAuthority": {
            # A fixed, well-formed (base64) stand-in for the cluster's CA bundle.
            "data": "TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Q2c9PQ==",
        },
        "identities": [
            {"oidcs": [{"issuer": f"https://oidc.eks.{region}.{c.dns_suffix}/id/{oidc}"}]}
        ],
        "vpcConfig": vpc_config,
        "platformVersion": "eks.1",
        "status": "ACTIVE",
    }


def _zones(cloud: FakeAws, _args: dict[str, Any]) -> dict[str, Any]:
    names = list(cloud.spec.zones)
    prefix = {"us-east-1": "use1", "us-west-2": "usw2", "eu-west-1": "euw1"}.get(
        cloud.spec.region, cloud.spec.region.replace("-", "")[:5]
    )
    return {
        "id": cloud.spec.region,
        "names": names,
        "zoneIds": [f"{prefix}-az{n}" for n in range(1, len(names) + 1)],
        "groupNames": [cloud.spec.region] * len(names),
        "state": "available",
    }


def _caller(cloud: FakeAws, _args: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": cloud.account_id,
        "accountId": cloud.account_id,
        "arn": f"arn:{cloud.partition}:iam::{cloud.account_id}:user/osp-offline",
        "userId": f"AIDA{digest('osp-offline', length=17).upper()}",
    }


def _partition(cloud: FakeAws, _args: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": cloud.partition,
        "partition": cloud.partition,
        "dnsSuffix": cloud.dns_suffix,
        "reverseDnsPrefix": ".".join(reversed(cloud.dns_suffix.split("."))),
    }


def _region(cloud: FakeAws, args: dict[str, Any]) -> dict[str, Any]:
    region = args.get("region") or args.get("name") or cloud.spec.region
    return {
        "id": region,
        "name": region,
        "region": region,
        "description": region,
        "endpoint": f"ec2.{region}.{cloud.dns_suffix}",
    }


def _ami(cloud: FakeAws, args: dict[str, Any]) -> dict[str, Any]:
    image = f"ami-{digest(cloud.spec.region, repr(sorted(args.items())))}"
    return {"id": image, "imageId": image, "name": f"osp-offline-{image}", "architecture": "x86_64"}


def _ssm_parameter(cloud: FakeAws, args: dict[str, Any]) -> dict[str, Any]:
    name = str(args.get("name", ""))
    # Public SSM parameters osp reads are AMI ids (EKS-optimised images, for one).
    value = f"ami-{digest(cloud.spec.region, name)}"
    return {
        "id": name,
        "name": name,
        "type": "String",
        "value": value,
        "insecureValue": value,
        "arn": f"arn:{cloud.partition}:ssm:{cloud.spec.region}::parameter{name}",
    }


def _prefix_list(cloud: FakeAws, args: dict[str, Any]) -> dict[str, Any]:
    name = str(args.get("name") or "")
    # The CloudFront origin-facing list has a fixed id per region; us-east-1's is pl-3b927c52.
    ident = _CLOUDFRONT_PREFIX_LIST.get(cloud.spec.region) if "cloudfront" in name else None
    ident = ident or f"pl-{digest(cloud.spec.region, name, length=8)}"
    return {
        "id": ident,
        "name": name,
        "addressFamily": "IPv4",
        "maxEntries": 55,
        "ownerId": "AWS",
        "arn": f"arn:{cloud.partition}:ec2:{cloud.spec.region}:aws:prefix-list/{ident}",
        "entries": [],
    }


_CLOUDFRONT_PREFIX_LIST = {"us-east-1": "pl-3b927c52", "us-west-2": "pl-82a045eb"}

# Elastic Load Balancing's own account per region, which writes access logs in regions
# opened before August 2022 (newer regions use the log-delivery service principal).
_ELB_ACCOUNT = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-central-1": "054676820928",
    "ap-southeast-2": "783225319266",
}


def _elb_account(cloud: FakeAws, args: dict[str, Any]) -> dict[str, Any]:
    region = args.get("region") or cloud.spec.region
    account = _ELB_ACCOUNT.get(region, "")
    return {
        "id": account,
        "region": region,
        "arn": f"arn:{cloud.partition}:iam::{account}:root" if account else "",
    }


# AWS managed CloudFront policies, by name (their ids are the same in every account).
_MANAGED_POLICIES = {
    "Managed-CachingOptimized": "658327ea-f89d-4fab-a63d-7e88639e58f6",
    "Managed-CachingDisabled": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
    "Managed-AllViewer": "216adef6-5c7f-47e4-b989-5492eafa07d3",
    "Managed-AllViewerExceptHostHeader": "b689b0a8-53d0-40ab-baf2-68738e2966ac",
    "Managed-CORS-S3Origin": "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf",
    "Managed-SecurityHeadersPolicy": "67f7725c-6f97-4210-82d7-5512b31e9d03",
}


def _managed_policy(_cloud: FakeAws, args: dict[str, Any]) -> dict[str, Any]:
    name = str(args.get("name") or "")
    ident = args.get("id") or _MANAGED_POLICIES.get(name)
    if ident is None:
        raise EngineError(
            f"the offline engine knows no managed CloudFront policy named {name!r}; known: "
            + ", ".join(sorted(_MANAGED_POLICIES))
        )
    return {"id": ident, "name": name, "etag": digest("etag", ident, length=14).upper()}


def _hosted_zone(cloud: FakeAws, args: dict[str, Any]) -> dict[str, Any]:
    zone_id = str(args.get("zoneId") or "Z" + digest("zone", str(args.get("name")), length=20))
    name = str(args.get("name") or cloud.spec.domain).rstrip(".")
    return {
        "id": zone_id,
        "zoneId": zone_id,
        "name": name,
        "privateZone": bool(args.get("privateZone", False)),
        "arn": f"arn:{cloud.partition}:route53:::hostedzone/{zone_id}",
        "nameServers": [f"ns-{n}.awsdns-{n:02d}.com" for n in range(4)],
        "resourceRecordSetCount": 2,
    }


def _log_delivery_user(_cloud: FakeAws, _args: dict[str, Any]) -> dict[str, Any]:
    # The awslogsdelivery account's canonical id: CloudFront standard logs are written by it.
    user = "c4c1ede66af53448b93c283ce9448c4ba468c9432aa01d700d3878632f77d2d0"
    return {"id": user}


def _canonical_user(cloud: FakeAws, _args: dict[str, Any]) -> dict[str, Any]:
    # The account's S3 canonical user id (64 hex digits), stable per account.
    return {"id": digest("canonical-user", cloud.account_id, length=64), "displayName": ""}


_CALLS: dict[str, Callable[[FakeAws, dict[str, Any]], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _zones,
    "aws:index/getCallerIdentity:getCallerIdentity": _caller,
    "aws:index/getPartition:getPartition": _partition,
    "aws:index/getRegion:getRegion": _region,
    "aws:ec2/getAmi:getAmi": _ami,
    "aws:ssm/getParameter:getParameter": _ssm_parameter,
    "aws:ec2/getManagedPrefixList:getManagedPrefixList": _prefix_list,
    "aws:elb/getServiceAccount:getServiceAccount": _elb_account,
    "aws:cloudfront/getCachePolicy:getCachePolicy": _managed_policy,
    "aws:cloudfront/getOriginRequestPolicy:getOriginRequestPolicy": _managed_policy,
    "aws:cloudfront/getResponseHeadersPolicy:getResponseHeadersPolicy": _managed_policy,
    "aws:route53/getZone:getZone": _hosted_zone,
    "aws:s3/getCanonicalUserId:getCanonicalUserId": _canonical_user,
    "aws:cloudfront/getLogDeliveryCanonicalUserId:getLogDeliveryCanonicalUserId": (
        _log_delivery_user
    ),
}
