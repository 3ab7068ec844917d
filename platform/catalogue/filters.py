"""A consumer's filtered subscriptions: the mapping form of a `consumes` entry.

`consumes: [payment-completed from payment]` receives every message of the event. The
mapping form says the same and more:

    consumes:
      - event: payment-completed
        from: payment
        channel: sms                      # a second queue of the same consumer on the event
        filter: {amount: [{numeric: [">", 100]}]}
        filter_scope: MessageAttributes   # or MessageBody

`filter` is an SNS subscription filter policy in the subset osp.platform.filter_policy
accepts, applied by SNS before delivery. `channel` gives the consumer a queue of its own for
this subscription, `<prefix>-<consumer>-<event>-<channel>`, beside its unfiltered one: seed
000 §12's notification service gets every payment for email and only those over $100 for
SMS. Filters are SNS's: the form is refused on the `rabbitmq` transport.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_core import InitErrorDetails

from osp.platform import filter_policy
from osp.platform.catalogue.models import Name, Subscription, _error, _fail, _Model
from osp.platform.filter_policy import FilterPolicyScope


class Consumption(_Model):
    """The mapping form of a `consumes` entry (see the module's docstring)."""

    event: Name
    publisher: Name = Field(alias="from")
    channel: Name | None = Field(
        None, description="A second queue of this consumer on the event: `<event>-<channel>`."
    )
    filter: dict[str, Any] | None = Field(None, description="An SNS filter policy.")
    filter_scope: FilterPolicyScope = FilterPolicyScope.MESSAGE_ATTRIBUTES

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        # Said here: the problem renderer cannot see this model behind the entry's type.
        if isinstance(data, Mapping):
            known = ("event", "from", "channel", "filter", "filter_scope")
            _fail(
                "Consumption",
                (
                    _error((key,), key, "a key of " + ", ".join(known))
                    for key in data
                    if key not in known
                ),
            )
        return data

    @field_validator("filter")
    @classmethod
    def _grammar(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            _fail(
                "filter",
                (
                    _error(_loc(where), found, expected)
                    for where, found, expected in filter_policy.problems(value)
                ),
            )
        return value

    def subscription(self) -> Subscription:
        return Subscription(
            self.event,
            self.publisher,
            channel=self.channel,
            filter_document=None if self.filter is None else filter_policy.document(self.filter),
            filter_policy_scope=self.filter_scope,
        )


def _loc(where: str) -> tuple[str | int, ...]:
    """`.amount[0]` → ("amount", 0): a path inside a policy as a location below `filter`."""
    loc: list[str | int] = []
    for part in where.split("."):
        if not part:
            continue
        name, _, rest = part.partition("[")
        loc.append(name)
        if rest:
            loc.append(int(rest.rstrip("]")))
    return tuple(loc)


def as_text(entry: Any) -> Any:
    """A mapping entry as `<event> from <publisher>`, for the reference checks the string
    form gets; anything else unchanged."""
    if isinstance(entry, Mapping):
        event, publisher = entry.get("event"), entry.get("from")
        if isinstance(event, str) and isinstance(publisher, str):
            return f"{event} from {publisher}"
    return entry


def problems(data: Mapping[str, Any]) -> list[InitErrorDetails]:
    """What the mapping form may not do, read from the (unvalidated) catalogue: appear on the
    rabbitmq transport, or give one consumer two queues of the same name."""
    errors: list[InitErrorDetails] = []
    services = data.get("services")
    if not isinstance(services, Mapping):
        return errors
    sns = data.get("transport", "sns-sqs") == "sns-sqs"
    for name, body in services.items():
        uses = body.get("uses") if isinstance(body, Mapping) else None
        consumes = uses.get("consumes") if isinstance(uses, Mapping) else None
        if not isinstance(consumes, list):
            continue
        queues: dict[str, int] = {}
        for index, entry in enumerate(consumes):
            where = ("services", name, "uses", "consumes", index)
            if isinstance(entry, Mapping) and not sns and ({"channel", "filter"} & set(entry)):
                errors.append(
                    _error(
                        where,
                        dict(entry),
                        "'<event> from <publisher>' on the rabbitmq transport (channel and "
                        "filter are SNS subscriptions'; they need transport: sns-sqs)",
                    )
                )
            queue = _queue_of(entry)
            if queue is None:
                continue
            if queue in queues:
                errors.append(
                    _error(
                        where,
                        as_text(entry),
                        f"a subscription with a queue of its own: entry {queues[queue]} "
                        f"already makes queue {queue!r} (give this one a channel)",
                    )
                )
            queues.setdefault(queue, index)
    return errors


def _queue_of(entry: Any) -> str | None:
    text = as_text(entry)
    if not isinstance(text, str) or " from " not in text:
        return None
    event = text.split(" from ")[0].strip()
    channel = entry.get("channel") if isinstance(entry, Mapping) else None
    return f"{event}-{channel}" if isinstance(channel, str) else event
