"""The guardrail catalogue: every rule osp checks, one module per area.

`RULES` is the catalogue (a tuple of osp.platform.policy.model.Rule) in id order; `osp policy
list` prints it, `osp policy check` and the CrossGuard pack (policy/) run it.
"""

from __future__ import annotations

from osp.platform.policy.rules import data_stores

RULES = tuple(sorted((*data_stores.RULES,), key=lambda rule: rule.id))

__all__ = ["RULES"]
