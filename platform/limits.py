"""Closed sets of values AWS accepts, shared by the spec's validation and the components."""

from __future__ import annotations

#: The retention periods (days) CloudWatch Logs accepts for a log group.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)  # fmt: skip
