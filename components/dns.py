"""`Zone`: an environment's public DNS zone, its TLS certificates, its alias records, its
DNSSEC signing and its query log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from osp.platform import iam, limits
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:dns:Zone"

#: The certificate authorities behind ACM. The CAA record lets only them issue for the
#: domain and its subdomains (`issue`) and for wildcards (`issuewild`).
AMAZON_CAS = ("amazon.com", "amazontrust.com", "awstrust.com", "amazonaws.com")

#: ACM key algorithm of both certificates. CloudFront serves ACM certificates with RSA 2048
#: or ECDSA P-256 keys only (not RSA 3072/4096); ECDSA-only would shut out clients without
#: ECDSA suites (older school-issued devices, embedded browsers), so RSA 2048 is the one
#: choice every viewer and both CloudFront and the load balancer accept.
KEY_ALGORITHM = "RSA_2048"

_EXISTING_ZONE_ID = limits.optional(limits.HOSTED_ZONE_ID, " to create a zone")

#: The key Route 53 signs a zone with: asymmetric, ECDSA P-256 (DNSSEC algorithm 13), for
#: signing and verifying only, in us-east-1 (Route 53 takes no other).
SIGNING_KEY_SPEC = "ECC_NIST_P256"

#: The service principal through which Route 53 uses the key-signing key's KMS key.
DNSSEC_PRINCIPAL = "dnssec-route53.amazonaws.com"

#: The name of the zone's key-signing key (what Route 53 shows; unique within the zone).
KEY_SIGNING_KEY_NAME = "osp-ksk"


def signing_key_policy(*, partition: str, account: str) -> str:
    """The policy of the KMS key Route 53 signs the zone with: the account administers it;
    Route 53's DNSSEC service may read its public key and sign with it, and grant itself
    that use, only for this account's hosted zones (the confused-deputy conditions)."""
    for_zones = {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": f"arn:{partition}:route53:::hostedzone/*"},
    }
    return iam.policy(
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "Route53DnssecSigns",
            "Effect": "Allow",
            "Principal": {"Service": DNSSEC_PRINCIPAL},
            "Action": ["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign"],
            "Resource": "*",
            "Condition": for_zones,
        },
        {
            "Sid": "Route53DnssecGrants",
            "Effect": "Allow",
            "Principal": {"Service": DNSSEC_PRINCIPAL},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}, **for_zones},
        },
    )


def query_log_group_name(domain: str) -> str:
    """The log group Route 53 writes `domain`'s queries to (its names must start
    /aws/route53/)."""
    return f"/aws/route53/{domain}"


def query_log_policy(*, partition: str, account: str, zone_arn: str) -> str:
    """The CloudWatch Logs resource policy letting Route 53 write this zone's query logs
    under /aws/route53/ in this account, and nothing else's."""
    return iam.policy(
        {
            "Sid": "Route53WritesQueryLogs",
            "Effect": "Allow",
            "Principal": {"Service": "route53.amazonaws.com"},
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"arn:{partition}:logs:{limits.CLOUDFRONT_REGION}:{account}:"
            "log-group:/aws/route53/*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": zone_arn},
            },
        }
    )


@dataclass(frozen=True, kw_only=True)
class ZoneArgs:
    """Arguments of `Zone`."""

    domain: str
    """The environment's DNS name (such as osp.example.com): the portals and the API live
    under it, and both certificates cover it and `*.<domain>`."""

    edge_provider: pulumi.ProviderResource
    """An `aws.Provider` for us-east-1. CloudFront only takes certificates from ACM in
    us-east-1, so the edge certificate and its validation are created through it."""

    existing_zone_id: str | None = None
    """A public hosted zone to adopt (its id, such as Z0123456789ABCDEFGHIJ) instead of
    creating one: for a domain whose zone another team or account already runs. The zone
    must be for `domain` or a parent of it. Default: a new public hosted zone for
    `domain`, whose name servers the parent zone must delegate to."""

    deletion_protection: bool = True
    """Pulumi `protect` on the created hosted zone (and on the DNSSEC signing key): deleting
    it breaks every name under the domain and the parent's delegation. Adopted zones are
    never managed by osp."""

    dnssec: bool = True
    """Sign the zone with DNSSEC: a KMS key in us-east-1 (ECC_NIST_P256, SIGN_VERIFY, its
    policy admitting Route 53's DNSSEC service for this account's zones only), a key-signing
    key on it and the zone's signing turned on, all through `edge_provider`. The parent
    (the registrar) must then publish `ds_record`. False: no signing (turn it off for an
    adopted zone another team signs)."""

    signing_key_deletion_window_days: int = 30
    """Days a deleted DNSSEC signing key waits before it is gone (7-30): a key deleted while
    the parent still publishes its DS record makes the whole domain unresolvable for
    validating resolvers."""

    query_log_kms_key_arn: pulumi.Input[str] | None = None
    """Customer KMS key in us-east-1 of the zone's query log group (its policy must let
    CloudWatch Logs in us-east-1 use it). Given: Route 53 logs every query it answers for the
    zone to `/aws/route53/<domain>` in us-east-1 (the only region it logs to). Default: no
    query logging."""

    query_log_retention_days: int = 365
    """Days the query log group keeps events (a CloudWatch Logs retention period)."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the hosted zone and the certificates (osp's tag set)."""


def problems(name: str, args: ZoneArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("Zone", name)
    check.against(limits.DOMAIN_NAME, "domain", args.domain)
    check.against(_EXISTING_ZONE_ID, "existing_zone_id", args.existing_zone_id)
    check.check(
        isinstance(args.edge_provider, pulumi.ProviderResource),
        "edge_provider",
        args.edge_provider,
        "an aws.Provider for us-east-1 (CloudFront certificates must live there)",
    )
    check.check(isinstance(args.dnssec, bool), "dnssec", args.dnssec, "True or False")
    check.against(
        limits.KMS_DELETION_WINDOW_DAYS,
        "signing_key_deletion_window_days",
        args.signing_key_deletion_window_days,
    )
    check.against(limits.LOG_RETENTION, "query_log_retention_days", args.query_log_retention_days)
    key = args.query_log_kms_key_arn
    if key is not None and not isinstance(key, pulumi.Output):
        check.against(limits.KMS_KEY_ARN, "query_log_kms_key_arn", key)
    return check.found


def _check_adopted(name: str, zone: aws.route53.GetZoneResult, domain: str) -> str:
    """The adopted zone's id, once it is known to be a public zone `domain` lives in."""
    zone_name = zone.name.rstrip(".").lower()
    if zone.private_zone or not (domain == zone_name or domain.endswith(f".{zone_name}")):
        kind = "private" if zone.private_zone else "public"
        check = Problems("Zone", name)
        check.add(
            "existing_zone_id",
            zone.zone_id,
            f"the public zone of {domain!r} or of a parent of it, not the {kind} zone "
            f"{zone_name!r}",
        )
        check.raise_if_any()
    return zone.zone_id


class Zone(pulumi.ComponentResource):
    """The public DNS zone of an environment, with the TLS certificates for its names.

    You get a public hosted zone for the domain (or an adopted one), a CAA record that lets
    only Amazon's certificate authorities issue for the domain and its wildcards, and two
    DNS-validated ACM certificates for `<domain>` and `*.<domain>` — one in us-east-1 for
    CloudFront, one in the stack's region for the load balancer — with certificate
    transparency logging on and automatic renewal for as long as the validation record
    stays. The certificate ARNs are published only once ACM has issued them, so nothing
    attaches a certificate that is still pending. `alias` adds A/AAAA alias records for
    CloudFront distributions and load balancers.

    With `dnssec` the zone is signed (key-signing key on a KMS key in us-east-1) and
    `ds_record` is what the registrar must publish; with `query_log_kms_key_arn` every query
    is logged to an encrypted group in us-east-1.
    """

    zone_id: pulumi.Output[str]
    name_servers: pulumi.Output[list[str]]
    edge_certificate_arn: pulumi.Output[str]
    regional_certificate_arn: pulumi.Output[str]
    ds_record: pulumi.Output[str] | None
    """The DS record for the parent zone (`<key tag> 13 2 <digest>`), None without DNSSEC."""

    def __init__(self, name: str, args: ZoneArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TOKEN, name, None, opts)
        if found := problems(name, args):
            raise InvalidArguments(found)
        self._name = name
        self._domain = args.domain
        self._tags = dict(args.tags)
        self._labels: set[str] = set()
        child = pulumi.ResourceOptions(parent=self)
        edge = pulumi.ResourceOptions(parent=self, provider=args.edge_provider)

        self.zone_id, self.name_servers = self._hosted_zone(args)
        self._caa_record()
        edge_certificate = self._certificate("edge", edge)
        regional_certificate = self._certificate("regional", child)
        validation_record = self._validation_record(edge_certificate)
        self.edge_certificate_arn = self._validated(
            "edge", edge_certificate, validation_record, edge
        )
        self.regional_certificate_arn = self._validated(
            "regional", regional_certificate, validation_record, child
        )
        self.ds_record = self._dnssec(args, edge) if args.dnssec else None
        if args.query_log_kms_key_arn is not None:
            self._query_log(args, edge)
        outputs = {
            "zoneId": self.zone_id,
            "nameServers": self.name_servers,
            "edgeCertificateArn": self.edge_certificate_arn,
            "regionalCertificateArn": self.regional_certificate_arn,
        }
        if self.ds_record is not None:
            outputs["dsRecord"] = self.ds_record
        self.register_outputs(outputs)

    def _tagged(self, resource_name: str) -> dict[str, str]:
        return {"Name": resource_name, **self._tags}

    def _hosted_zone(self, args: ZoneArgs) -> tuple[pulumi.Output[str], pulumi.Output[list[str]]]:
        """The id and name servers of the zone: a new public one, or the adopted one."""
        if args.existing_zone_id is None:
            zone = aws.route53.Zone(
                f"{self._name}-zone",
                name=self._domain,
                comment=f"osp: {self._domain}",
                # Never delete records osp did not create along with the zone.
                force_destroy=False,
                tags=self._tagged(f"{self._name}-zone"),
                opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection),
            )
            return zone.zone_id, zone.name_servers
        adopted = aws.route53.get_zone_output(
            zone_id=args.existing_zone_id, opts=pulumi.InvokeOptions(parent=self)
        )
        # A zone of another domain would leave the certificates pending until ACM gives up
        # (hours later); refuse it at once instead.
        name, domain = self._name, self._domain
        return adopted.apply(lambda z: _check_adopted(name, z, domain)), adopted.name_servers

    def _dnssec(self, args: ZoneArgs, edge: pulumi.ResourceOptions) -> pulumi.Output[str]:
        """Sign the zone: the KMS key, the key-signing key on it, signing on. Returns the DS
        record the parent must publish."""
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self))
        key_name = f"{self._name}-dnssec-key"
        key = aws.kms.Key(
            key_name,
            description=f"osp: DNSSEC key-signing key of {self._domain}",
            customer_master_key_spec=SIGNING_KEY_SPEC,
            key_usage="SIGN_VERIFY",
            # KMS rotates symmetric encryption keys only; a new KSK is a DNSSEC key rollover.
            enable_key_rotation=False,
            deletion_window_in_days=args.signing_key_deletion_window_days,
            policy=pulumi.Output.all(partition.partition, account.account_id).apply(
                lambda v: signing_key_policy(partition=v[0], account=v[1])
            ),
            tags=self._tagged(key_name),
            opts=pulumi.ResourceOptions.merge(
                edge, pulumi.ResourceOptions(protect=args.deletion_protection)
            ),
        )
        signing_key = aws.route53.KeySigningKey(
            f"{self._name}-ksk",
            hosted_zone_id=self.zone_id,
            key_management_service_arn=key.arn,
            name=KEY_SIGNING_KEY_NAME,
            status="ACTIVE",
            opts=edge,
        )
        aws.route53.HostedZoneDnsSec(
            f"{self._name}-dnssec",
            hosted_zone_id=signing_key.hosted_zone_id,
            signing_status="SIGNING",
            opts=pulumi.ResourceOptions.merge(
                edge, pulumi.ResourceOptions(depends_on=[signing_key])
            ),
        )
        return signing_key.ds_record

    def _query_log(self, args: ZoneArgs, edge: pulumi.ResourceOptions) -> None:
        """Route 53 logs the zone's queries to an encrypted group in us-east-1."""
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self))
        group_name = f"{self._name}-query-logs"
        group = aws.cloudwatch.LogGroup(
            group_name,
            name=query_log_group_name(self._domain),
            retention_in_days=args.query_log_retention_days,
            kms_key_id=args.query_log_kms_key_arn,
            tags=self._tagged(group_name),
            opts=edge,
        )
        zone_arn = pulumi.Output.all(partition.partition, self.zone_id).apply(
            lambda v: f"arn:{v[0]}:route53:::hostedzone/{v[1]}"
        )
        policy = aws.cloudwatch.LogResourcePolicy(
            f"{self._name}-query-logs-policy",
            policy_name=f"{self._name}-route53-query-logs",
            policy_document=pulumi.Output.all(
                partition.partition, account.account_id, zone_arn
            ).apply(lambda v: query_log_policy(partition=v[0], account=v[1], zone_arn=v[2])),
            opts=edge,
        )
        aws.route53.QueryLog(
            f"{self._name}-query-log",
            zone_id=self.zone_id,
            cloudwatch_log_group_arn=group.arn,
            # Route 53 checks that it may write to the group when logging is turned on.
            opts=pulumi.ResourceOptions.merge(edge, pulumi.ResourceOptions(depends_on=[policy])),
        )

    def _caa_record(self) -> None:
        aws.route53.Record(
            f"{self._name}-caa",
            zone_id=self.zone_id,
            name=self._domain,
            type="CAA",
            ttl=3600,
            records=[f'0 {tag} "{ca}"' for tag in ("issue", "issuewild") for ca in AMAZON_CAS],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _certificate(self, role: str, opts: pulumi.ResourceOptions) -> aws.acm.Certificate:
        resource_name = f"{self._name}-{role}-certificate"
        return aws.acm.Certificate(
            resource_name,
            domain_name=self._domain,
            # Tenant subdomains and the portals (student., admin., school., api.).
            subject_alternative_names=[f"*.{self._domain}"],
            validation_method="DNS",
            key_algorithm=KEY_ALGORITHM,
            options=aws.acm.CertificateOptionsArgs(
                certificate_transparency_logging_preference="ENABLED"
            ),
            tags=self._tagged(resource_name),
            # Pulumi replaces by creating the new certificate first (the default,
            # delete_before_replace=False), so listeners and distributions switch to it
            # before the old one goes.
            opts=opts,
        )

    def _validation_record(self, certificate: aws.acm.Certificate) -> aws.route53.Record:
        """One validation record serves both certificates.

        ACM gives `<domain>` and `*.<domain>` the same CNAME, and the CNAME for a name is the
        same for every certificate of the account in every Region ("the CNAME validation
        token works for any AWS Region", ACM user guide, DNS validation): a second Record for
        the same name would only fight the first.
        """
        domain = self._domain
        dvo = certificate.domain_validation_options.apply(
            lambda options: next(o for o in options if o.domain_name == domain)
        )
        return aws.route53.Record(
            f"{self._name}-validation",
            zone_id=self.zone_id,
            name=dvo.resource_record_name,
            type=dvo.resource_record_type,
            records=[dvo.resource_record_value],
            ttl=300,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _validated(
        self,
        role: str,
        certificate: aws.acm.Certificate,
        record: aws.route53.Record,
        opts: pulumi.ResourceOptions,
    ) -> pulumi.Output[str]:
        """The certificate's ARN, known only once ACM has issued it."""
        validation = aws.acm.CertificateValidation(
            f"{self._name}-{role}-certificate-validation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn],
            opts=opts,
        )
        return validation.certificate_arn

    def alias(
        self,
        label: str,
        *,
        target_dns_name: pulumi.Input[str],
        target_zone_id: pulumi.Input[str],
        evaluate_target_health: bool = False,
    ) -> None:
        """Point `<label>.<domain>` at a CloudFront distribution or a load balancer.

        Creates an A and an AAAA alias record (children of this zone) to `target_dns_name`
        in the target's own hosted zone `target_zone_id`: a distribution's `domain_name`
        and `hosted_zone_id`, or a load balancer's `dns_name` and `zone_id`. Turn on
        `evaluate_target_health` for load balancers only; CloudFront ignores it.
        """
        check = Problems("Zone", self._name)
        if check.check(
            isinstance(label, str)
            and all(limits.DNS_LABEL.accepts(part) for part in label.split(".")),
            "alias label",
            label,
            "a DNS label such as 'api' or 'student', relative to the domain",
        ):
            check.check(
                label not in self._labels,
                "alias label",
                label,
                f"each label once ({label}.{self._domain} already has its alias records)",
            )
        check.raise_if_any()
        self._labels.add(label)
        for record_type in ("A", "AAAA"):
            aws.route53.Record(
                f"{self._name}-{label}-{record_type.lower()}",
                zone_id=self.zone_id,
                name=f"{label}.{self._domain}",
                type=record_type,
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=target_dns_name,
                        zone_id=target_zone_id,
                        evaluate_target_health=evaluate_target_health,
                    )
                ],
                opts=pulumi.ResourceOptions(parent=self),
            )
