"""The osp guardrails as a CrossGuard policy pack: `pulumi preview --policy-pack policy`.

The rules and the adapter live in osp.platform.policy (crossguard.py); this only builds the
pack. The environment's spec (production or not, minimum log retention, waivers) is read from
the project this folder sits in.
"""

from pathlib import Path

from pulumi_policy import PolicyPack

from osp.platform.policy.crossguard import PACK_NAME, policies

PolicyPack(name=PACK_NAME, policies=policies(Path(__file__).resolve().parent.parent))
