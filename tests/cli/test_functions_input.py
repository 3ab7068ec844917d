"""A blueprint with a bad function, queue or schedule: `osp preview` names each problem with
its file and line, exits 1 without a traceback, and writes no plan."""

from __future__ import annotations

from typer.testing import CliRunner

from osp.cli.main import app
from tests.support import REPO


def test_a_blueprint_with_a_bad_function_is_refused_before_planning(project_copy, tmp_path):
    text = (REPO / "blueprints" / "osp" / "blueprint.yaml").read_text(encoding="utf-8")
    text = text.replace("    memory_mib: 1024\n", "    memory_mib: 64\n", 1)
    text = text.replace("        bucket: media\n", "        bucket: medai\n", 1)
    text = text.replace("    target: {queue: fee-reminders}", "    target: {queue: fee-reminder}")
    own = project_copy / "blueprints" / "osp"
    own.mkdir(parents=True)
    (own / "blueprint.yaml").write_text(text, encoding="utf-8")
    lines = text.splitlines()

    def line(fragment: str) -> int:
        return next(i for i, text in enumerate(lines, 1) if fragment in text)

    target = tmp_path / "plan.json"
    result = CliRunner().invoke(
        app,
        ["preview", "-e", "dev", "--offline", "--out", str(target),
         "--project-dir", str(project_copy)],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    source = "blueprints/osp/blueprint.yaml"
    assert result.stderr == (
        f"Error: {source}: 3 problems:\n"
        f"  {source}:{line('memory_mib: 64')}: functions.thumbnails.memory_mib: got 64; "
        "expected a memory size in MiB from 128 to 10240\n"
        f"  {source}:{line('bucket: medai')}: functions.thumbnails.trigger.upload.bucket: got "
        "'medai'; expected one of the blueprint's buckets: media, documents, reports, backups "
        "(did you mean 'media'?)\n"
        f"  {source}:{line('fee-reminder}')}: schedules.daily-fee-reminders.target.queue: got "
        "'fee-reminder'; expected one of the blueprint's queues: fee-reminders, report-runs "
        "(did you mean 'fee-reminders'?)\n"
    )
    assert "Traceback" not in result.output
    assert not target.exists()
