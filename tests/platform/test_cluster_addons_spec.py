"""`osp:cluster.addons`: the optional add-ons, chosen by a blueprint's `infrastructure:` section
and overridable per environment, every bad value named where it was written."""

from __future__ import annotations

import pytest

from osp.platform.errors import SpecError
from osp.platform.spec import parse_stack_file
from osp.platform.spec.addons import GitOps, Observability
from tests.platform.test_blueprint_infrastructure import ADMIN, SOURCE, library

CHOSEN = """\
infrastructure:
  osp:cluster:
    addons: {observability: in-cluster, gitops: argocd}
"""


def parse(lib, addons: str | None = None, environment: str = "prod"):
    cluster = f"admin_role_arns: [{ADMIN}]" + (f", addons: {addons}" if addons else "")
    text = (
        "config:\n"
        "  aws:region: eu-west-2\n"
        "  osp:domain: shop.example.com\n"
        "  osp:blueprint: shop\n"
        f"  osp:cluster: {{{cluster}}}\n"
    )
    return parse_stack_file(text, environment=environment, source=SOURCE, library=lib)


def test_nothing_is_chosen_by_default(tmp_path):
    addons = parse(library(tmp_path, None)).cluster.addons
    assert (addons.observability, addons.gitops) == (Observability.NONE, GitOps.NONE)
    assert not addons.chosen


def test_a_blueprint_chooses_for_every_environment(tmp_path):
    lib = library(tmp_path, CHOSEN)
    for environment in ("dev", "staging", "prod"):
        addons = parse(lib, environment=environment).cluster.addons
        assert (addons.observability, addons.gitops) == (Observability.IN_CLUSTER, GitOps.ARGOCD)


def test_a_stack_file_overrides_one_choice_and_keeps_the_other(tmp_path):
    addons = parse(library(tmp_path, CHOSEN), "{gitops: none}", environment="dev").cluster.addons
    assert (addons.observability, addons.gitops) == (Observability.IN_CLUSTER, GitOps.NONE)


def test_a_stack_file_chooses_without_the_blueprint(tmp_path):
    addons = parse(library(tmp_path, None), "{observability: in-cluster}").cluster.addons
    assert (addons.observability, addons.gitops) == (Observability.IN_CLUSTER, GitOps.NONE)


def test_bad_values_in_a_stack_file_are_named_with_their_line(tmp_path):
    with pytest.raises(SpecError) as caught:
        parse(library(tmp_path, None), "{observability: prometheus, gitops: flux, logs: yes}")
    assert caught.value.problems == [
        "stacks/Pulumi.prod.yaml:5: osp:cluster.addons.observability: got 'prometheus'; "
        "expected one of 'none', 'in-cluster'",
        "stacks/Pulumi.prod.yaml:5: osp:cluster.addons.gitops: got 'flux'; expected one of "
        "'none', 'argocd'",
        "stacks/Pulumi.prod.yaml:5: osp:cluster.addons.logs: unknown key 'logs'; expected one "
        "of gitops, observability",
    ]


def test_bad_values_in_a_blueprint_are_named_in_the_blueprint_file(tmp_path):
    lib = library(tmp_path, CHOSEN.replace("argocd", "argo"))
    with pytest.raises(SpecError) as caught:
        parse(lib)
    assert caught.value.problems == [
        "blueprints/shop/blueprint.yaml:13: infrastructure.osp:cluster.addons.gitops: got "
        "'argo'; expected one of 'none', 'argocd'"
    ]
