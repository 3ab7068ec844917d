"""Tier blueprints: the two shipped files, their versions, and every refusal naming file and key."""

from __future__ import annotations

import hashlib
from importlib.resources import files

import pytest

from osp.platform import blueprints
from osp.platform.errors import SpecError
from osp.platform.spec import Profile
from osp.platform.tenancy import Tier
from osp.platform.tenancy.tiers import (
    TierBlueprint,
    UnknownTierError,
    config_parameter,
    load_tier,
    namespace,
    parse_tier,
    parse_tier_text,
    prefix,
    resource_name,
)

POOL = """\
tier: pool
description: shares everything
dns: {portals: [student]}
storage: {object_actions: [s3:GetObject]}
role: {trusted_by: services}
"""


def _text(tier: Tier) -> str:
    return files("osp.blueprints").joinpath("tenants", f"{tier.value}.yaml").read_text("utf-8")


def _problems(text: str, tier: Tier | None = None) -> str:
    with pytest.raises(SpecError) as caught:
        parse_tier_text(text, source="blueprints/tenants/x.yaml", tier=tier)
    return str(caught.value)


@pytest.mark.parametrize("tier", list(Tier))
def test_each_tier_ships_a_blueprint_whose_version_is_its_text(tier):
    blueprint = load_tier(tier)
    assert isinstance(blueprint, TierBlueprint)
    assert blueprint.tier is tier
    assert blueprint.version == hashlib.sha256(_text(tier).encode()).hexdigest()[:12]
    assert load_tier(tier) is blueprint  # read once per process


def test_the_tiers_folder_is_not_taken_for_a_service_blueprint():
    assert "tenants" not in blueprints.available()


def test_any_edit_is_a_new_version_comments_included():
    first = parse_tier_text(POOL, source="x")
    again = parse_tier_text(POOL, source="x")
    edited = parse_tier_text(POOL + "# a comment\n", source="x")
    assert first.version == again.version != edited.version
    assert len(edited.version) == 12 and int(edited.version, 16) >= 0


def test_pool_shares_and_silo_owns():
    pool, silo = load_tier(Tier.POOL), load_tier(Tier.SILO)
    for own in ("key", "bucket", "database", "namespace"):
        assert getattr(pool, own) is None
        assert getattr(silo, own) is not None
    assert pool.dns.portals == silo.dns.portals == ("student", "www")
    assert "backups" in pool.storage.exclude_buckets


def test_silo_database_per_profile_is_multi_az_in_prod_only():
    database = load_tier(Tier.SILO).database
    assert set(database.profiles) == set(Profile)
    assert database.profiles[Profile.PROD].multi_az
    assert not database.profiles[Profile.DEV].multi_az


def test_silo_namespace_is_bounded():
    ns = load_tier(Tier.SILO).namespace
    hard = ns.quota.hard()
    assert {"requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "pods"} <= set(hard)
    assert all(isinstance(v, str) for v in hard.values())
    assert ns.limit_range.default.cpu and ns.limit_range.default_request.memory


def test_fixed_names():
    assert prefix("springfield") == "tenants/springfield/"
    assert namespace("springfield") == "tenant-springfield"
    assert config_parameter("prod", "springfield") == "/osp/prod/tenants/springfield/config"
    assert resource_name("prod", "springfield", "db") == "osp-prod-tenant-springfield-db"
    assert resource_name("prod", "springfield") == "osp-prod-tenant-springfield"


def test_unknown_tier():
    with pytest.raises(UnknownTierError, match="unknown tier 'gold'; expected one of: pool, silo"):
        load_tier("gold")


def test_unknown_keys_are_refused_naming_file_line_and_key():
    message = _problems(POOL.replace("{portals: [student]}", "{portals: [student], tll: 60}"))
    assert "blueprints/tenants/x.yaml:3: dns.tll: unknown key 'tll'" in message
    message = _problems(POOL + "colour: blue\n")
    assert "blueprints/tenants/x.yaml:6: colour: unknown key 'colour'" in message


def test_every_problem_at_once():
    text = POOL.replace("s3:GetObject", "s3:*").replace("services", "everyone")
    message = _problems(text)
    assert "x.yaml:4: storage.object_actions[0]: got 's3:*'; expected one S3 object action" in (
        message
    )
    assert "x.yaml:5: role.trusted_by: got 'everyone'; expected one of 'services', 'account'" in (
        message
    )


def test_the_file_must_state_its_own_tier():
    message = _problems(POOL, tier=Tier.SILO)
    assert "x.yaml:1: tier: got 'pool'; expected 'silo', the tier the file is named after" in (
        message
    )


def test_a_silo_needs_all_it_owns_and_a_pool_owns_nothing():
    message = _problems(POOL.replace("tier: pool", "tier: silo"))
    assert "a silo tier has no key, bucket, database, namespace" in message
    message = _problems(POOL + "key: {deletion_window_days: 7}\n")
    assert "a pool tier has key; expected none" in message


def test_silo_quantities_and_profiles_are_checked():
    text = _text(Tier.SILO)
    assert "dns.portals: got []; expected at least one" in _problems(
        text.replace("portals: [student, www]", "portals: []")
    )
    assert "expected at least requests.cpu" in _problems(text.replace("    pods: 60\n", ""))
    assert "unknown key 'pod'; did you mean 'pods'?" in _problems(
        text.replace("    pods: 60", "    pod: 60")
    )
    assert "database.profiles.prod.instance_class: got 'm7g.large'" in _problems(
        text.replace("db.m7g.large", "m7g.large")
    )
    assert "expected default_request <= default <= max" in _problems(
        text.replace('max: {cpu: "2"', "max: {cpu: 100m")
    )
    assert "max 1 is below min 2; expected at least it" in _problems(
        text.replace("prod: {min: 2, max: 3}", "prod: {min: 2, max: 1}")
    )
    assert "replicas has no staging" in _problems(
        text.replace("    staging: {min: 1, max: 2}\n", "")
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "got an empty document"),
        ("- a\n", "got 'list'"),
        ("tier: [\n", "not valid YAML"),
        (POOL + "tier: silo\n", "tier: key appears twice"),
    ],
)
def test_malformed_files(text, expected):
    assert expected in _problems(text)


def test_a_file_elsewhere_is_named_by_its_path(tmp_path):
    path = tmp_path / "pool.yaml"
    path.write_text(POOL, encoding="utf-8")
    assert parse_tier(path).version == parse_tier_text(POOL, source="x").version
    path.write_text(POOL.replace("services", "nobody"), encoding="utf-8")
    with pytest.raises(SpecError, match=rf"{path}:5: role.trusted_by: got 'nobody'"):
        parse_tier(path)
