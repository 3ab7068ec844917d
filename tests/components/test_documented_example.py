"""docs/components.md's "Using a component from your own Pulumi program" example really runs."""

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
