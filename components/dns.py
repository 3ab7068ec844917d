"""`Zone`: an environment's public DNS zone, its TLS certificates and its alias records."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

TOKEN = "osp:dns:Zone"

#: The certificate authorities behind ACM. The CAA record lets only them issue for the
#: domain and its subdomains (`issue`) and for wildcards (`issuewild`).
AMAZON_CAS = ("amazon.com", "amazontrust.com", "awstrust.com", "amazonaws.com")

#: ACM key algorithm of both certificates. CloudFront serves ACM certificates with RSA 2048
#: or ECDSA P-256 keys only (not RSA 3072/4096); ECDSA-only would shut out clients without
#: ECDSA suites (older school-issued devices, embedded browsers), so RSA 2048 is the one
#: choice every viewer and both CloudFront and the load balancer accept.
KEY_ALGORITHM = "RSA_2048"

_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_ZONE_ID = re.compile(r"Z[A-Z0-9]{1,31}")


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


def _is_domain(value: object) -> bool:
    if not isinstance(value, str) or len(value) > 253:
        return False
    labels = value.split(".")
    return (
        len(labels) >= 2
        and all(_LABEL.fullmatch(label) for label in labels)
        and (not labels[-1].isdigit())
    )


def problems(name: str, args: ZoneArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    out: list[str] = []

    def bad(arg: str, value: object, expected: str) -> None:
        out.append(f"Zone {name}: {arg}: got {value!r}; expected {expected}")

    if not _is_domain(args.domain):
        bad("domain", args.domain,
            "a lower-case DNS name with at least two labels, such as osp.example.com")  # fmt: skip
    if args.existing_zone_id is not None and not (
        isinstance(args.existing_zone_id, str) and _ZONE_ID.fullmatch(args.existing_zone_id)
    ):
        bad("existing_zone_id", args.existing_zone_id,
            "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ, or None to create "
            "a zone")  # fmt: skip
    if not isinstance(args.edge_provider, pulumi.ProviderResource):
        bad("edge_provider", args.edge_provider,
            "an aws.Provider for us-east-1 (CloudFront certificates must live there)")  # fmt: skip
    return out


def _check_adopted(zone: aws.route53.GetZoneResult, domain: str) -> str:
    """The adopted zone's id, once it is known to be a public zone `domain` lives in."""
    zone_name = zone.name.rstrip(".").lower()
    if zone.private_zone or not (domain == zone_name or domain.endswith(f".{zone_name}")):
        kind = "private" if zone.private_zone else "public"
        raise ValueError(
            f"existing_zone_id {zone.zone_id} is the {kind} zone {zone_name!r}; expected the "
            f"public zone of {domain!r} or of a parent of it"
        )
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
        found = problems(name, args)
        if found:
            raise ValueError("\n".join(found))
        self._name = name
        self._domain = args.domain
        self._labels: set[str] = set()
        domain = args.domain
        child = pulumi.ResourceOptions(parent=self)
        edge = pulumi.ResourceOptions(parent=self, provider=args.edge_provider)

        def tags(resource_name: str) -> dict[str, str]:
            return {"Name": resource_name, **args.tags}

        if args.existing_zone_id is None:
            zone = aws.route53.Zone(
                f"{name}-zone",
                name=domain,
                comment=f"osp: {domain}",
                # Never delete records osp did not create along with the zone.
                force_destroy=False,
                tags=tags(f"{name}-zone"),
                opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection),
            )
            zone_id: pulumi.Output[str] = zone.zone_id
            name_servers: pulumi.Output[list[str]] = zone.name_servers
        else:
            adopted = aws.route53.get_zone_output(
                zone_id=args.existing_zone_id, opts=pulumi.InvokeOptions(parent=self)
            )
            # A zone of another domain would leave the certificates pending until ACM
            # gives up (hours later); refuse it at once instead.
            zone_id = adopted.apply(lambda z: _check_adopted(z, domain))
            name_servers = adopted.name_servers

        aws.route53.Record(
            f"{name}-caa",
            zone_id=zone_id,
            name=domain,
            type="CAA",
            ttl=3600,
            records=[f'0 {tag} "{ca}"' for tag in ("issue", "issuewild") for ca in AMAZON_CAS],
            opts=child,
        )

        def certificate(role: str, options: pulumi.ResourceOptions) -> aws.acm.Certificate:
            return aws.acm.Certificate(
                f"{name}-{role}-certificate",
                domain_name=domain,
                # Tenant subdomains and the portals (student., admin., school., api.).
                subject_alternative_names=[f"*.{domain}"],
                validation_method="DNS",
                key_algorithm=KEY_ALGORITHM,
                options=aws.acm.CertificateOptionsArgs(
                    certificate_transparency_logging_preference="ENABLED"
                ),
                tags=tags(f"{name}-{role}-certificate"),
                # Pulumi replaces by creating the new certificate first (the default,
                # delete_before_replace=False), so listeners and distributions switch to
                # it before the old one goes.
                opts=options,
            )

        edge_certificate = certificate("edge", edge)
        regional_certificate = certificate("regional", child)

        # One validation record serves both certificates. ACM gives `<domain>` and
        # `*.<domain>` the same CNAME, and the CNAME for a name is the same for every
        # certificate of the account in every Region ("the CNAME validation token works
        # for any AWS Region", ACM user guide, DNS validation): a second Record for the
        # same name would only fight the first.
        dvo = edge_certificate.domain_validation_options.apply(
            lambda options: next(o for o in options if o.domain_name == domain)
        )
        validation_record = aws.route53.Record(
            f"{name}-validation",
            zone_id=zone_id,
            name=dvo.resource_record_name,
            type=dvo.resource_record_type,
            records=[dvo.resource_record_value],
            ttl=300,
            opts=child,
        )

        edge_validation = aws.acm.CertificateValidation(
            f"{name}-edge-certificate-validation",
            certificate_arn=edge_certificate.arn,
            validation_record_fqdns=[validation_record.fqdn],
            opts=edge,
        )
        regional_validation = aws.acm.CertificateValidation(
            f"{name}-regional-certificate-validation",
            certificate_arn=regional_certificate.arn,
            validation_record_fqdns=[validation_record.fqdn],
            opts=child,
        )

        self.zone_id = zone_id
        self.name_servers = name_servers
        self.edge_certificate_arn = edge_validation.certificate_arn
        self.regional_certificate_arn = regional_validation.certificate_arn
        self.register_outputs(
            {
                "zoneId": self.zone_id,
                "nameServers": self.name_servers,
                "edgeCertificateArn": self.edge_certificate_arn,
                "regionalCertificateArn": self.regional_certificate_arn,
            }
        )

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
        if not isinstance(label, str) or not all(
            _LABEL.fullmatch(part) for part in label.split(".")
        ):
            raise ValueError(
                f"Zone {self._name}: alias label: got {label!r}; expected a DNS label such as "
                "'api' or 'student', relative to the domain"
            )
        if label in self._labels:
            raise ValueError(
                f"Zone {self._name}: alias label: got {label!r}; expected each label once "
                f"({label}.{self._domain} already has its alias records)"
            )
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
