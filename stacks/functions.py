"""The blueprint's queues, Lambda functions and schedules (catalogue `queues:`, `functions:`,
`schedules:`).

The queues come first (`build_queues`): services that send to or receive from them are given
them like any other grant (stacks/services.py). The functions come after the services: a
function that sends email uses the estate's sending domain. A function is given what its
`uses` declares exactly as a service is (osp.app.identity's statements), and an environment
variable naming each thing it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from osp.app import BucketGrant, Grants, KafkaGrant, TableGrant, with_key_grants
from osp.app.identity import grants_policy
from osp.components import Queue, QueueArgs
from osp.components.cache import PORT as REDIS_PORT
from osp.components.function import (
    Architecture,
    BucketTrigger,
    BucketTriggers,
    BucketTriggersArgs,
    Function,
    FunctionArgs,
    InVpc,
    QueueTrigger,
    StoreAccess,
    UploadTrigger,
    ZipCode,
)
from osp.components.schedule import Schedules, SchedulesArgs, ScheduleSpec, TargetKind
from osp.components.streaming import IAM_PORT as KAFKA_PORT
from osp.platform.catalogue import Image, SecretKind
from osp.platform.catalogue.functions import Artifact
from osp.platform.catalogue.functions import Function as FunctionEntry
from osp.platform.naming import NameKind
from osp.stacks.context import Context
from osp.stacks.foundation import Foundation
from osp.stacks.services import Services, env_name
from osp.stacks.shared import Shared
from osp.stacks.streaming import Streaming

#: SQS must hide a message from other consumers for longer than a function may hold it;
#: AWS advises six times the function's timeout (retries of a throttled batch included).
VISIBILITY_PER_TIMEOUT = 6
_MAX_VISIBILITY = 12 * 3600
HTTPS_ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class Functions:
    functions: dict[str, Function]
    """Function name (the catalogue's) → its Lambda function."""
    triggers: dict[str, BucketTriggers]
    """Bucket → its notification, for buckets that trigger functions."""
    schedules: Schedules | None
    """The schedule group, if the blueprint has schedules."""


def function_name(ctx: Context, function: str) -> str:
    """`osp-<env>-<function>-function`: the Lambda's, its role's and its log group's name."""
    return ctx.name(f"{function}-function", NameKind.IAM)


def build_queues(ctx: Context, foundation: Foundation) -> dict[str, Queue]:
    """A queue (with its dead-letter queue) per catalogue queue, encrypted with the data key."""
    timeouts = {
        f.trigger.queue.name: f.timeout_seconds
        for f in ctx.catalogue.functions
        if f.trigger is not None and f.trigger.queue is not None
    }
    queues = {}
    for queue in ctx.catalogue.queues:
        visibility = {}
        if queue.name in timeouts:
            visibility["visibility_timeout_seconds"] = min(
                _MAX_VISIBILITY, VISIBILITY_PER_TIMEOUT * timeouts[queue.name]
            )
        queues[queue.name] = Queue(
            ctx.name(f"queue-{queue.name}"),
            QueueArgs(
                name=ctx.name(f"queue-{queue.name}", NameKind.SQS_QUEUE),
                kms_key_arn=foundation.keys.data_key_arn,
                max_receive_count=queue.max_receives,
                tags=ctx.tags("functions"),
                **visibility,
            ),
        )
    return queues


def build(
    ctx: Context,
    foundation: Foundation,
    shared: Shared,
    services: Services,
    queues: Mapping[str, Queue],
    streaming: Streaming | None = None,
) -> Functions:
    catalogue = ctx.catalogue
    functions: dict[str, Function] = {}
    uploads: dict[str, list[BucketTrigger]] = {}
    for entry in catalogue.functions:
        function = _function(ctx, foundation, shared, services, queues, streaming, entry)
        functions[entry.name] = function
        upload = entry.trigger.upload if entry.trigger else None
        if upload is not None:
            uploads.setdefault(upload.bucket, []).append(
                BucketTrigger(
                    function_arn=function.function_arn,
                    prefix=upload.prefix,
                    suffixes=upload.suffixes,
                    permission=function.upload_permission,
                )
            )
    # One notification per bucket, naming every function the bucket triggers.
    triggers = {
        bucket: BucketTriggers(
            ctx.name(f"{bucket}-triggers"),
            BucketTriggersArgs(bucket=shared.buckets[bucket].bucket_name, triggers=entries),
        )
        for bucket, entries in uploads.items()
    }
    return Functions(
        functions=functions,
        triggers=triggers,
        schedules=_schedules(ctx, foundation, functions, queues),
    )


def _function(
    ctx: Context,
    foundation: Foundation,
    shared: Shared,
    services: Services,
    queues: Mapping[str, Queue],
    streaming: Streaming | None,
    entry: FunctionEntry,
) -> Function:
    keys, uses = foundation.keys, entry.uses
    name = function_name(ctx, entry.name)
    env: dict[str, pulumi.Input[str]] = {
        "FUNCTION_NAME": entry.name,
        "ENVIRONMENT": ctx.spec.name,
    }
    buckets, secrets, sends, emails = [], [], [], []
    for bucket, access in uses.buckets.items():
        store = shared.buckets[bucket]
        buckets.append(BucketGrant(store.arn, access))
        env[env_name("bucket", bucket, "name")] = store.bucket_name
    for secret in uses.secrets:
        assert shared.secrets is not None  # the catalogue guarantees the secret exists
        arn = shared.secrets.secret_arns.apply(lambda arns, s=secret: arns[s])
        secrets.append(arn)
        env[env_name("secret", secret, "arn")] = arn
    for queue in uses.queues:
        sends.append(queues[queue].arn)
        env[env_name("queue", queue, "url")] = queues[queue].url
    if uses.email:
        email = services.email
        assert email is not None  # created whenever a service or a function sends email
        emails += [email.identity_arn, email.configuration_set_arn]
        env["EMAIL_FROM_DOMAIN"] = ctx.spec.domain
        env["EMAIL_IDENTITY_ARN"] = email.identity_arn
        env["EMAIL_CONFIGURATION_SET_NAME"] = email.configuration_set_name
    if uses.sms:
        env["SMS_ENABLED"] = "true"
    tables = []
    for table, access in uses.tables.items():
        # The catalogue refuses a tenant-partitioned table to a function.
        store = shared.data.tables[table]
        tables.append(
            TableGrant(store.arn, access, index_names=tuple(ctx.catalogue.table_map[table].indexes))
        )
        env[env_name("table", table, "name")] = store.table_name
    kafka, stores = None, []
    if uses.produces:
        assert streaming is not None  # created whenever the blueprint has topics
        cluster = streaming.cluster
        env |= {
            "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_brokers,
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "AWS_MSK_IAM",
        }
        for topic in uses.produces:
            env[env_name("kafka", "topic", topic)] = topic
        kafka = KafkaGrant(cluster.arn, produces=uses.produces)
        stores.append(
            StoreAccess(
                security_group_id=cluster.security_group_id,
                port=KAFKA_PORT,
                description="Kafka (MSK, IAM)",
            )
        )
    if uses.cache:
        cache = foundation.cache
        assert cache is not None  # created whenever a service or a function uses it
        secrets.append(cache.auth_secret_arn)
        env |= {
            "REDIS_HOST": cache.address,
            "REDIS_PORT": str(REDIS_PORT),
            "REDIS_TLS": "true",
            "REDIS_AUTH_SECRET_ARN": cache.auth_secret_arn,
        }
        if cache.cluster_mode:
            env["REDIS_CLUSTER_MODE"] = "true"
        stores.append(
            StoreAccess(
                security_group_id=cache.security_group_id, port=REDIS_PORT, description="Redis"
            )
        )
    in_vpc = None
    if stores:
        in_vpc = InVpc(
            vpc_id=foundation.network.vpc_id,
            subnet_ids=foundation.network.private_subnet_ids,
            stores=stores,
            https_cidrs=_https_cidrs(ctx, foundation, entry),
        )
    grants = with_key_grants(
        Grants(
            send_queue_arns=sends,
            buckets=buckets,
            secret_arns=secrets,
            email_identity_arns=emails,
            sms=uses.sms,
            tables=tables,
            kafka=kafka,
        ),
        data_key_arn=keys.data_key_arn,
        storage_key_arn=keys.storage_key_arn,
        secrets_key_arn=keys.secrets_key_arn,
    )
    trigger = entry.trigger
    upload = trigger.upload if trigger else None
    queue = trigger.queue if trigger else None
    code = entry.code
    return Function(
        ctx.name(f"{entry.name}-function"),
        FunctionArgs(
            function_name=name,
            description=f"{ctx.catalogue.name} function {entry.name} ({ctx.spec.name})",
            kms_key_arn=keys.data_key_arn,
            logs_kms_key_arn=keys.logs_key_arn,
            log_retention_days=ctx.spec.logs.audit_retention_days,
            reserved_concurrency=entry.reserved_concurrency,
            image_uri=_image(shared, entry.name, code) if isinstance(code, Image) else None,
            image_repository=_repository(shared, entry.name, code),
            zip=ZipCode(
                bucket=shared.buckets[code.bucket].bucket_name,
                key=code.key,
                runtime=entry.runtime or "",
                handler=entry.handler or "",
            )
            if isinstance(code, Artifact)
            else None,
            memory_mib=entry.memory_mib,
            timeout_seconds=entry.timeout_seconds,
            architecture=Architecture(entry.architecture.value),
            upload=UploadTrigger(bucket_arn=shared.buckets[upload.bucket].arn, prefix=upload.prefix)
            if upload
            else None,
            queue=QueueTrigger(
                queue_arn=queues[queue.name].arn,
                kms_key_arn=keys.data_key_arn,
                batch_size=queue.batch_size,
            )
            if queue
            else None,
            in_vpc=in_vpc,
            permissions=None
            if grants.empty
            else grants_policy(name, grants, pulumi.InvokeOutputOptions(), kind="Function"),
            environment=env,
            tags=ctx.tags("functions"),
        ),
    )


def _image(shared: Shared, function: str, image: Image) -> pulumi.Input[str]:
    if not image.in_estate_registry:
        return image.reference()
    return shared.registry.repository_urls.apply(lambda urls: image.reference(urls[function]))


def _repository(shared: Shared, function: str, code: Image | Artifact) -> pulumi.Input[str] | None:
    """The name of the estate's repository of the function's image, once it exists (the part
    of its URL after the registry host)."""
    if not (isinstance(code, Image) and code.in_estate_registry):
        return None
    return shared.registry.repository_urls.apply(lambda urls: urls[function].split("/", 1)[1])


def _https_cidrs(ctx: Context, foundation: Foundation, entry: FunctionEntry) -> list[str]:
    """AWS's APIs through the interface endpoints when the spec has them, else through NAT.
    S3 and DynamoDB (gateway endpoints at their public addresses), SES and a third party's
    API (a placeholder secret) have no address in the VPC: anywhere on 443, as a service's
    egress (osp.stacks.services.egress)."""
    uses = entry.uses
    third_party = any(
        ctx.catalogue.secret_map[s].kind is SecretKind.PLACEHOLDER for s in uses.secrets
    )
    public = bool(uses.buckets) or bool(uses.tables) or uses.email or third_party
    if ctx.spec.network.interface_endpoints and not public:
        return list(foundation.network.subnet_cidrs["private"])
    return [HTTPS_ANYWHERE]


def _schedules(
    ctx: Context,
    foundation: Foundation,
    functions: Mapping[str, Function],
    queues: Mapping[str, Queue],
) -> Schedules | None:
    if not ctx.catalogue.schedules:
        return None
    specs = []
    for schedule in ctx.catalogue.schedules:
        target = schedule.target
        if target.function is not None:
            kind, arn = TargetKind.FUNCTION, functions[target.function].function_arn
        else:
            kind, arn = TargetKind.QUEUE, queues[target.queue].arn
        specs.append(
            ScheduleSpec(
                name=schedule.name,
                expression=schedule.expression,
                timezone=schedule.timezone,
                flexible_window_minutes=schedule.flexible_window_minutes,
                target_kind=kind,
                target_arn=arn,
                input=schedule.payload,
                maximum_attempts=schedule.retry.maximum_attempts,
                maximum_event_age_seconds=schedule.retry.maximum_event_age_seconds,
            )
        )
    return Schedules(
        ctx.name("schedules"),
        SchedulesArgs(
            group_name=ctx.prefix,
            kms_key_arn=foundation.keys.data_key_arn,
            schedules=specs,
            tags=ctx.tags("functions"),
        ),
    )


def exports(functions: Functions, queues: Mapping[str, Queue]) -> dict[str, pulumi.Input[object]]:
    """The stack outputs of the blueprint's queues, functions and schedules (none without)."""
    out: dict[str, pulumi.Input[object]] = {}
    if queues:
        out["queueUrls"] = {name: q.url for name, q in queues.items()}
    if functions.functions:
        out["functionArns"] = {name: f.function_arn for name, f in functions.functions.items()}
    if functions.schedules is not None:
        out["scheduleGroup"] = functions.schedules.group_name
    return out
