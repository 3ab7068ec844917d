"""A policy check's report as data for machines and pages: JSON, Markdown, SARIF 2.1.0.

JSON is osp's own shape (one object per finding, the summary, the waivers); Markdown is what
a pull-request comment or an auditor's report embeds; SARIF is what GitHub code scanning (and
any SARIF viewer) reads: one result per failing or waived finding, located at the stack file
the environment comes from, the resource named as its logical location, a waived finding
carrying its waiver as an accepted suppression.
"""

from __future__ import annotations

import hashlib
from typing import Any

from osp.platform.policy.evaluation import Finding, Report
from osp.platform.policy.model import Outcome, Rule, Severity

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "osp"

#: SARIF levels, and GitHub code scanning's numeric security severity, by osp severity.
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
}
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}


def rule_data(rule: Rule) -> dict[str, Any]:
    """One catalogue entry (`osp policy list --json`)."""
    return {
        "id": rule.id,
        "title": rule.title,
        "severity": rule.severity.value,
        "controls": list(rule.controls),
        "rationale": rule.rationale,
        "fix": rule.fix,
        "resourceTypes": list(rule.types),
    }


def finding_data(finding: Finding) -> dict[str, Any]:
    resource = finding.resource
    data: dict[str, Any] = {
        "rule": finding.rule.id,
        "severity": finding.rule.severity.value,
        "outcome": finding.outcome.value,
        "resource": resource.name,
        "type": resource.type,
        "urn": resource.urn,
        "detail": finding.detail,
        "evidence": [{"path": e.path, "value": e.value} for e in finding.evidence],
        "controls": list(finding.rule.controls),
    }
    if finding.waiver is not None:
        data["waiver"] = {**waiver_data(finding.waiver), "expired": finding.waiver_expired}
    return data


def waiver_data(waiver: Any) -> dict[str, Any]:
    return {
        "rule": waiver.rule,
        "resource": waiver.resource,
        "reason": waiver.reason,
        "expires": waiver.expires.isoformat(),
        "approvedBy": waiver.approved_by,
    }


def to_json(report: Report, *, fail_on: Severity) -> dict[str, Any]:
    """The whole report: summary, failing and waived findings, passes counted, waivers."""
    failing = report.failing(fail_on)
    return {
        "environment": report.environment,
        "checkedOn": report.checked_on.isoformat(),
        "failOn": fail_on.value,
        "passed": not failing,
        "summary": {s.value: counts for s, counts in report.summary().items()},
        "findings": [finding_data(f) for f in report.findings if f.outcome is not Outcome.PASSED],
        "notApplicable": [r.id for r in report.not_applicable()],
        "waivers": [
            {**waiver_data(u.waiver), "matched": u.matched, "expired": u.expired}
            for u in report.waivers
        ],
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report, *, fail_on: Severity, title: str | None = None) -> str:
    """A page section: the verdict, the summary table, each failure and waiver."""
    failing = report.failing(fail_on)
    lines = [f"### {title or f'Guardrails: {report.environment}'}", ""]
    verdict = (
        f"**{len(failing)} failing** at or above {fail_on.value}"
        if failing
        else f"**Passed**: nothing fails at or above {fail_on.value}"
    )
    lines += [verdict, "", "| severity | passed | failed | waived | not applicable |"]
    lines.append("| --- | ---: | ---: | ---: | ---: |")
    for severity, counts in report.summary().items():
        lines.append(
            f"| {severity.value} | {counts['passed']} | {counts['failed']} | "
            f"{counts['waived']} | {counts['not-applicable']} |"
        )
    failures = report.failing()
    if failures:
        lines += [
            "",
            "| rule | severity | resource | evidence | fix |",
            "| --- | --- | --- | --- | --- |",
        ]
        for f in failures:
            evidence = "; ".join(str(e) for e in f.evidence)
            what = f"{f.detail}: {evidence}" if f.detail and evidence else f.detail or evidence
            if f.waiver_expired:
                what += f" (waiver expired {f.waiver.expires.isoformat()})"  # type: ignore[union-attr]
            lines.append(
                f"| {f.rule.id} {_cell(f.rule.title)} | {f.rule.severity.value} | "
                f"`{f.resource.name}` | {_cell(what)} | {_cell(f.rule.fix)} |"
            )
    if report.waivers:
        lines += ["", "| waiver | resource | reason | approved by | expires | matched |"]
        lines.append("| --- | --- | --- | --- | --- | ---: |")
        for use in report.waivers:
            w = use.waiver
            expires = w.expires.isoformat() + (" (expired)" if use.expired else "")
            lines.append(
                f"| {w.rule} | `{_cell(w.resource)}` | {_cell(w.reason)} | "
                f"{_cell(w.approved_by)} | {expires} | {use.matched} |"
            )
    return "\n".join(lines) + "\n"


def to_sarif(report: Report, *, source: str) -> dict[str, Any]:
    """SARIF 2.1.0: every rule in the driver, a result per failing or waived finding."""
    rules = list(report.rules)
    index = {rule.id: i for i, rule in enumerate(rules)}
    results = [
        _result(f, index[f.rule.id], source)
        for f in report.findings
        if f.outcome is not Outcome.PASSED
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "rules": [_sarif_rule(rule) for rule in rules],
                    }
                },
                "automationDetails": {"id": f"osp-policy/{report.environment}/"},
                "results": results,
            }
        ],
    }


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.title.split()),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {"text": rule.fix, "markdown": f"**Fix:** {rule.fix}"},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "tags": ["security", *rule.controls],
            "security-severity": _SECURITY_SEVERITY[rule.severity],
            "precision": "high",
        },
    }


def _result(finding: Finding, rule_index: int, source: str) -> dict[str, Any]:
    resource = finding.resource
    evidence = "; ".join(str(e) for e in finding.evidence)
    text = f"{resource.name} ({resource.type}): {finding.detail or finding.rule.title}"
    if evidence:
        text += f" [{evidence}]"
    result: dict[str, Any] = {
        "ruleId": finding.rule.id,
        "ruleIndex": rule_index,
        "level": _LEVEL[finding.rule.severity],
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": source},
                    "region": {"startLine": 1},
                },
                "logicalLocations": [
                    {"name": resource.name, "fullyQualifiedName": resource.urn, "kind": "resource"}
                ],
            }
        ],
        # Stable across runs, so code scanning tracks one alert per rule and resource.
        "partialFingerprints": {
            "ospFinding/v1": hashlib.sha256(
                f"{finding.rule.id}\0{resource.urn}".encode()
            ).hexdigest()
        },
    }
    if finding.outcome is Outcome.WAIVED and finding.waiver is not None:
        w = finding.waiver
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{w.reason} (approved by {w.approved_by}, until "
                f"{w.expires.isoformat()})",
            }
        ]
    return result
