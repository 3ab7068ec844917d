"""What an environment's files may say but probably should not: accepted, and warned about
by every command that reads them (the CLI prints `spec_warnings` on stderr).

- a stack file that weakens a protective stance of its profile's preset (single-AZ database,
  no deletion protection, one NAT gateway, shorter backups, spot workload nodes…);
- two environments of one project that share a domain or overlapping VPC blocks;
- a catalogue event that a service publishes and no service consumes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from osp.platform.errors import OspError
from osp.platform.project import Project
from osp.platform.spec.loader import load_environment, preset_of
from osp.platform.spec.models import EnvironmentSpec
from osp.platform.spec.positions import Positions, load_document
from osp.platform.spec.problems import SpecWarning


def _flag(value: Any) -> int:
    return int(bool(value))


def _ranked(*weakest_first: str) -> Callable[[Any], int]:
    return lambda value: weakest_first.index(str(value)) if str(value) in weakest_first else -1


def _number(value: Any) -> int:
    return int(value)


def _on_demand_only(value: Any) -> int:
    """Capacity types: any spot is weaker than on demand only."""
    return 0 if "SPOT" in value else 1


#: The stances a preset takes to protect an environment (key as a stack file writes it), and
#: how to rank a value of each: a lower rank than the preset's weakens the stance.
PROTECTIVE_STANCES: tuple[tuple[str, Callable[[Any], int]], ...] = (
    ("osp:deletion_protection", _flag),
    ("osp:network.nat", _ranked("single", "per-az")),
    ("osp:database.multi_az", _flag),
    ("osp:database.backup_retention_days", _number),
    ("osp:cache.multi_az", _flag),
    ("osp:cache.replicas", _number),
    ("osp:cache.snapshot_retention_days", _number),
    ("osp:broker.deployment_mode", _ranked("SINGLE_INSTANCE", "CLUSTER_MULTI_AZ")),
    ("osp:cluster.workload_pool.capacity_type", _ranked("SPOT", "ON_DEMAND")),
    ("osp:cluster.karpenter.capacity_types", _on_demand_only),
    ("osp:secrets.recovery_window_days", _number),
    ("osp:keys.deletion_window_days", _number),
    ("osp:storage.access_logging", _flag),
    ("osp:edge.access_logs", _flag),
    ("osp:policy.min_log_retention_days", _number),
    ("osp:logs.audit_retention_days", _number),
    ("osp:cluster.log_types", len),
    ("osp:audit.cloudtrail", _flag),
    ("osp:audit.guardduty", _flag),
    ("osp:audit.config_recorder", _flag),
    ("osp:audit.retention_days", _number),
    ("osp:dns.dnssec", _flag),
    ("osp:dns.query_logging", _flag),
    ("osp:dns.query_log_retention_days", _number),
    ("osp:dr.cross_region", _flag),
    ("osp:dr.replication_time_control", _flag),
    ("osp:dr.continuous_backup", _flag),
    ("osp:dr.daily_retention_days", _number),
    ("osp:dr.monthly_retention_days", _number),
    ("osp:dr.vault_lock_min_retention_days", _number),
)


def weakened_stances(
    spec: EnvironmentSpec, preset: Mapping[str, Any]
) -> list[tuple[str, Any, Any]]:
    """(key, preset's value, spec's value) of every protective stance `spec` weakens.

    The spec is the preset with the stack file on top, so a stance that differs is the
    file's doing. A stance the preset does not take is not judged.
    """
    values = spec.model_dump(by_alias=True, mode="json")
    found = []
    for key, rank in PROTECTIVE_STANCES:
        stated, value = _at(preset, key), _at(values, key)
        if stated is not None and value is not None and rank(value) < rank(stated):
            found.append((key, stated, value))
    return found


def collisions(
    spec: EnvironmentSpec, others: Mapping[str, EnvironmentSpec]
) -> list[tuple[str, str, str]]:
    """(key, other environment, what collides) for each of `others` that shares `spec`'s
    domain or whose VPC block overlaps its block."""
    found = []
    for name, other in sorted(others.items()):
        if name == spec.name:
            continue
        if other.domain == spec.domain:
            found.append(("osp:domain", name, spec.domain))
        if other.network.cidr.overlaps(spec.network.cidr):
            found.append(("osp:network.cidr", name, str(other.network.cidr)))
    return found


def spec_warnings(project: Project, spec: EnvironmentSpec) -> tuple[SpecWarning, ...]:
    """Every warning about the files `spec` was read from: its stack file (weakened stances,
    collisions with the project's other environments) and its blueprint's catalogue."""
    path = project.stack_file(spec.name)
    source = project.relative(path)
    where = _positions(path.read_text(encoding="utf-8"), source) if path.is_file() else Positions()
    warnings: list[SpecWarning] = []

    preset_file = spec.library.preset_file(spec.profile.value)
    for key, stated, value in weakened_stances(spec, preset_of(spec.library, spec.profile.value)):
        warnings.append(
            SpecWarning(
                source,
                key,
                f"weakens the {spec.profile} profile's protection: got {value!r}; the preset "
                f"({preset_file.describe()}) has {stated!r}",
                where.config_line(key),
            )
        )

    others: dict[str, EnvironmentSpec] = {}
    for name in project.environments():
        if name == spec.name:
            continue
        try:
            others[name] = load_environment(project, name)
        except OspError:
            continue  # its own commands report it; it collides with nothing it cannot state
    for key, name, what in collisions(spec, others):
        other = project.relative(project.stack_file(name))
        message = (
            f"{spec.domain!r} is also the domain of {other}; expected a domain of its own per "
            "environment (two environments would fight over its DNS records and certificates)"
            if key == "osp:domain"
            else f"{spec.network.cidr} overlaps {what} of {other}; expected a block of its own "
            "per environment (overlapping VPCs cannot be peered or routed between)"
        )
        warnings.append(SpecWarning(source, key, message, where.config_line(key)))

    # Imported here: the catalogue loader imports this package's YAML reader.
    from osp.platform.catalogue.loader import catalogue_warnings

    try:
        catalogue = catalogue_warnings(spec.blueprint, spec.library)
    except OspError:
        catalogue = []  # an invalid catalogue is an error where the program reads it
    warnings += catalogue
    return tuple(warnings)


def _positions(text: str, source: str) -> Positions:
    try:
        return load_document(text, source)[1]
    except OspError:
        return Positions()


def _at(data: Mapping[str, Any], key: str) -> Any:
    head, *rest = key.split(".")
    value: Any = data.get(head)
    for part in rest:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value
