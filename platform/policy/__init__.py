"""Guardrails: rules over a plan, waivers from the stack file, and the report of a check.

from osp.platform.policy import RULES, context_of, evaluate
report = evaluate(plan, RULES, context_of(spec), spec.policy.waivers, today=date.today())
"""

from osp.platform.policy.evaluation import (
    Finding,
    Report,
    WaiverUse,
    check_waivers,
    context_of,
    evaluate,
)
from osp.platform.policy.model import (
    Check,
    Context,
    Evidence,
    Outcome,
    Rule,
    Scope,
    Severity,
)
from osp.platform.policy.rules import RULES

__all__ = [
    "RULES",
    "Check",
    "Context",
    "Evidence",
    "Finding",
    "Outcome",
    "Report",
    "Rule",
    "Scope",
    "Severity",
    "WaiverUse",
    "check_waivers",
    "context_of",
    "evaluate",
]
