"""A service's volume in the catalogue (`uses.volume`): accepted, refused with its path, line
and rule, and what the estate reads from it."""

from __future__ import annotations

import pytest

from osp.platform.catalogue import Volume, load_catalogue, parse_catalogue
from osp.platform.catalogue.models import RESERVED_MOUNT_PATHS, mount_path_problem
from tests.platform.test_catalogue import ORDERS_USES, problems, variant, write

RULE = (
    "an absolute directory such as /data: segments of letters, digits, '.', '_' and '-', no "
    "'..', no trailing slash, at most 200 characters, not / and not at or under /tmp, /proc, "
    "/sys, /dev, /etc, /var/run/secrets"
)


def with_volume(volume: str) -> str:
    return variant((ORDERS_USES, f"    uses:\n      volume: {volume}\n      publishes"))


def test_a_volume_is_a_path_and_only_its_service_has_one(tmp_path):
    catalogue = parse_catalogue(write(tmp_path, with_volume("{path: /data/orders}")))
    assert catalogue.service("orders").uses.volume == Volume(path="/data/orders")
    assert catalogue.service("billing").uses.volume is None
    assert [s.name for s in catalogue.volume_services] == ["orders"]


def test_without_volumes_no_service_needs_the_file_system():
    assert load_catalogue("osp").volume_services == ()
    assert load_catalogue("learning-hub").volume_services == ()


@pytest.mark.parametrize(
    "path",
    ["/", "data", "/data/", "/data/../etc", "/tmp", "/tmp/cache", "/proc/x", "/etc",
     "/var/run/secrets/eks.amazonaws.com", "/da ta"],
)  # fmt: skip
def test_bad_mount_paths_are_refused_with_the_rule(tmp_path, path):
    assert mount_path_problem(path) == RULE
    found = problems(tmp_path, with_volume(f"{{path: '{path}'}}"))
    assert found == [f"15: services.orders.uses.volume.path: got {path!r}; expected {RULE}"]


@pytest.mark.parametrize("path", ["/data", "/var/lib/media", "/srv/app_files", "/temp"])
def test_good_mount_paths(path):
    assert mount_path_problem(path) is None


def test_a_mount_path_has_at_most_200_characters():
    assert mount_path_problem("/" + "a" * 199) is None
    assert mount_path_problem("/" + "a" * 200) == RULE


def test_a_volume_takes_no_other_key(tmp_path):
    (found,) = problems(tmp_path, with_volume("{path: /data, size: 10Gi}"))
    assert found.startswith("15: services.orders.uses.volume.size: ")


def test_the_reserved_paths_include_the_pods_scratch_space():
    # ServiceWorkload mounts a size-capped emptyDir at /tmp (the root filesystem is read-only).
    assert "/tmp" in RESERVED_MOUNT_PATHS
