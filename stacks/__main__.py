"""Entry point of the Pulumi program (Pulumi.yaml: `main: stacks/`).

`pulumi preview -s prod` runs this file; it reads the same stack config file osp reads and
builds the same estate, so osp and plain `pulumi` never disagree.
"""

from pathlib import Path

import pulumi

from osp.platform.project import find_project
from osp.platform.spec import load_environment
from osp.stacks import estate

_project = find_project(start=Path(__file__).resolve().parent)
estate.build(load_environment(_project, pulumi.get_stack()))
