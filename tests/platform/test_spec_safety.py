"""What the spec, project and catalogue loaders refuse or warn about (issue 14): YAML bombs and
oversized files, a profile-named environment with another profile, weakened protective
stances, colliding environments, unconsumed events, project-local blueprints."""

from __future__ import annotations

import shutil
import textwrap
import time
from pathlib import Path

import pytest

from osp.platform import blueprints, limits
from osp.platform.catalogue import catalogue_warnings, load_catalogue, parse_catalogue_text
from osp.platform.errors import ProjectError, SpecError
from osp.platform.project import find_project
from osp.platform.spec import (
    Profile,
    load_environment,
    parse_stack_file,
    spec_warnings,
)
from osp.platform.spec.positions import load_document
from osp.platform.spec.warnings import collisions, weakened_stances
from tests.support import REPO

SOURCE = "stacks/Pulumi.prod.yaml"
ADMIN = "arn:aws:iam::123456789012:role/platform-admin"
#: Nine levels of nine aliases: 760 bytes that would expand to nearly 400 million values.
LAUGHS = (
    "config:\n  l0: &l0 ["
    + ", ".join(['"lol"'] * 9)
    + "]\n"
    + "".join(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 9))
)


def project_with(tmp_path: Path, stack_files: dict[str, str]) -> Path:
    """A throwaway project: the repository's Pulumi.yaml and the stack files given."""
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    for env, text in stack_files.items():
        (tmp_path / "stacks" / f"Pulumi.{env}.yaml").write_text(textwrap.dedent(text))
    return tmp_path


def stack(domain: str = "school.example.com", cidr: str = "10.30.0.0/16", extra: str = "") -> str:
    return (
        f"config:\n  aws:region: eu-west-2\n  osp:domain: {domain}\n"
        f"  osp:network: {{cidr: {cidr}}}\n  osp:cluster: {{admin_role_arns: [{ADMIN}]}}\n" + extra
    )


