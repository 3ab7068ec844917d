"""What every part of the estate's composition needs: the spec, the catalogue, names, tags."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from osp.platform import naming
from osp.platform.catalogue import Catalogue
from osp.platform.naming import NameKind
from osp.platform.spec import EnvironmentSpec


@dataclass(frozen=True)
class Context:
    spec: EnvironmentSpec
    catalogue: Catalogue

    @property
    def protect(self) -> bool:
        return self.spec.deletion_protection

    def tags(self, component: str) -> dict[str, str]:
        spec = self.spec
        return naming.standard_tags(
            environment=spec.name, component=component, blueprint=spec.blueprint, extra=spec.tags
        )

    @property
    def prefix(self) -> str:
        """`osp-<env>`: the start of every physical name of the environment."""
        return f"{naming.PROJECT}-{self.spec.name}"

    def name(self, role: str, kind: NameKind = NameKind.GENERIC) -> str:
        return naming.physical_name(self.spec.name, role, kind)

    def bucket_name(self, purpose: str) -> str:
        """`osp-<env>-<purpose>-<8 hex>`: S3 names are global, so a suffix from the domain
        (required, and fixed for the environment's life, unlike an optional account id) keeps
        two installations of osp from claiming the same names."""
        suffix = hashlib.sha256(self.spec.domain.encode()).hexdigest()[:8]
        return self.name(f"{purpose}-{suffix}", NameKind.S3_BUCKET)

    def hostname(self, label: str) -> str:
        return f"{label}.{self.spec.domain}"
