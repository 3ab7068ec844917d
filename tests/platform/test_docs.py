"""README.md and docs/*.md hold together: every relative link reaches a file that exists and
every `#anchor` a heading of it; the reference tables that restate code (the rule catalogue,
the plan JSON's fields) say what the code does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from osp.platform.policy import RULES
from osp.platform.project import find_project
from osp.platform.spec import load_environment
from tests.support import REPO, plan_of, project_copy

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

FENCE = re.compile(r"^( *)(```|~~~).*?^\1\2[ \t]*$", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """`text` without code: a link-like string in an example is not a link."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the page's headings (lower case, punctuation dropped, spaces
    to hyphens; a repeated heading gets -1, -2 …)."""
    found: set[str] = set()
    for line in FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"#{1,6} +(.+?) *#*$", line)
        if not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def links(page: Path) -> list[str]:
    return [
        target
        for target in LINK.findall(prose(page.read_text(encoding="utf-8")))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # https:, mailto: …
    ]


def test_the_slugs_follow_githubs_rules():
    page = REPO / "docs" / "cli.md"
    assert {"osp-preview---out-file", "the-order-of-a-command", "exit-codes"} <= anchors(page)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_and_anchor_resolves(page):
    assert links(page) or page.name != "README.md", "the README links its docs"
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading with the anchor #{anchor}")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)


def test_every_docs_page_is_reachable_from_the_readme():
    reached, frontier = set(), [REPO / "README.md"]
    while frontier:
        page = frontier.pop()
        for target in links(page):
            path = target.partition("#")[0]
            destination = (page.parent / path).resolve() if path else page
            if destination.suffix == ".md" and destination not in reached:
                reached.add(destination)
                frontier.append(destination)
    assert {page.resolve() for page in PAGES[1:]} <= reached


def table_rows(page: str, header: str) -> list[list[str]]:
    """The cells of the table of docs/`page` whose header row is `header`."""
    text = (REPO / "docs" / page).read_text(encoding="utf-8")
    table = text.split(f"\n{header}\n", 1)[1].split("\n\n", 1)[0]
    return [
        [cell.strip() for cell in line.strip("|").split(" | ")] for line in table.splitlines()[1:]
    ]


def test_the_rule_catalogue_page_lists_every_rule_as_the_code_has_it():
    documented = table_rows("guardrails.md", "| id | severity | controls | title |")
    assert documented == [
        [f"`{rule.id}`", str(rule.severity), ", ".join(rule.controls), rule.title] for rule in RULES
    ]


def test_the_plan_json_page_names_every_field_of_the_plan_and_no_other():
    document = json.loads(plan_of("dev").dumps())
    top, nested = set(), set()
    for first, _meaning in table_rows("plan-json.md", "| field | meaning |"):
        names = re.findall(r"`([^`]+)`", first)
        if first.startswith("`resources[]."):
            nested |= {name.removeprefix("resources[].") for name in names}
        else:
            top |= set(names)
    assert top == set(document)
    assert nested == set(document["resources"][0])


def test_the_documented_waiver_is_one_the_stack_file_accepts(tmp_path):
    page = (REPO / "docs" / "guardrails.md").read_text(encoding="utf-8")
    section = page.split("\n## Waivers\n", 1)[1]
    (example,) = re.findall(r"```yaml\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    project = project_copy(tmp_path, ["staging"])
    stack_file = project / "stacks" / "Pulumi.staging.yaml"
    config = yaml.safe_load(stack_file.read_text(encoding="utf-8"))
    config["config"].update(yaml.safe_load(example)["config"])
    stack_file.write_text(yaml.safe_dump(config), encoding="utf-8")

    spec = load_environment(find_project(project), "staging")
    (waiver,) = spec.policy.waivers
    assert waiver.rule == "OSP-RDS-1" and waiver.resource == "osp-staging-postgres-*"
    assert spec.policy.min_log_retention_days == 90
