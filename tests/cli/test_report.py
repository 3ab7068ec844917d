"""`osp report` through typer's CliRunner, offline."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

from typer.testing import CliRunner

from osp.cli.main import app
from tests.support import shipped_project

runner = CliRunner()


def osp(*args: str):
    project = shipped_project()
    return runner.invoke(app, [*args, "--project-dir", str(project)], env={"OSP_PROJECT_DIR": None})


def test_report_writes_the_chosen_formats_into_the_out_folder(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no Graphviz: the diagram is left out, said so
    result = osp(
        "report",
        "--env",
        "dev",
        "--offline",
        "-f",
        "json",
        "-f",
        "md",
        "--out",
        str(tmp_path / "r"),
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["report.json", "report.md"]
    assert "Graphviz's `dot` is not installed" in result.stderr
    facts = json.loads((tmp_path / "r" / "report.json").read_text())
    assert facts["summary"]["environment"] == "dev" and facts["schemaVersion"] == 1


def test_report_on_another_blueprint_offline(tmp_path: Path):
    result = osp(
        "report",
        "--env",
        "dev",
        "--offline",
        "--blueprint",
        "learning-hub",
        "-f",
        "json",
        "--out",
        str(tmp_path),
    )
    assert result.exit_code == 0, result.output
    assert (
        json.loads((tmp_path / "report.json").read_text())["summary"]["blueprint"] == "learning-hub"
    )


def test_report_refuses_bad_usage_before_planning(tmp_path: Path):
    blueprint = osp("report", "--env", "dev", "--blueprint", "learning-hub", "--out", str(tmp_path))
    assert blueprint.exit_code == 2 and "only with --offline" in blueprint.stderr
    fmt = osp("report", "--env", "dev", "--offline", "-f", "pdf", "--out", str(tmp_path))
    assert fmt.exit_code == 2 and "expected html, md or json" in fmt.stderr
    bundled = Path(str(files("osp.blueprints"))) / "report"
    inside = osp("report", "--env", "dev", "--offline", "--out", str(bundled))
    assert inside.exit_code == 2 and "the bundled blueprints" in inside.stderr
    assert not list(tmp_path.iterdir())


def test_report_files_are_written_atomically_text_and_bytes(tmp_path: Path):
    from osp.cli.output import write_atomically

    png = tmp_path / "r" / "architecture.png"
    write_atomically(png, b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    write_atomically(tmp_path / "r" / "report.md", "# dev — ünïcode\n")
    assert png.read_bytes() == b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    assert (tmp_path / "r" / "report.md").read_text(encoding="utf-8") == "# dev — ünïcode\n"
    write_atomically(png, b"short")  # a rewrite replaces the whole file
    assert png.read_bytes() == b"short"
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["architecture.png", "report.md"]
