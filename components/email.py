"""`EmailDomain`: an environment's verified SES sending domain and its DNS authentication."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from osp.platform.naming import NameKind, fit

TOKEN = "osp:email:EmailDomain"

#: Easy DKIM always publishes exactly this many selectors (one CNAME each). Pulumi cannot
#: create a variable number of resources from an Output, so the records are made for this
#: many tokens and a different count from SES fails the deployment.
DKIM_TOKEN_COUNT = 3

#: Key length of the Easy DKIM keys: 2048-bit RSA, not SES's 1024-bit default.
DKIM_KEY_LENGTH = "RSA_2048_BIT"

#: Where Easy DKIM's CNAMEs point. Most regions use dkim.amazonses.com; these use a
#: domain of their own (AWS General Reference, "Amazon SES endpoints and quotas", DKIM
#: domains). A CNAME to the wrong one never verifies.
DEFAULT_DKIM_DOMAIN = "dkim.amazonses.com"
REGIONAL_DKIM_DOMAINS: Mapping[str, str] = {
    region: f"dkim.{region}.amazonses.com"
    for region in (
        "af-south-1",
        "ap-northeast-3",
        "ap-south-2",
        "ap-southeast-3",
        "ap-southeast-5",
        "ca-west-1",
        "eu-central-2",
        "eu-south-1",
        "il-central-1",
        "me-central-1",
        "us-gov-east-1",
    )
}

#: The SPF policy of the MAIL FROM domain: only SES sends with it as the envelope sender.
#: `~all` (soft fail), as SES documents, rather than `-all`: some receivers reject a hard
#: SPF fail before DMARC is evaluated, which would drop mail forwarded by a school's own
#: mail server even though its DKIM signature (aligned with the domain) still passes.
SPF_RECORD = "v=spf1 include:amazonses.com ~all"

#: What SES does when it cannot find the MAIL FROM domain's MX record. USE_DEFAULT_VALUE
#: falls back to a MAIL FROM under amazonses.com: SPF then stops aligning with the domain,
#: but DMARC still passes through the aligned Easy DKIM signature, so password resets and
#: receipts keep flowing. REJECT_MESSAGE would refuse every send — including while SES is
#: still detecting the new MX record after the first deployment (up to 72 hours) — which
#: turns a DNS mistake into an outage of transactional mail without adding protection.
BEHAVIOR_ON_MX_FAILURE = "USE_DEFAULT_VALUE"

#: Reasons a recipient is put on the suppression list by mail sent through the domain's
#: configuration set: addresses that hard-bounced or complained are not mailed again, which
#: is what keeps the account's bounce and complaint rates under the limits at which SES
#: pauses sending.
SUPPRESSED_REASONS = ("BOUNCE", "COMPLAINT")

#: TTL of every record: the DKIM targets and the MAIL FROM records never change while the
#: identity exists.
RECORD_TTL_SECONDS = 1800

#: Priority of the MAIL FROM domain's one MX record, as SES documents it.
MX_PRIORITY = 10

_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
# Route 53 hosted zone ids: Z and up to 31 more upper-case letters and digits.
_ZONE_ID = re.compile(r"Z[A-Z0-9]{1,31}")


@dataclass(frozen=True, kw_only=True)
class EmailDomainArgs:
    """Arguments of `EmailDomain`."""

    domain: str
    """The domain mail is sent from (the environment's domain, such as osp.example.com):
    the SES identity, the `From:` addresses services use, and the DKIM signing domain. A
    lower-case DNS name with at least two labels."""

    zone_id: pulumi.Input[str]
    """The Route 53 public hosted zone that serves `domain` (such as the `Zone` component's
    `zone_id`), where the DKIM and MAIL FROM records are created. A literal must look like a
    hosted zone id (Z0123456789ABCDEFGHIJ)."""

    mail_from_label: str = "mail"
    """The custom MAIL FROM subdomain, relative to `domain` (a DNS label): bounces go to
    `<mail_from_label>.<domain>`, whose MX and SPF records osp creates, so SPF aligns with
    the domain for DMARC. It must not receive mail of its own. Default: `mail`."""

    require_tls: bool = True
    """Deliver only over TLS (the configuration set's `REQUIRE` TLS policy): a receiving
    server that cannot negotiate TLS gets no message rather than one in clear text, since
    the mail carries pupils' and parents' personal data. Default: True. Turn off only for a
    recipient whose mail server cannot do STARTTLS."""

    deletion_protection: bool = True
    """Pulumi `protect` on the SES identity: a replaced identity gets new DKIM keys, and no
    mail goes out until SES has verified them again (up to 72 hours). Default: True."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the identity and the configuration set (osp's tag set)."""


def _is_domain(value: object) -> bool:
    if not isinstance(value, str) or len(value) > 253:
        return False
    labels = value.split(".")
    return (
        len(labels) >= 2
        and all(_LABEL.fullmatch(label) for label in labels)
        and not labels[-1].isdigit()
    )


def problems(name: str, args: EmailDomainArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    out: list[str] = []

    def bad(arg: str, value: object, expected: str) -> None:
        out.append(f"EmailDomain {name}: {arg}: got {value!r}; expected {expected}")

    domain_ok = _is_domain(args.domain)
    if not domain_ok:
        bad("domain", args.domain,
            "a lower-case DNS name with at least two labels, such as osp.example.com")  # fmt: skip
    label = args.mail_from_label
    if not (isinstance(label, str) and _LABEL.fullmatch(label)):
        bad("mail_from_label", label,
            "one lower-case DNS label (letters, digits, inner hyphens; at most 63), such as "
            "'mail'")  # fmt: skip
    elif domain_ok and len(f"{label}.{args.domain}") > 253:
        bad("mail_from_label", label,
            f"a label short enough that '<label>.{args.domain}' is at most 253 "
            "characters")  # fmt: skip
    if isinstance(args.zone_id, str) and not _ZONE_ID.fullmatch(args.zone_id):
        bad("zone_id", args.zone_id,
            "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ")  # fmt: skip
    return out


def dkim_domain(region: str) -> str:
    """The domain Easy DKIM's CNAMEs point into for an identity in `region`."""
    return REGIONAL_DKIM_DOMAINS.get(region, DEFAULT_DKIM_DOMAIN)


def easy_dkim_tokens(name: str, domain: str, tokens: Sequence[str] | None) -> list[str]:
    """The identity's Easy DKIM tokens, once they are known to be the expected three."""
    found = list(tokens or ())
    if len(found) != DKIM_TOKEN_COUNT or not all(isinstance(t, str) and t for t in found):
        raise ValueError(
            f"EmailDomain {name}: SES returned {len(found)} Easy DKIM tokens for {domain} "
            f"({found!r}); expected exactly {DKIM_TOKEN_COUNT}, one per DKIM CNAME record. "
            "Check the identity in the SES console: it must use Easy DKIM, not BYODKIM"
        )
    return found


def _configuration_set_name(name: str) -> str:
    # SES allows 1-64 letters, digits, hyphens and underscores. GENERIC keeps letters,
    # digits and hyphens; IAM's rule (64 characters, a superset of those) then only shortens
    # a long name, with a hash suffix.
    return fit(fit(name, NameKind.GENERIC), NameKind.IAM)


class EmailDomain(pulumi.ComponentResource):
    """A domain services send email from through Amazon SES, authenticated end to end.

    You get an SES domain identity with Easy DKIM (2048-bit keys, rotated by SES) and its
    three DKIM CNAME records, a custom MAIL FROM domain (`mail.<domain>`) with its MX and
    SPF records so both SPF and DKIM align with the domain and DMARC passes, and a
    configuration set attached as the identity's default: every message it sends is
    delivered over TLS only (unless `require_tls` is off), addresses that bounce or
    complain are suppressed, and reputation metrics (bounce and complaint rates) are
    published to CloudWatch.

    Security stance: the identity is the unit of permission. A sender's IAM policy allows
    `ses:SendEmail`/`ses:SendRawEmail` on `identity_arn` — and on `configuration_set_arn`,
    which SES also authorizes because it is the identity's default configuration set —
    never on `*`. No DMARC record is created: the domain's owner publishes the policy.
    SES itself starts in its sandbox (verified recipients only, 200 messages a day) until
    production access is requested for the account and region.
    """

    identity_arn: pulumi.Output[str]
    identity_name: pulumi.Output[str]
    mail_from_domain: pulumi.Output[str]
    configuration_set_name: pulumi.Output[str]
    configuration_set_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: EmailDomainArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise ValueError("\n".join(found))
        domain = args.domain
        mail_from = f"{args.mail_from_label}.{domain}"
        child = pulumi.ResourceOptions(parent=self)
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region

        def tags(resource_name: str) -> dict[str, str]:
            return {"Name": resource_name, **args.tags}

        configuration_set = aws.sesv2.ConfigurationSet(
            f"{name}-configuration-set",
            configuration_set_name=_configuration_set_name(name),
            delivery_options=aws.sesv2.ConfigurationSetDeliveryOptionsArgs(
                tls_policy="REQUIRE" if args.require_tls else "OPTIONAL",
            ),
            reputation_options=aws.sesv2.ConfigurationSetReputationOptionsArgs(
                reputation_metrics_enabled=True,
            ),
            sending_options=aws.sesv2.ConfigurationSetSendingOptionsArgs(sending_enabled=True),
            # Set here rather than inherited from the account-level list, whose reasons
            # depend on when and how the account was set up.
            suppression_options=aws.sesv2.ConfigurationSetSuppressionOptionsArgs(
                suppressed_reasons=list(SUPPRESSED_REASONS),
            ),
            tags=tags(f"{name}-configuration-set"),
            opts=child,
        )

        identity = aws.sesv2.EmailIdentity(
            f"{name}-identity",
            email_identity=domain,
            dkim_signing_attributes=aws.sesv2.EmailIdentityDkimSigningAttributesArgs(
                next_signing_key_length=DKIM_KEY_LENGTH,
            ),
            # The default configuration set applies to every message from the domain, even
            # when a sender names no configuration set, so suppression and TLS cannot be
            # skipped by leaving it out.
            configuration_set_name=configuration_set.configuration_set_name,
            tags=tags(f"{name}-identity"),
            opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection),
        )

        tokens = identity.dkim_signing_attributes.apply(
            lambda attributes: easy_dkim_tokens(
                name, domain, attributes.tokens if attributes is not None else None
            )
        )
        target_domain = region.apply(dkim_domain)
        for index in range(DKIM_TOKEN_COUNT):
            aws.route53.Record(
                f"{name}-dkim-{index + 1}",
                zone_id=args.zone_id,
                name=tokens.apply(lambda t, i=index: f"{t[i]}._domainkey.{domain}"),
                type="CNAME",
                ttl=RECORD_TTL_SECONDS,
                records=pulumi.Output.all(tokens, target_domain).apply(
                    lambda values, i=index: [f"{values[0][i]}.{values[1]}"]
                ),
                opts=child,
            )

        mail_from_attributes = aws.sesv2.EmailIdentityMailFromAttributes(
            f"{name}-mail-from",
            email_identity=identity.email_identity,
            mail_from_domain=mail_from,
            behavior_on_mx_failure=BEHAVIOR_ON_MX_FAILURE,
            opts=child,
        )
        aws.route53.Record(
            f"{name}-mail-from-mx",
            zone_id=args.zone_id,
            name=mail_from,
            type="MX",
            ttl=RECORD_TTL_SECONDS,
            records=[region.apply(lambda r: f"{MX_PRIORITY} feedback-smtp.{r}.amazonses.com")],
            opts=child,
        )
        aws.route53.Record(
            f"{name}-mail-from-spf",
            zone_id=args.zone_id,
            name=mail_from,
            type="TXT",
            ttl=RECORD_TTL_SECONDS,
            records=[SPF_RECORD],
            opts=child,
        )

        self.identity_arn = identity.arn
        self.identity_name = identity.email_identity
        self.mail_from_domain = mail_from_attributes.mail_from_domain
        self.configuration_set_name = configuration_set.configuration_set_name
        self.configuration_set_arn = configuration_set.arn
        self.register_outputs(
            {
                "identityArn": self.identity_arn,
                "identityName": self.identity_name,
                "mailFromDomain": self.mail_from_domain,
                "configurationSetName": self.configuration_set_name,
                "configurationSetArn": self.configuration_set_arn,
            }
        )
