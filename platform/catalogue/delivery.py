"""A bucket's delivery through CloudFront: which prefixes are served, and how.

    buckets:
      media:
        delivery:
          public: [branding/]     # anyone with the URL, cached at the edge
          signed: [photos/]       # only with a CloudFront signed URL (the key group's key)
          signers: [enrollment]   # services that sign those URLs: they read the private key

The estate serves the bucket at `<bucket>.<domain>` through its own CloudFront distribution,
reading the bucket through an Origin Access Control: the bucket stays private, and CloudFront
may read exactly the listed prefixes and nothing else in it. A signed prefix is served only
with a signed URL whose key is the environment's URL-signing key
(`osp:edge.url_signing_public_key`; the private half sits in Secrets Manager, filled by an
operator, readable by the signers only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import InitErrorDetails

from osp.platform import limits
from osp.platform.catalogue.models import (
    RESERVED_SUBDOMAINS,
    Name,
    _distinct,
    _error,
    _fail,
    _Model,
)

#: Hosts of the estate besides the portals and the API's that no delivered bucket may take.
_TAKEN_HOSTS = frozenset({"api-origin"})


def _prefix(value: str) -> str:
    expected = limits.CLOUDFRONT_PATH_PREFIX.problem(value)
    if expected:
        raise ValueError(f"expected {expected}")
    return value


Prefix = Annotated[str, AfterValidator(_prefix)]


class Delivery(_Model):
    """How CloudFront serves a bucket (see the module's docstring)."""

    public: Annotated[tuple[Prefix, ...], _distinct("prefix")] = Field(
        (), description="Prefixes anyone with the URL may read through CloudFront."
    )
    signed: Annotated[tuple[Prefix, ...], _distinct("prefix")] = Field(
        (), description="Prefixes served only with a CloudFront signed URL."
    )
    signers: Annotated[tuple[Name, ...], _distinct("signer")] = Field(
        (), description="Services that sign URLs: they may read the private key."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Delivery:
        errors: list[InitErrorDetails] = []
        prefixes = [*self.public, *self.signed]
        most = limits.CLOUDFRONT_MAX_CACHE_BEHAVIORS - 1
        if not prefixes or len(prefixes) > most:
            errors.append(
                _error(
                    (),
                    {"public": list(self.public), "signed": list(self.signed)},
                    f"1 to {most} prefixes in public and signed together (a CloudFront "
                    "behaviour each, beside the default one)",
                )
            )
        for index, prefix in enumerate(self.signed):
            overlaps = [p for p in self.public if p.startswith(prefix) or prefix.startswith(p)]
            if overlaps:
                errors.append(
                    _error(
                        ("signed", index),
                        prefix,
                        f"a prefix neither under nor above a public one ({overlaps[0]}): one "
                        "object is either public or signed",
                    )
                )
        if self.signed and not self.signers:
            errors.append(
                _error(("signers",), [], "at least one service that signs the signed prefixes")
            )
        if self.signers and not self.signed:
            errors.append(
                _error(
                    ("signers",),
                    list(self.signers),
                    "no signers without signed prefixes (they would read a key for nothing)",
                )
            )
        _fail("Delivery", errors)
        return self


def problems(data: Mapping[str, Any]) -> list[InitErrorDetails]:
    """References a delivery makes, read from the (unvalidated) catalogue: its signers are
    services that use the bucket, and its host `<bucket>.<domain>` is no one else's."""
    errors: list[InitErrorDetails] = []
    buckets = data.get("buckets")
    services = data.get("services")
    if not isinstance(buckets, Mapping):
        return errors
    services = services if isinstance(services, Mapping) else {}
    portals = data.get("portals") if isinstance(data.get("portals"), list) else []
    for bucket, body in buckets.items():
        delivery = body.get("delivery") if isinstance(body, Mapping) else None
        if not isinstance(delivery, Mapping):
            continue
        where = ("buckets", bucket, "delivery")
        if bucket in portals or bucket in RESERVED_SUBDOMAINS or bucket in _TAKEN_HOSTS:
            errors.append(
                _error(
                    where,
                    bucket,
                    f"a bucket whose name is no portal's or the estate's own host: it is "
                    f"served at {bucket}.<domain>",
                )
            )
        signers = delivery.get("signers")
        for index, signer in enumerate(signers if isinstance(signers, list) else []):
            if not isinstance(signer, str):
                continue
            body = services.get(signer)
            uses = body.get("uses") if isinstance(body, Mapping) else None
            used = uses.get("buckets") if isinstance(uses, Mapping) else None
            if not isinstance(used, Mapping) or bucket not in used:
                users = [
                    name
                    for name, b in services.items()
                    if isinstance(b, Mapping)
                    and isinstance(b.get("uses"), Mapping)
                    and isinstance(b["uses"].get("buckets"), Mapping)
                    and bucket in b["uses"]["buckets"]
                ]
                errors.append(
                    _error(
                        (*where, "signers", index),
                        signer,
                        f"a service that uses bucket {bucket!r}: " + (", ".join(users) or "none"),
                    )
                )
    return errors
