"""A tenant's entries in the estate's tenant gate: what `osp tenant suspend` changes at the edge.

    declare_gate(name, store_arn=env["tenantGateStoreArn"], hosts=[...], suspended=...)

The estate's portal that answers tenants' names (`<slug>.<domain>`, student; www in the
learning-hub blueprint) runs a viewer-request CloudFront Function, `osp.components.TenantGate`,
that looks each request's Host up in a CloudFront KeyValueStore (`osp-<env>-tenant-gate`, the
estate's output `tenantGateStoreArn`). The tenant program writes one key per name of the
tenant, the full host name, with the value `suspended` or `active`.

What a suspended tenant's visitor sees: every request to `https://<slug>.<domain>/…` (any
path) is answered by CloudFront itself with 503, `cache-control: no-store` and the
text "This school's access is suspended."; nothing is served from the cache or the bucket.
Resuming writes `active` and the portal is served again. A key change reaches CloudFront's
edge locations within seconds, and the refusal is never cached, so nothing lingers.

What the gate does not cover:
- API calls. The portal's app calls `api.<domain>`, which is every tenant's: no host there
  names the tenant. The services refuse a suspended tenant's requests because they read its
  configuration parameter (`/osp/<env>/tenants/<slug>/config`, whose `state` says
  `suspended`), not because of this gate.
- A custom domain is written to the store too, but the portal's distribution answers only
  its own name and `*.<domain>` today: a custom domain reaches it only once it is added to
  the distribution's aliases and certificate.
- Hosts with no key, and requests met by a store that cannot be read, pass: the gate fails
  open rather than take every school offline.

KeyValueStore keys take no tags: the tenant's `osp:tenant` / `osp:tier` tags do not apply.
Each key is its own resource, named after its host, so a changed custom domain removes the old
key and writes the new one.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from osp.components.gate import ACTIVE, SUSPENDED
from osp.platform import limits
from osp.platform.validation import InvalidArguments, Problems


def gate_value(*, suspended: bool) -> str:
    """The value of a tenant's hosts in the gate's store."""
    return SUSPENDED if suspended else ACTIVE


def problems(name: str, *, store_arn: pulumi.Input[str], hosts: Sequence[str]) -> list[str]:
    """Everything wrong with the arguments of `declare_gate`, one message per problem."""
    check = Problems("tenant gate", name)
    if not isinstance(store_arn, pulumi.Output):  # an Output is the cloud's to check
        check.against(limits.CLOUDFRONT_KEY_VALUE_STORE_ARN, "store_arn", store_arn)
    if isinstance(hosts, str) or not hosts:
        check.add("hosts", hosts, "a list of at least one host name")
        return check.found
    # The function looks up the lower-case Host: a key in another case would never match.
    for index, host in enumerate(hosts):
        check.against(limits.DOMAIN_NAME, f"hosts[{index}]", host)
    check.check(len(set(hosts)) == len(hosts), "hosts", list(hosts), "each host once")
    return check.found


def declare_gate(
    name: str,
    *,
    store_arn: pulumi.Input[str],
    hosts: Sequence[str],
    suspended: bool,
    opts: pulumi.ResourceOptions | None = None,
) -> list[aws.cloudfront.KeyvaluestoreKey]:
    """One key per host in the gate's store (`store_arn`), valued `suspended` when the
    tenant is suspended and `active` otherwise; resources `<name>-<host>`, in `hosts`' order.

    `hosts`: the tenant's `<slug>.<domain>` and its custom domain if any, lower case.
    """
    if found := problems(name, store_arn=store_arn, hosts=hosts):
        raise InvalidArguments(found)
    value = gate_value(suspended=suspended)
    return [
        aws.cloudfront.KeyvaluestoreKey(
            f"{name}-{host}",
            key_value_store_arn=store_arn,
            key=host,
            value=value,
            opts=opts,
        )
        for host in hosts
    ]