def refusal(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_stack_file(text, environment="prod", source=SOURCE)
    return caught.value.problems


# --- item 3: refused before parsing ------------------------------------------------------


def test_a_billion_laughs_is_refused_fast_naming_the_file_and_line():
    assert len(LAUGHS) < 800
    started = time.monotonic()
    found = refusal(LAUGHS)
    assert time.monotonic() - started < 1
    assert found == [
        f"{SOURCE}:6: refused: the document expands to more than "
        f"{limits.YAML_MAX_NODES:,} values (nested aliases repeat what they name); expected a "
        "document that states its values, with few aliases"
    ]


def test_a_catalogue_bomb_is_refused_the_same_way():
    with pytest.raises(SpecError) as caught:
        parse_catalogue_text(LAUGHS, source="blueprints/x/blueprint.yaml")
    assert caught.value.problems[0].startswith("blueprints/x/blueprint.yaml:6: refused:")


def test_a_file_above_the_size_limit_is_refused_before_it_is_parsed():
    text = stack() + "# padding\n" * (limits.YAML_MAX_BYTES // 10)
    started = time.monotonic()
    assert refusal(text) == [
        f"{SOURCE}: refused: the file is {len(text):,} bytes; expected at most "
        f"{limits.YAML_MAX_BYTES:,} (osp's own files are a few KiB)"
    ]
    assert time.monotonic() - started < 1


def test_nesting_beyond_the_limit_is_refused_not_a_crash():
    # Ten thousand levels would exhaust the YAML composer's recursion.
    assert refusal("config:\n  x: " + "[" * 10_000 + "]" * 10_000 + "\n") == [
        f"{SOURCE}:2: refused: mappings and lists are nested more than {limits.YAML_MAX_DEPTH} "
        f"deep; expected at most {limits.YAML_MAX_DEPTH} levels"
    ]


def test_an_alias_inside_what_it_names_is_refused():
    assert refusal("config: &c\n  x: *c\n") == [
        f"{SOURCE}:2: refused: alias *c lies inside the value it names, which would repeat "
        "without end; expected aliases of finished values only"
    ]


def test_a_few_aliases_are_still_fine():
    spec = parse_stack_file(
        stack(extra="  osp:tags: &t {team: a}\n  osp:monitoring: {alarm_emails: [a@b.co]}\n"),
        environment="prod",
        source=SOURCE,
    )
    assert spec.tags == {"team": "a"}


def test_a_text_read_twice_gives_each_caller_a_document_of_its_own():
    # Parsed once per process (one command reads a blueprint several times): the second
    # caller must not see what the first did to its copy.
    text = "config:\n  osp:tags: {team: a}\n  items: [1, 2]\n"
    first, where = load_document(text, SOURCE)
    first["config"]["osp:tags"]["team"] = "changed"
    first["config"]["items"].append(3)
    second, again = load_document(text, SOURCE)
    assert second == {"config": {"osp:tags": {"team": "a"}, "items": [1, 2]}}
    assert again.line(("config", "items")) == where.line(("config", "items")) == 3
    changed, _ = load_document(text.replace("team: a", "team: b"), SOURCE)
    assert changed["config"]["osp:tags"] == {"team": "b"}


def test_a_refused_text_is_refused_every_time_it_is_read():
    for _ in range(2):
        with pytest.raises(SpecError):
            load_document(LAUGHS, SOURCE)


def test_the_bundled_files_sit_well_inside_the_limits():
    for path in (REPO / "blueprints").rglob("*.yaml"):
        assert path.stat().st_size < limits.YAML_MAX_BYTES / 10, path


# --- item 2: profiles ---------------------------------------------------------------------


def test_an_environment_named_after_a_profile_takes_no_other():
    assert refusal(stack(extra="  osp:profile: dev\n")) == [
        f"{SOURCE}:6: osp:profile: got 'dev'; expected 'prod' or no osp:profile: an environment "
        "named after a profile takes that profile (name the environment otherwise, such as "
        "prod-dev, to give it the dev defaults)"
    ]
    spec = parse_stack_file(stack(extra="  osp:profile: prod\n"), environment="prod", source="x")
    assert spec.profile is Profile.PROD


def test_weakened_stances_name_the_key_the_presets_value_and_the_files():
    spec = parse_stack_file(
        stack(
            extra="  osp:deletion_protection: false\n"
            "  osp:database: {multi_az: false, backup_retention_days: 7}\n"
            "  osp:secrets: {recovery_window_days: 0}\n"
            "  osp:cluster: {admin_role_arns: ["
            + ADMIN
            + "], workload_pool: {capacity_type: SPOT}}\n"
        ).replace(f"  osp:cluster: {{admin_role_arns: [{ADMIN}]}}\n", "", 1),
        environment="prod",
        source=SOURCE,
    )
    assert weakened_stances(spec, blueprints.preset("prod")) == [
        ("osp:deletion_protection", True, False),
        ("osp:database.multi_az", True, False),
        ("osp:database.backup_retention_days", 35, 7),
        ("osp:cluster.workload_pool.capacity_type", "ON_DEMAND", "SPOT"),
        ("osp:secrets.recovery_window_days", 30, 0),
    ]


def test_turning_off_the_audit_dns_and_recovery_stances_of_prod_is_named():
    spec = parse_stack_file(
        stack(
            extra="  osp:audit: {guardduty: false, retention_days: 30}\n"
            "  osp:dns: {dnssec: false}\n"
            "  osp:dr: {cross_region: false, daily_retention_days: 14, "
            "vault_lock_min_retention_days: 7}\n"
        ),
        environment="prod",
        source=SOURCE,
    )
    assert weakened_stances(spec, blueprints.preset("prod")) == [
        ("osp:audit.guardduty", True, False),
        ("osp:audit.retention_days", 365, 30),
        ("osp:dns.dnssec", True, False),
        ("osp:dr.cross_region", True, False),
        ("osp:dr.daily_retention_days", 35, 14),
        ("osp:dr.vault_lock_min_retention_days", 35, 7),
    ]


def test_stronger_than_the_preset_is_no_warning():
    spec = parse_stack_file(
        "config:\n  aws:region: eu-west-2\n  osp:domain: a.example.com\n"
        f"  osp:cluster: {{admin_role_arns: [{ADMIN}]}}\n  osp:database: {{multi_az: true}}\n",
        environment="dev",
        source="x",
    )
    assert weakened_stances(spec, blueprints.preset("dev")) == []


def test_the_repositorys_environments_have_no_warnings():
    project = find_project(REPO)
    for env in project.environments():
        assert spec_warnings(project, load_environment(project, env)) == ()


def test_spec_warnings_give_the_stack_files_line(tmp_path):
    project = find_project(
        project_with(tmp_path, {"prod": stack(extra="  osp:network: {nat: single}\n")})
    )
    # The second osp:network replaces nothing: YAML keeps the last, osp reports duplicates.
    with pytest.raises(SpecError):
        load_environment(project, "prod")
    (tmp_path / "stacks" / "Pulumi.prod.yaml").write_text(
        stack().replace("{cidr: 10.30.0.0/16}", "{cidr: 10.30.0.0/16, nat: single}")
    )
    spec = load_environment(project, "prod")
    assert [w.render() for w in spec_warnings(project, spec)] == [
        "stacks/Pulumi.prod.yaml:4: osp:network.nat: weakens the prod profile's protection: got "
        "'single'; the preset (blueprints/presets/prod.yaml (bundled)) has 'per-az'"
    ]


# --- item 5: every problem at once ------------------------------------------------------


def test_a_profile_alone_reports_every_missing_key_at_once():
    with pytest.raises(SpecError) as caught:
        parse_stack_file("config:\n  osp:profile: dev\n", environment="dev", source="s.yaml")
    assert [p.split(": ")[1] for p in caught.value.problems] == [
        "aws:region",
        "osp:domain",
        "osp:cluster.admin_role_arns",
    ]


def test_missing_keys_are_reported_with_a_bad_profile_too():
    with pytest.raises(SpecError) as caught:
        parse_stack_file("config:\n  osp:profile: qa\n", environment="perf", source="s.yaml")
    assert [p.split(": ")[1] for p in caught.value.problems] == [
        "aws:region",
        "osp:domain",
        "osp:cluster.admin_role_arns",
        "osp:profile",
    ]


@pytest.mark.parametrize(
    ("environment", "keys"),
    [
        ("dev", "aws:region, osp:domain, osp:cluster.admin_role_arns"),
        ("perf", "aws:region, osp:domain, osp:cluster.admin_role_arns, osp:profile"),
    ],
)
@pytest.mark.parametrize("text", ["", "# nothing yet\n"])
def test_an_empty_file_says_so_and_lists_every_required_key(environment, keys, text):
    with pytest.raises(SpecError) as caught:
        parse_stack_file(text, environment=environment, source="s.yaml")
    assert caught.value.problems == [
        "s.yaml: the file is empty; expected a Pulumi stack file whose 'config:' section states "
        f"at least {keys}"
    ]


# --- item 6: the true source of an error ------------------------------------------------


def test_the_environment_variable_is_named_not_the_option(monkeypatch, tmp_path):
    monkeypatch.setenv("OSP_PROJECT_DIR", str(tmp_path / "nope"))
    with pytest.raises(ProjectError) as caught:
        find_project()
    assert str(caught.value).startswith(f"OSP_PROJECT_DIR: '{tmp_path / 'nope'}' holds no")
    with pytest.raises(ProjectError) as caught:
        find_project(tmp_path / "other")
    assert str(caught.value).startswith("--project-dir: ")


# --- item 7: colliding environments ------------------------------------------------------


def test_collisions_name_both_files(tmp_path):
    project = find_project(
        project_with(
            tmp_path,
            {
                "prod": stack(),
                "qa": stack(cidr="10.30.128.0/20", extra="  osp:profile: staging\n"),
                "perf": stack(domain="perf.example.com", extra="  osp:profile: staging\n"),
            },
        )
    )
    prod = load_environment(project, "prod")
    others = {env: load_environment(project, env) for env in ("qa", "perf")}
    assert collisions(prod, others) == [
        ("osp:network.cidr", "perf", "10.30.0.0/16"),
        ("osp:domain", "qa", "school.example.com"),
        ("osp:network.cidr", "qa", "10.30.128.0/20"),
    ]
    rendered = [w.render() for w in spec_warnings(project, others["perf"])]
    assert rendered == [
        "stacks/Pulumi.perf.yaml:4: osp:network.cidr: 10.30.0.0/16 overlaps 10.30.0.0/16 of "
        "stacks/Pulumi.prod.yaml; expected a block of its own per environment (overlapping VPCs "
        "cannot be peered or routed between)",
        "stacks/Pulumi.perf.yaml:4: osp:network.cidr: 10.30.0.0/16 overlaps 10.30.128.0/20 of "
        "stacks/Pulumi.qa.yaml; expected a block of its own per environment (overlapping VPCs "
        "cannot be peered or routed between)",
    ]
    assert [w.path for w in spec_warnings(project, prod)] == [
        "osp:network.cidr",
        "osp:domain",
        "osp:network.cidr",
    ]


def test_an_invalid_neighbour_is_left_to_its_own_commands(tmp_path):
    project = find_project(project_with(tmp_path, {"prod": stack(), "qa": "config: [\n"}))
    assert spec_warnings(project, load_environment(project, "prod")) == ()


# --- item 8: catalogue events nobody consumes --------------------------------------------


def test_an_event_nobody_consumes_is_a_warning_naming_event_and_publisher(tmp_path):
    text = (REPO / "blueprints" / "learning-hub" / "blueprint.yaml").read_text()
    consumer = (
        '      consumes:\n        - payment-completed from payment  # §7 "Payment → Enrollment: '
        'Process course access"\n'
    )
    assert consumer in text
    folder = tmp_path / "blueprints" / "learning-hub"
    folder.mkdir(parents=True)
    (folder / "blueprint.yaml").write_text(text.replace(consumer, ""))
    library = blueprints.library(tmp_path)
    line = next(
        i
        for i, row in enumerate(text.replace(consumer, "").splitlines(), 1)
        if "publishes: [payment-completed]" in row
    )
    assert [w.render() for w in catalogue_warnings("learning-hub", library)] == [
        f"blueprints/learning-hub/blueprint.yaml:{line}: services.payment.uses.publishes[0]: "
        "event 'payment-completed' is published by payment and consumed by no service; "
        "expected a consumer stating 'payment-completed from payment' (a consumer's misspelt "
        "event, or an event nobody needs)"
    ]
    assert load_catalogue("learning-hub", library).events["payment-completed"].consumers == ()


@pytest.mark.parametrize("blueprint", blueprints.available())
def test_the_bundled_catalogues_have_no_unconsumed_event(blueprint):
    assert catalogue_warnings(blueprint) == []


# --- item 16: project-local blueprints ---------------------------------------------------


def test_the_repository_is_a_project_whose_blueprints_are_the_bundled_ones():
    library = find_project(REPO).root / "blueprints"
    spec = load_environment(find_project(REPO), "prod")
    assert spec.library.folder == library.resolve()
    assert spec.library.names() == blueprints.available()
    assert load_catalogue("osp", spec.library) == load_catalogue("osp")


def test_a_projects_own_blueprints_and_presets_come_first(tmp_path):
    root = project_with(tmp_path, {"dev": stack(extra="  osp:blueprint: my-school\n")})
    own = root / "blueprints"
    (own / "my-school").mkdir(parents=True)
    (own / "my-school" / "blueprint.yaml").write_text(
        (REPO / "blueprints" / "learning-hub" / "blueprint.yaml")
        .read_text()
        .replace("name: learning-hub", "name: my-school", 1)
    )
    (own / "presets").mkdir()
    (own / "presets" / "dev.yaml").write_text(
        (REPO / "blueprints" / "presets" / "dev.yaml")
        .read_text()
        .replace("zone_count: 2", "zone_count: 3")
    )
    project = find_project(root)
    spec = load_environment(project, "dev")
    assert spec.blueprint == "my-school" and len(spec.zones) == 3
    assert spec.library.names() == (
        "code-learn",
        "learning-hub",
        "learning-platform",
        "lms",
        "my-school",
        "osp",
    )
    assert spec.library.catalogue_file("my-school").describe() == (
        "blueprints/my-school/blueprint.yaml"
    )
    assert spec.library.catalogue_file("osp").describe() == (
        "blueprints/osp/blueprint.yaml (bundled)"
    )
    assert spec.library.preset_file("dev").describe() == "blueprints/presets/dev.yaml"
    assert spec.library.preset_file("prod").describe() == "blueprints/presets/prod.yaml (bundled)"
    assert load_catalogue("my-school", spec.library).name == "my-school"
    # Without the project, the blueprint does not exist.
    with pytest.raises(SpecError) as caught:
        parse_stack_file(stack(extra="  osp:blueprint: my-school\n"), environment="dev", source="x")
    assert "osp:blueprint: got 'my-school'; expected one of the blueprints available: " in str(
        caught.value
    )


def test_a_projects_own_preset_is_read_with_the_same_limits(tmp_path):
    root = project_with(tmp_path, {"dev": stack()})
    (root / "blueprints" / "presets").mkdir(parents=True)
    (root / "blueprints" / "presets" / "dev.yaml").write_text(LAUGHS.replace("config:", "x:"))
    with pytest.raises(SpecError) as caught:
        load_environment(find_project(root), "dev")
    assert caught.value.problems[0].startswith("blueprints/presets/dev.yaml:6: refused:")


def test_the_estate_program_plans_the_projects_own_blueprint(tmp_path):
    from osp.platform.engine import offline
    from osp.stacks.estate import build

    root = project_with(tmp_path, {"dev": stack(extra="  osp:blueprint: my-school\n")})
    (root / "blueprints" / "my-school").mkdir(parents=True)
    (root / "blueprints" / "my-school" / "blueprint.yaml").write_text(
        (REPO / "blueprints" / "learning-hub" / "blueprint.yaml")
        .read_text()
        .replace("name: learning-hub", "name: my-school", 1)
    )
    # Only the project holds my-school: a program reading osp's own blueprints would fail.
    plan = offline.run(load_environment(find_project(root), "dev"), build)
    assert plan.blueprint == "my-school"
    assert [r for r in plan.resources if r.type == "aws:lb/targetGroup:TargetGroup"]
