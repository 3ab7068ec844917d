"""docs/components.md's examples really run: "Using a component from your own Pulumi program"
and the `Table` example."""

from __future__ import annotations

import re

from osp.platform.engine import offline
from tests.support import REPO, spec_of


def test_documented_component_example_plans():
    page = (REPO / "docs" / "components.md").read_text(encoding="utf-8")
    section = page.split("## Using a component from your own Pulumi program", 1)[1]
    code = re.search(r"```python\n(.+?)```", section, re.S).group(1)
    plan = offline.run(spec_of("dev"), lambda spec: exec(code, {}))
    assert plan.named("lab-network").type == "osp:network:Network"
    assert plan.outputs["vpcId"].startswith("vpc-")
    assert len(plan.of_type("aws:ec2/subnet:Subnet")) == 9


def test_documented_table_example_plans():
    page = (REPO / "docs" / "components.md").read_text(encoding="utf-8")
    section = page.split("## `Table`", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.+?)```", section, re.S).group(1)
    # The example takes the data key of a KeyRing the program already has, as `keys`.
    program = "from osp.components import KeyRing, KeyRingArgs\n"
    program += 'keys = KeyRing("lab-keys", KeyRingArgs(deletion_window_days=7))\n' + code
    plan = offline.run(spec_of("dev"), lambda spec: exec(program, {}))
    (table,) = plan.of_type("aws:dynamodb/table:Table")
    assert table.inputs["name"] == "lab-tenants"
    assert [index["name"] for index in table.inputs["globalSecondaryIndexes"]] == ["by-state"]
