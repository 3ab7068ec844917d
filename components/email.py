"""`EmailDomain`: an environment's verified SES sending domain and its DNS authentication."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from osp.platform import limits
from osp.platform.naming import NameKind, fit
from osp.platform.validation import InvalidArguments, Problems

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


def problems(name: str, args: EmailDomainArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("EmailDomain", name)
    domain_ok = check.against(limits.DOMAIN_NAME, "domain", args.domain)
    label = args.mail_from_label
    if check.against(limits.DNS_LABEL, "mail_from_label", label) and domain_ok:
        check.check(
            len(f"{label}.{args.domain}") <= 253,
            "mail_from_label",
            label,
            f"a label short enough that '<label>.{args.domain}' is at most 253 characters",
        )
    if isinstance(args.zone_id, str):
        check.against(limits.HOSTED_ZONE_ID, "zone_id", args.zone_id)
    return check.found


def dkim_domain(region: str) -> str:
    """The domain Easy DKIM's CNAMEs point into for an identity in `region`."""
    return REGIONAL_DKIM_DOMAINS.get(region, DEFAULT_DKIM_DOMAIN)


def easy_dkim_tokens(name: str, domain: str, tokens: Sequence[str] | None) -> list[str]:
    """The identity's Easy DKIM tokens, once they are known to be the expected three."""
    found = list(tokens or ())
    if len(found) != DKIM_TOKEN_COUNT or not all(isinstance(t, str) and t for t in found):
        check = Problems("EmailDomain", name)
        check.note(
            "domain",
            f"SES returned {len(found)} Easy DKIM tokens for {domain} ({found!r}); expected "
            f"exactly {DKIM_TOKEN_COUNT}, one per DKIM CNAME record. Check the identity in the "
            "SES console: it must use Easy DKIM, not BYODKIM",
        )
        check.raise_if_any()
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
        if found := problems(name, args):
            raise InvalidArguments(found)
        self._name = name
        self._args = args
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region

        configuration_set = self._configuration_set()
        identity = self._identity(configuration_set)
        self._dkim_records(identity, region)
        mail_from = self._mail_from(identity, region)

        self.identity_arn = identity.arn
        self.identity_name = identity.email_identity
        self.mail_from_domain = mail_from.mail_from_domain
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

    def _tagged(self, resource_name: str) -> dict[str, str]:
        return {"Name": resource_name, **self._args.tags}

    def _configuration_set(self) -> aws.sesv2.ConfigurationSet:
        resource_name = f"{self._name}-configuration-set"
        return aws.sesv2.ConfigurationSet(
            resource_name,
            configuration_set_name=_configuration_set_name(self._name),
            delivery_options=aws.sesv2.ConfigurationSetDeliveryOptionsArgs(
                tls_policy="REQUIRE" if self._args.require_tls else "OPTIONAL",
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
            tags=self._tagged(resource_name),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _identity(self, configuration_set: aws.sesv2.ConfigurationSet) -> aws.sesv2.EmailIdentity:
        resource_name = f"{self._name}-identity"
        return aws.sesv2.EmailIdentity(
            resource_name,
            email_identity=self._args.domain,
            dkim_signing_attributes=aws.sesv2.EmailIdentityDkimSigningAttributesArgs(
                next_signing_key_length=DKIM_KEY_LENGTH,
            ),
            # The default configuration set applies to every message from the domain, even
            # when a sender names no configuration set, so suppression and TLS cannot be
            # skipped by leaving it out.
            configuration_set_name=configuration_set.configuration_set_name,
            tags=self._tagged(resource_name),
            opts=pulumi.ResourceOptions(parent=self, protect=self._args.deletion_protection),
        )

    def _dkim_records(self, identity: aws.sesv2.EmailIdentity, region: pulumi.Output[str]) -> None:
        """One CNAME per Easy DKIM token, to the region's DKIM domain."""
        name, domain = self._name, self._args.domain
        tokens = identity.dkim_signing_attributes.apply(
            lambda attributes: easy_dkim_tokens(
                name, domain, attributes.tokens if attributes is not None else None
            )
        )
        target_domain = region.apply(dkim_domain)
        for index in range(DKIM_TOKEN_COUNT):
            self._record(
                f"dkim-{index + 1}",
                "CNAME",
                name=tokens.apply(lambda t, i=index: f"{t[i]}._domainkey.{domain}"),
                records=pulumi.Output.all(tokens, target_domain).apply(
                    lambda values, i=index: [f"{values[0][i]}.{values[1]}"]
                ),
            )

    def _mail_from(
        self, identity: aws.sesv2.EmailIdentity, region: pulumi.Output[str]
    ) -> aws.sesv2.EmailIdentityMailFromAttributes:
        """The custom MAIL FROM domain, with the MX record bounces use and its SPF policy."""
        mail_from = f"{self._args.mail_from_label}.{self._args.domain}"
        attributes = aws.sesv2.EmailIdentityMailFromAttributes(
            f"{self._name}-mail-from",
            email_identity=identity.email_identity,
            mail_from_domain=mail_from,
            behavior_on_mx_failure=BEHAVIOR_ON_MX_FAILURE,
            opts=pulumi.ResourceOptions(parent=self),
        )
        feedback = region.apply(lambda r: f"{MX_PRIORITY} feedback-smtp.{r}.amazonses.com")
        self._record("mail-from-mx", "MX", name=mail_from, records=[feedback])
        self._record("mail-from-spf", "TXT", name=mail_from, records=[SPF_RECORD])
        return attributes

    def _record(
        self,
        role: str,
        record_type: str,
        *,
        name: pulumi.Input[str],
        records: pulumi.Input[Sequence[pulumi.Input[str]]],
    ) -> None:
        """A record in the domain's zone, with the TTL every record of the domain has."""
        aws.route53.Record(
            f"{self._name}-{role}",
            zone_id=self._args.zone_id,
            name=name,
            type=record_type,
            ttl=RECORD_TTL_SECONDS,
            records=records,
            opts=pulumi.ResourceOptions(parent=self),
        )
