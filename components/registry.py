"""`Registry`: the ECR repositories the bundled services' images are pushed to."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from osp.platform.limits import pattern, whole_range
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:registry:Registry"

# ECR's own repository name grammar: path segments of lower-case alphanumerics joined by
# single separators (., _ or -), 2-256 characters in all.
_SEGMENT = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"
_SERVICE = pattern(
    _SEGMENT,
    "a repository name such as identity or fee-management: lower-case letters and digits, "
    "with single '.', '_' or '-' between them",
)
_PREFIX = pattern(
    rf"{_SEGMENT}(?:/{_SEGMENT})*",
    "an ECR namespace such as osp-prod: lower-case letters and digits, with single '.', '_' "
    "or '-' between them and '/' between levels",
)
_MAX_NAME = 256

#: Bounds of `keep_tagged_images` and `untagged_expiry_days`.
KEEP_TAGGED_RANGE = (1, 1000)
UNTAGGED_EXPIRY_RANGE = (1, 365)
_KEEP_TAGGED = whole_range(*KEEP_TAGGED_RANGE)
_UNTAGGED_EXPIRY = whole_range(*UNTAGGED_EXPIRY_RANGE)


@dataclass(frozen=True, kw_only=True)
class RegistryArgs:
    """Arguments of `Registry`."""

    prefix: str
    """Namespace of the repositories, such as `osp-prod`: each is `<prefix>/<service>`.
    Lower-case letters, digits and `.`, `_`, `-` between them; `/` nests namespaces."""

    services: Sequence[str]
    """The services that get a repository, one each (at least one, each at most once)."""

    deletion_protection: bool
    """Pulumi `protect` on every repository. Repositories are never force-deleted: deleting
    one that still holds images fails, whatever this says."""

    kms_key_arn: pulumi.Input[str] | None = None
    """Customer KMS key the images are encrypted with. Default: none, and ECR encrypts with
    AES-256 under its own key. Fixed at creation: changing it replaces the repositories."""

    keep_tagged_images: int = 20
    """Tagged images kept per repository (1-1000): older ones expire, so a rollback can go
    back this many releases."""

    untagged_expiry_days: int = 7
    """Days after push an untagged image (a superseded build layer, a failed push) expires
    (1-365)."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every repository (osp's tag set, from osp.platform.naming.standard_tags)."""


def lifecycle_policy(*, untagged_expiry_days: int, keep_tagged_images: int) -> str:
    """The lifecycle policy of every repository, as ECR's JSON.

    Two rules over disjoint sets of images, so their order does not change what expires:
    untagged images go `untagged_expiry_days` after push; of the tagged ones (`tagged`
    needs a pattern, and `*` matches every tag), only the newest `keep_tagged_images` stay.
    No rule uses `any`, which ECR would require to come last.
    """
    rules = [
        {
            "rulePriority": 1,
            "description": f"Expire untagged images {untagged_expiry_days} days after push",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": untagged_expiry_days,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": f"Keep only the last {keep_tagged_images} tagged images",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["*"],
                "countType": "imageCountMoreThan",
                "countNumber": keep_tagged_images,
            },
            "action": {"type": "expire"},
        },
    ]
    return json.dumps({"rules": rules}, sort_keys=True)


def problems(name: str, args: RegistryArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("Registry", name)
    prefix_ok = check.against(_PREFIX, "prefix", args.prefix)
    _check_services(check, args, prefix_ok)
    check.against(_KEEP_TAGGED, "keep_tagged_images", args.keep_tagged_images)
    check.against(_UNTAGGED_EXPIRY, "untagged_expiry_days", args.untagged_expiry_days)
    return check.found


def _check_services(check: Problems, args: RegistryArgs, prefix_ok: bool) -> None:
    if not check.check(
        not isinstance(args.services, str),
        "services",
        args.services,
        "a list of service names, not one string",
    ):
        return
    services = list(args.services)
    check.check(bool(services), "services", services, "at least one service")
    seen: set[str] = set()
    for index, service in enumerate(services):
        where = f"services[{index}]"
        if not check.against(_SERVICE, where, service):
            continue
        check.check(service not in seen, where, service, "each service at most once")
        seen.add(service)
        full = f"{args.prefix}/{service}"
        if prefix_ok:
            check.check(
                len(full) <= _MAX_NAME,
                where,
                service,
                f"a repository name {full!r} of at most {_MAX_NAME} characters",
            )


class Registry(pulumi.ComponentResource):
    """One private ECR repository per service, `<prefix>/<service>`.

    Tags are immutable, so a tag names one image for ever and a deployment can be audited
    and rolled back by tag. Every push is scanned for vulnerabilities. Images are encrypted at
    rest (with the customer key when given). A lifecycle policy expires untagged images after
    a few days and keeps only the newest tagged ones. Repositories are never force-deleted,
    and `deletion_protection` adds Pulumi `protect`.
    """

    repository_urls: pulumi.Output[dict[str, str]]
    """Service → repository URL (`<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<service>`)."""
    repository_arns: pulumi.Output[dict[str, str]]
    """Service → repository ARN (for the push and pull policies of CI and the nodes)."""

    def __init__(
        self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        if args.kms_key_arn is None:
            encryption = aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")
        else:
            encryption = aws.ecr.RepositoryEncryptionConfigurationArgs(
                encryption_type="KMS", kms_key=args.kms_key_arn
            )
        policy = lifecycle_policy(
            untagged_expiry_days=args.untagged_expiry_days,
            keep_tagged_images=args.keep_tagged_images,
        )
        urls: dict[str, pulumi.Output[str]] = {}
        arns: dict[str, pulumi.Output[str]] = {}
        for service in args.services:
            repo_name = f"{name}-{service}"
            repo = aws.ecr.Repository(
                repo_name,
                name=f"{args.prefix}/{service}",
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                    scan_on_push=True
                ),
                encryption_configurations=[encryption],
                # Deleting a repository must never take its images with it silently.
                force_delete=False,
                tags={"Name": repo_name, **args.tags},
                opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection),
            )
            aws.ecr.LifecyclePolicy(
                f"{repo_name}-lifecycle",
                repository=repo.name,
                policy=policy,
                opts=pulumi.ResourceOptions(parent=self),
            )
            urls[service] = repo.repository_url
            arns[service] = repo.arn
        self.repository_urls = pulumi.Output.all(**urls).apply(dict)
        self.repository_arns = pulumi.Output.all(**arns).apply(dict)
        self.register_outputs(
            {"repositoryUrls": self.repository_urls, "repositoryArns": self.repository_arns}
        )
