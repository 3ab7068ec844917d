"""CI runs exactly the test command README.md gives; the README opens with its two commands."""

from __future__ import annotations

import re

from tests.support import REPO


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    return re.findall(r"```sh\n(.+?)\n```", text)


def test_readme_opens_with_the_preview_and_the_test_command():
    preview, tests = _readme_commands()[:2]
    assert preview.endswith("osp preview --env prod --offline")
    # On every core (pytest-xdist): the suite's goal is three minutes on two.
    assert tests.endswith("python -m pytest -n auto")


def test_ci_runs_the_readme_test_command_verbatim():
    test_command = _readme_commands()[1]
    ci_lines = (REPO / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines
