"""`Problems`: the one validation idiom of components and application building blocks."""

from __future__ import annotations

import pytest

from osp.platform import limits
from osp.platform.errors import OspError
from osp.platform.validation import InvalidArguments, Problems


def test_no_problem_raises_nothing():
    check = Problems("Postgres", "db")
    assert check.against(limits.RDS_INSTANCE_CLASS, "instance_class", "db.r6g.large")
    assert check.check(True, "multi_az", True, "true or false")
    assert not check and check.found == []
    check.raise_if_any()


def test_every_problem_is_reported_at_once_in_one_format():
    check = Problems("Postgres", "db")
    assert not check.against(limits.RDS_INSTANCE_CLASS, "instance_class", "db.t3.tiny")
    assert not check.check(False, "backup_retention_days", 0, "1 to 35")
    check.extend([("log_retention_days", 45, "a CloudWatch Logs retention period")])
    check.note("backup_window", "overlaps maintenance_window; move one of them")
    with pytest.raises(InvalidArguments) as raised:
        check.raise_if_any()
    assert raised.value.problems == [
        "Postgres db: instance_class: got 'db.t3.tiny'; expected an RDS instance class such "
        "as db.r6g.large",
        "Postgres db: backup_retention_days: got 0; expected 1 to 35",
        "Postgres db: log_retention_days: got 45; expected a CloudWatch Logs retention period",
        "Postgres db: backup_window: overlaps maintenance_window; move one of them",
    ]
    assert str(raised.value) == "\n".join(raised.value.problems)


def test_invalid_arguments_is_an_osp_error():
    # The CLI reports OspErrors without a traceback, exit 1.
    error = InvalidArguments(["Zone z: domain: got 'x'; expected a DNS name"])
    assert isinstance(error, OspError) and not isinstance(error, ValueError)
    assert error.exit_code == 1


def test_raising_keeps_the_problems_found_so_far_only():
    check = Problems("Redis", "cache")
    check.add("replicas_per_shard", 9, "an integer from 0 to 5")
    with pytest.raises(InvalidArguments) as raised:
        check.raise_if_any()
    check.add("node_type", "x", "a node type")
    assert raised.value.problems == [
        "Redis cache: replicas_per_shard: got 9; expected an integer from 0 to 5"
    ]
