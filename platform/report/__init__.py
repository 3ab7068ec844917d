"""Auditor reports: what an environment's plan holds, how it is protected, who can reach what,
and which guardrails pass, as JSON, Markdown and one self-contained HTML page, with an
architecture diagram (PNG, SVG).

    produced = produce(project, "prod", program=estate.build, offline=True, now=now, version=v)
    produced.files   # {"report.json": b"...", "report.md": ..., "report.html": ..., ...}

`collect` is pure over a `Plan`, its spec and the guardrail `Report`; `produce` plans and
checks the environment as `osp policy check` does (osp.platform.policy.checking), then renders.
"""

from osp.platform.report.facts import SCHEMA_VERSION, collect, plan_hash
from osp.platform.report.producing import (
    DIAGRAM_FILES,
    FILE_NAMES,
    Format,
    Produced,
    produce,
    render,
)

__all__ = [
    "DIAGRAM_FILES",
    "FILE_NAMES",
    "SCHEMA_VERSION",
    "Format",
    "Produced",
    "collect",
    "plan_hash",
    "produce",
    "render",
]
