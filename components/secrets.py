"""`ServiceSecrets`: the Secrets Manager secrets the bundled services read at run time."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from osp.components._secrets import stored_secret
from osp.components.rotation import Rotation, RotationTarget, SecretRotator, rotator_args
from osp.platform import limits
from osp.platform.limits import pattern, whole_range
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:secrets:ServiceSecrets"

#: Tag naming the JSON keys a secret's value holds (space-separated).
TAG_KEYS = "osp:secret-keys"
#: Tag saying who writes the value: `generated` (osp) or `operator` (by hand, never osp).
TAG_SOURCE = "osp:secret-source"

#: The one key of a generated secret's JSON value.
GENERATED_KEY = "value"

#: Bounds of `GeneratedSecret.length`: 32 letters and digits are ~190 bits; 4096 is far
#: beyond any signing key and well inside Secrets Manager's 64 KiB.
LENGTH_RANGE = (32, 4096)
_LENGTH = whole_range(*LENGTH_RANGE)

_KEY = pattern(r"[A-Za-z_][A-Za-z0-9_]*", "JSON keys of letters, digits and '_' such as secret_key")
# Secrets Manager appends "-" and six characters to every ARN; a name that already ends
# that way makes partial-ARN look-ups ambiguous, and AWS tells users not to.
_ARN_SUFFIX_LIKE = re.compile(r".*-[A-Za-z0-9]{6}")

_MAX_DESCRIPTION = 2048
_MAX_TAG_VALUE = 256


@dataclass(frozen=True, kw_only=True)
class GeneratedSecret:
    """A value osp generates and stores, such as the JWT signing key."""

    name: str
    """The secret's name under the prefix: lower-case letters and digits, with single `-` or
    `_` between them."""

    description: str
    """What the value is for and who reads it (the secret's description)."""

    length: int = 64
    """Characters of the value (32-4096), letters and digits only so that no consumer has to
    escape it: 64 of them are ~380 bits."""


@dataclass(frozen=True, kw_only=True)
class PlaceholderSecret:
    """A secret only the operator can fill, such as payment-gateway keys: osp creates it
    empty and never holds a value."""

    name: str
    """The secret's name under the prefix (as for `GeneratedSecret.name`)."""

    description: str
    """What the value is for (the secret's description; the expected keys are appended)."""

    keys: tuple[str, ...]
    """The keys of the JSON object the operator stores, such as
    (`publishable_key`, `secret_key`, `webhook_secret`)."""


@dataclass(frozen=True, kw_only=True)
class ServiceSecretsArgs:
    """Arguments of `ServiceSecrets`."""

    prefix: str
    """Namespace of the secrets, such as `osp-prod`: each is named `<prefix>/<name>`."""

    kms_key_arn: pulumi.Input[str]
    """Customer KMS key (the secrets key) every secret is encrypted with."""

    deletion_protection: bool
    """Pulumi `protect` on every secret: a placeholder holds what only the operator has, and
    a regenerated signing key signs every session out."""

    generated: Sequence[GeneratedSecret] = ()
    """Values osp generates (`pulumi_random`) and stores; secret in state and in plans."""

    placeholders: Sequence[PlaceholderSecret] = ()
    """Secrets created with no value at all, for the operator to fill with
    `aws secretsmanager put-secret-value`."""

    recovery_window_days: int = 30
    """Days a deleted secret can still be restored: 0 (deleted at once) or 7-30."""

    rotation: Rotation | None = None
    """Rotate the generated secrets: one rotation function (`SecretRotator`,
    `<name>-rotation`) gives each a new value every `rotation.rotation_days`; the previous
    value keeps the AWSPREVIOUS stage until the next rotation, so a JWT signed before the
    change verifies during that grace period. Placeholders are never rotated (their values
    are the operator's). Default: none, never rotated."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every secret (osp's tag set, from osp.platform.naming.standard_tags)."""


def placeholder_description(secret: PlaceholderSecret) -> str:
    """The description of a placeholder: its own, then what the operator must store."""
    return (
        f"{secret.description.rstrip('.')}. Filled by the operator, never by osp: "
        "aws secretsmanager put-secret-value --secret-string with a JSON object of the keys "
        + ", ".join(secret.keys)
    )


def _resource_names(name: str, args: ServiceSecretsArgs) -> list[str]:
    """The logical names of every child, in the order they are created."""
    out: list[str] = []
    for secret in args.generated:
        out += [
            f"{name}-{secret.name}-value",
            f"{name}-{secret.name}",
            f"{name}-{secret.name}-version",
        ]
    out += [f"{name}-{secret.name}" for secret in args.placeholders]
    return out


def problems(name: str, args: ServiceSecretsArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("ServiceSecrets", name)
    prefix_ok = check.against(limits.SECRET_NAME_PREFIX, "prefix", args.prefix)
    _check_names(check, args, prefix_ok)
    for index, secret in enumerate(args.generated):
        check.against(_LENGTH, f"generated[{index}].length", secret.length)
    for index, secret in enumerate(args.placeholders):
        _check_placeholder_keys(check, f"placeholders[{index}]", secret)
    check.against(limits.SECRET_RECOVERY_WINDOW, "recovery_window_days", args.recovery_window_days)
    if not check:
        # Names may be valid one by one and still give two children the same logical name
        # ("a-version" beside the version of "a").
        clashes = [n for n, count in Counter(_resource_names(name, args)).items() if count > 1]
        for clash in clashes:
            check.note(
                "generated/placeholders",
                f"two children would both be named {clash!r}; rename one of the secrets",
            )
    return check.found


def _check_names(check: Problems, args: ServiceSecretsArgs, prefix_ok: bool) -> None:
    """The name and description of every secret, generated or placeholder."""
    entries: list[tuple[str, GeneratedSecret | PlaceholderSecret]] = [
        *((f"generated[{i}]", s) for i, s in enumerate(args.generated)),
        *((f"placeholders[{i}]", s) for i, s in enumerate(args.placeholders)),
    ]
    check.check(
        bool(entries), "generated/placeholders", [], "at least one secret, generated or placeholder"
    )
    names = Counter(s.name for _, s in entries)
    for where, secret in entries:
        arg = f"{where}.name"
        if not check.against(limits.SECRET_NAME, arg, secret.name):
            continue
        full = f"{args.prefix}/{secret.name}"
        check.check(
            names[secret.name] == 1,
            arg,
            secret.name,
            "each name once across generated and placeholders",
        )
        check.check(
            not _ARN_SUFFIX_LIKE.fullmatch(secret.name),
            arg,
            secret.name,
            "a name that does not end in '-' and six characters (Secrets Manager's own "
            "ARN suffix looks like that)",
        )
        if prefix_ok:
            check.check(
                len(full) <= limits.SECRET_NAME_MAX_LENGTH,
                arg,
                secret.name,
                f"a secret name {full!r} of at most {limits.SECRET_NAME_MAX_LENGTH} characters",
            )
        description = secret.description
        if check.check(
            isinstance(description, str) and bool(description.strip()),
            f"{where}.description",
            description,
            "a description of what it is for",
        ):
            check.check(
                len(description) <= _MAX_DESCRIPTION,
                f"{where}.description",
                description,
                f"a description of at most {_MAX_DESCRIPTION} characters",
            )


def _check_placeholder_keys(check: Problems, where: str, secret: PlaceholderSecret) -> None:
    """The JSON keys a placeholder names: they go into its tag and its description."""
    keys = secret.keys
    if not check.check(
        not isinstance(keys, str) and bool(keys),
        f"{where}.keys",
        keys,
        "a tuple of at least one JSON key the operator fills",
    ):
        return
    for key in keys:
        check.against(_KEY, f"{where}.keys", key)
    if not all(isinstance(key, str) for key in keys):
        return  # reported above
    if len(set(keys)) != len(keys):
        check.add(f"{where}.keys", list(keys), "each key at most once")
    elif len(" ".join(keys)) > _MAX_TAG_VALUE:
        check.add(
            f"{where}.keys",
            list(keys),
            f"keys that fit a tag: {_MAX_TAG_VALUE} characters, spaces included",
        )
    elif isinstance(secret.description, str):
        check.check(
            len(placeholder_description(secret)) <= _MAX_DESCRIPTION,
            f"{where}.description",
            secret.description,
            f"a description that, with the keys appended, fits {_MAX_DESCRIPTION} characters",
        )


def generated_document(value: str) -> str:
    """The JSON text stored in a generated secret."""
    return json.dumps({GENERATED_KEY: value}, sort_keys=True)


class ServiceSecrets(pulumi.ComponentResource):
    """The application secrets of an environment, each `<prefix>/<name>` in Secrets Manager,
    encrypted with the customer secrets key.

    Generated secrets (such as the JWT signing key) hold a JSON object `{"value": ...}` whose
    value `pulumi_random` generates: it is secret in Pulumi state and masked in every plan.
    Placeholder secrets (such as payment-gateway keys) are created with no version at all;
    the operator stores the real value with `aws secretsmanager put-secret-value`, so it is
    never in code, configuration or state. Each secret says in its description and in the
    `osp:secret-keys` tag which JSON keys it holds, and in `osp:secret-source` who writes it.
    """

    secret_arns: pulumi.Output[dict[str, str]]
    """Name (without the prefix) → secret ARN, for the services' IAM policies."""

    def __init__(
        self, name: str, args: ServiceSecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)

        def tags(resource_name: str, keys: Sequence[str], source: str) -> dict[str, str]:
            # The key list and source describe this secret and must not be overridden.
            return {
                "Name": resource_name,
                **args.tags,
                TAG_KEYS: " ".join(keys),
                TAG_SOURCE: source,
            }

        arns: dict[str, pulumi.Output[str]] = {}
        for secret in args.generated:
            resource_name = f"{name}-{secret.name}"
            value = random.RandomPassword(
                f"{resource_name}-value",
                length=secret.length,
                special=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            stored = stored_secret(
                resource_name,
                secret_name=f"{args.prefix}/{secret.name}",
                description=secret.description,
                kms_key_id=args.kms_key_arn,
                recovery_window_days=args.recovery_window_days,
                document=value.result.apply(generated_document),
                tags=tags(resource_name, (GENERATED_KEY,), "generated"),
                parent=self,
                protect=args.deletion_protection,
                rotated=args.rotation is not None,
            )
            arns[secret.name] = stored.arn
        if args.rotation is not None and args.generated:
            SecretRotator(
                f"{name}-rotation",
                rotator_args(
                    args.rotation,
                    target=RotationTarget.JWT,
                    secret_arns={s.name: arns[s.name] for s in args.generated},
                    secrets_kms_key_arn=args.kms_key_arn,
                    tags=args.tags,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

        for secret in args.placeholders:
            resource_name = f"{name}-{secret.name}"
            # No SecretVersion, on purpose: the value is the operator's, and a version here
            # would put it (or a stand-in that overwrites it) into state.
            placeholder = aws.secretsmanager.Secret(
                resource_name,
                name=f"{args.prefix}/{secret.name}",
                description=placeholder_description(secret),
                kms_key_id=args.kms_key_arn,
                recovery_window_in_days=args.recovery_window_days,
                tags=tags(resource_name, secret.keys, "operator"),
                opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection),
            )
            arns[secret.name] = placeholder.arn

        self.secret_arns = pulumi.Output.all(**arns).apply(dict)
        self.register_outputs({"secretArns": self.secret_arns})
