"""`Zone`: an environment's public DNS zone, its TLS certificates and its alias records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from osp.platform import limits
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
    """Pulumi `protect` on the created hosted zone: deleting it breaks every name under the
    domain and the parent's delegation. Adopted zones are never managed by osp."""

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
    """

    zone_id: pulumi.Output[str]
    name_servers: pulumi.Output[list[str]]
    edge_certificate_arn: pulumi.Output[str]
    regional_certificate_arn: pulumi.Output[str]

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
        self.register_outputs(
            {
                "zoneId": self.zone_id,
                "nameServers": self.name_servers,
                "edgeCertificateArn": self.edge_certificate_arn,
                "regionalCertificateArn": self.regional_certificate_arn,
            }
        )

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
