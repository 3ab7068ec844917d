"""The report's three formats, from its facts: JSON (for machines), Markdown (for a wiki or a
pull request, with a Mermaid diagram) and HTML (one self-contained file, images inline).

The Markdown and HTML come from the Jinja2 templates in blueprints/report/.
"""

from __future__ import annotations

import base64
import json
import re
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup, escape

#: The report's templates and JSON Schema, in the bundled blueprints.
TEMPLATES = "report"


def to_json(facts: dict[str, Any]) -> str:
    return json.dumps(facts, indent=2, ensure_ascii=False) + "\n"


def to_markdown(facts: dict[str, Any]) -> str:
    return _environment(html=False).get_template("report.md.j2").render(r=facts)


def to_html(facts: dict[str, Any], png: bytes | None, note: str | None) -> str:
    """The Markdown report as one HTML page: the Mermaid diagram (which needs a script to
    draw) replaced by `png`, embedded as a data: URI, or by `note`, saying why there is none.
    Raw HTML in the Markdown is escaped, never passed through."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    fence = parser.renderer.rules["fence"]

    def diagram(tokens, index, options, env):
        if tokens[index].info.strip() != "mermaid":
            return fence(tokens, index, options, env)
        if png is None:
            return f'<p class="note">{escape(note or "No diagram.")}</p>\n'
        data = base64.b64encode(png).decode()
        return (
            f'<figure><img alt="Architecture of {escape(facts["summary"]["environment"])}" '
            f'src="data:image/png;base64,{data}"></figure>\n'
        )

    parser.renderer.rules["fence"] = diagram
    body = Markup(parser.render(to_markdown(facts)))
    return _environment(html=True).get_template("report.html.j2").render(r=facts, body=body)


def schema() -> dict[str, Any]:
    """The JSON Schema the JSON report validates against."""
    return json.loads(_folder().joinpath("report.schema.json").read_text(encoding="utf-8"))


def _folder():
    from importlib.resources import files

    return files("osp.blueprints").joinpath(TEMPLATES)


_MERMAID_ID = re.compile(r"[^A-Za-z0-9_]")


def _cell(value: Any) -> str:
    """A Markdown table cell: pipes escaped, one line."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value) or "–"
    text = str(value)
    return text.replace("|", "\\|").replace("\n", " ") if text else "–"


def _yes(value: Any) -> str:
    if value is None:
        return "n/a"
    return "yes" if value else "no"


@cache
def _environment(*, html: bool) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: _folder().joinpath(name).read_text(encoding="utf-8")
        ),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["cell"] = _cell
    environment.filters["yes"] = _yes
    environment.filters["mermaid_id"] = lambda name: _MERMAID_ID.sub("_", str(name))
    return environment
