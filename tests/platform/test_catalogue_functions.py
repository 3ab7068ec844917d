"""Catalogue queues, functions and schedules: the osp blueprint's, and every kind of bad one,
each with its exact message and line."""

from __future__ import annotations

import pytest

from osp.platform.catalogue import (
    Access,
    Architecture,
    Artifact,
    Image,
    QueueAccess,
    load_catalogue,
    parse_catalogue,
)
from osp.platform.catalogue.functions import Schedule
from tests.platform.test_catalogue import problems, write

BASE = """\
name: demo
description: Functions for tests
transport: sns-sqs
buckets:
  media: {archive: false}
  artifacts: {archive: false}
secrets:
  api-key: {kind: placeholder, keys: [token]}
queues:
  jobs: {}
  mail: {max_receives: 5}
services:
  orders:
    image: orders:1.0.0
    port: 8080
    replicas: {min: 1, baseline: 2, max: 4}
    uses:
      queues: {jobs: receive, mail: send}
functions:
  thumbnails:
    code: thumbnails:1.0.0
    memory_mib: 1024
    timeout_seconds: 60
    reserved_concurrency: 20
    trigger:
      upload: {bucket: media, prefix: photos/original/, suffixes: [.jpg, .png]}
    uses:
      buckets: {media: read-write}
  mailer:
    code: s3://artifacts/mailer.zip
    runtime: python3.13
    handler: index.handler
    reserved_concurrency: 5
    trigger:
      queue: {name: mail, batch_size: 5}
    uses:
      email: true
      cache: true
  nightly:
    code: ghcr.io/acme/nightly:2.1.0
    reserved_concurrency: 1
    architecture: x86_64
schedules:
  every-night:
    expression: cron(0 2 * * ? *)
    timezone: Europe/London
    flexible_window_minutes: 30
    target: {function: nightly}
    input: {job: nightly}
    retry: {maximum_attempts: 2, maximum_event_age_seconds: 600}
  hourly-jobs:
    expression: rate(1 hour)
    target: {queue: jobs}
"""


def variant(*changes: tuple[str, str]) -> str:
    text = BASE
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def test_the_base_document_is_valid(tmp_path):
    catalogue = parse_catalogue(write(tmp_path, BASE))
    thumbnails, mailer, nightly = catalogue.functions
    assert thumbnails.code == Image(repository="thumbnails", tag="1.0.0")
    assert thumbnails.trigger.upload.suffixes == (".jpg", ".png")
    assert thumbnails.uses.buckets == {"media": Access.READ_WRITE}
    assert mailer.code == Artifact(bucket="artifacts", key="mailer.zip")
    assert (mailer.memory_mib, mailer.timeout_seconds) == (128, 30)
    assert mailer.trigger.queue.batch_size == 5
    assert nightly.scheduled and nightly.architecture is Architecture.X86_64
    assert catalogue.service("orders").uses.queues == {
        "jobs": QueueAccess.RECEIVE,
        "mail": QueueAccess.SEND,
    }
    assert [q.max_receives for q in catalogue.queues] == [3, 5]
    night, hourly = catalogue.schedules
    assert night.payload == '{"job": "nightly"}' and hourly.payload == "{}"
    assert (hourly.timezone, hourly.flexible_window_minutes) == ("UTC", None)
    assert (night.retry.maximum_attempts, night.retry.maximum_event_age_seconds) == (2, 600)
    # Only the estate-image function gets a repository; a function using the cache makes the
    # estate create Redis though no service uses it.
    assert catalogue.repositories == ("orders", "thumbnails")
    assert {s.value for s in catalogue.data_stores} == {"redis"}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            [("memory_mib: 1024", "memory_mib: 64")],
            "22: functions.thumbnails.memory_mib: got 64; expected a memory size in MiB from "
            "128 to 10240",
            id="memory-below-lambda",
        ),
        pytest.param(
            [("timeout_seconds: 60", "timeout_seconds: 1000")],
            "23: functions.thumbnails.timeout_seconds: got 1000; expected seconds from 1 to "
            "900 (Lambda's 15 minutes)",
            id="timeout",
        ),
        pytest.param(
            [("reserved_concurrency: 20", "reserved_concurrency: 0")],
            "24: functions.thumbnails.reserved_concurrency: got 0; expected a number of "
            "concurrent executions from 1 to 900 (Lambda keeps 100 of an account's 1000 "
            "unreserved)",
            id="concurrency",
        ),
        pytest.param(
            [("upload: {bucket: media,", "upload: {bucket: photos,")],
            "26: functions.thumbnails.trigger.upload.bucket: got 'photos'; expected one of the "
            "blueprint's buckets: media, artifacts",
            id="unknown-trigger-bucket",
        ),
        pytest.param(
            [("prefix: photos/original/, ", "")],
            "26: functions.thumbnails.trigger.upload.prefix: got None; expected a prefix: the "
            "function writes to 'media', and with no prefix every object it writes would invoke "
            "it again (it is denied writes under its trigger's prefix)",
            id="self-trigger",
        ),
        pytest.param(
            [("queue: {name: mail, batch_size: 5}", "queue: {name: mails}")],
            "35: functions.mailer.trigger.queue.name: got 'mails'; expected one of the "
            "blueprint's queues: jobs, mail (did you mean 'mail'?)",
            id="unknown-trigger-queue",
        ),
        pytest.param(
            [("batch_size: 5", "batch_size: 50")],
            "35: functions.mailer.trigger.queue.batch_size: got 50; expected a batch size from "
            "1 to 10",
            id="batch-size",
        ),
        pytest.param(
            [("code: s3://artifacts/mailer.zip", "code: s3://builds/mailer.zip")],
            "30: functions.mailer.code: got 's3://builds/mailer.zip'; expected one of the "
            "blueprint's buckets: media, artifacts",
            id="artifact-bucket",
        ),
        pytest.param(
            [("code: s3://artifacts/mailer.zip", "code: s3://artifacts")],
            "30: functions.mailer.code: got 's3://artifacts'; expected a zip artifact "
            "s3://<blueprint bucket>/<key> such as s3://artifacts/thumbnails.zip",
            id="artifact-without-key",
        ),
        pytest.param(
            [("    runtime: python3.13\n", "")],
            "29: functions.mailer.runtime: got None; expected a runtime for a zip artifact",
            id="zip-without-runtime",
        ),
        pytest.param(
            [("runtime: python3.13", "runtime: python2.7")],
            "31: functions.mailer.runtime: got 'python2.7'; expected a Lambda runtime: "
            "python3.11, python3.12, python3.13, nodejs22.x, java17, java21, ruby3.3, "
            "provided.al2023",
            id="deprecated-runtime",
        ),
        pytest.param(
            [("    reserved_concurrency: 1\n", "    reserved_concurrency: 1\n    handler: main\n")],
            "42: functions.nightly.handler: got 'main'; expected no handler for an image (the "
            "image's own entry point runs)",
            id="image-with-handler",
        ),
        pytest.param(
            [("code: thumbnails:1.0.0", "code: resize:1.0.0")],
            "21: functions.thumbnails.code: got 'resize:1.0.0'; expected the function's own ECR "
            "repository, thumbnails:<tag> (the estate creates one per function), or a full "
            "reference with a registry host",
            id="foreign-estate-repository",
        ),
        pytest.param(
            [("code: thumbnails:1.0.0", "code: thumbnails:latest")],
            "21: functions.thumbnails.code: got 'thumbnails:latest'; expected an explicit "
            "version tag such as 1.0.0, never 'latest': a moving tag makes a rollout "
            "unrepeatable and a rollback impossible",
            id="latest",
        ),
        pytest.param(
            [("    architecture: x86_64\n", "    architecture: sparc\n")],
            "42: functions.nightly.architecture: got 'sparc'; expected one of 'arm64', 'x86_64'",
            id="architecture",
        ),
        pytest.param(
            [("target: {function: nightly}", "target: {queue: jobs}")],
            "39: functions.nightly.trigger: got None; expected a trigger (upload or queue), or "
            "a schedule under schedules: that targets it: nothing would ever run it",
            id="never-runs",
        ),
        pytest.param(
            [("target: {function: nightly}", "target: {function: thumbnails}")],
            "25: functions.thumbnails.trigger: expected no trigger: a schedule targets this "
            "function, and a function has exactly one trigger",
            id="two-triggers",
        ),
        pytest.param(
            [
                (
                    "      queue: {name: mail, batch_size: 5}\n",
                    "      queue: {name: mail}\n      upload: {bucket: media, prefix: x/}\n",
                )
            ],
            "34: functions.mailer.trigger: got ['upload', 'queue']; expected exactly one of "
            "upload and queue (a function a schedule runs has no trigger: the schedule targets "
            "it)",
            id="upload-and-queue",
        ),
        pytest.param(
            [
                ("      email: true\n", "      email: true\n      queues: [mail]\n"),
            ],
            "38: functions.mailer.uses.queues: got 'mail'; expected queues other than its "
            "trigger's (sending to its own queue would invoke it again)",
            id="sends-to-own-queue",
        ),
        pytest.param(
            [
                (
                    "      buckets: {media: read-write}\n",
                    "      buckets: {media: read-write}\n"
                    "      secrets: [db]\n      queues: [outbox]\n",
                )
            ],
            "29: functions.thumbnails.uses.secrets[0]: got 'db'; expected one of the "
            "blueprint's secrets: api-key",
            id="unknown-secret",
        ),
        pytest.param(
            [
                (
                    "queues: {jobs: receive, mail: send}",
                    "queues: {jobs: receive, mail: send, jobz: send}",
                )
            ],
            "18: services.orders.uses.queues.jobz: got 'jobz'; expected one of the blueprint's "
            "queues: jobs, mail (did you mean 'jobs'?)",
            id="service-unknown-queue",
        ),
        pytest.param(
            [("queues: {jobs: receive, mail: send}", "queues: {jobs: send, mail: send}")],
            "10: queues.jobs: got 'jobs'; expected exactly one consumer: a function triggered "
            "by it or a service with `receive` under uses.queues (none)",
            id="queue-without-consumer",
        ),
        pytest.param(
            [("queues: {jobs: receive, mail: send}", "queues: {jobs: receive, mail: receive}")],
            "11: queues.mail: got 'mail'; expected exactly one consumer: a function triggered "
            "by it or a service with `receive` under uses.queues (service 'orders', function "
            "'mailer')",
            id="queue-with-two-consumers",
        ),
        pytest.param(
            [("queues: {jobs: receive, mail: send}", "queues: {jobs: listen}")],
            "18: services.orders.uses.queues.jobs: got 'listen'; expected one of 'send', 'receive'",
            id="queue-access",
        ),
        pytest.param(
            [("  nightly:\n    code", "  orders:\n    code")],
            "39: functions.orders: got 'orders'; expected a function name no service has (a "
            "function and a service share the ECR repository and IAM role names)",
            id="function-named-like-a-service",
        ),
        pytest.param(
            [("expression: cron(0 2 * * ? *)", "expression: cron(0 2 * * *)")],
            "45: schedules.every-night.expression: got 'cron(0 2 * * *)'; expected a schedule "
            "expression: rate(<n> minutes|hours|days), cron(<minutes> <hours> <day-of-month> "
            "<month> <day-of-week> <year>) or at(yyyy-mm-ddThh:mm:ss)",
            id="five-field-cron",
        ),
        pytest.param(
            [("timezone: Europe/London", "timezone: Europe/Londn")],
            "46: schedules.every-night.timezone: got 'Europe/Londn'; expected an IANA time zone "
            "such as UTC, Europe/London or America/New_York (did you mean 'Europe/London'?)",
            id="timezone",
        ),
        pytest.param(
            [("flexible_window_minutes: 30", "flexible_window_minutes: 0")],
            "47: schedules.every-night.flexible_window_minutes: got 0; expected minutes from 1 "
            "to 1440",
            id="window",
        ),
        pytest.param(
            [("maximum_attempts: 2", "maximum_attempts: 200")],
            "50: schedules.every-night.retry.maximum_attempts: got 200; expected an integer "
            "from 0 to 185",
            id="attempts",
        ),
        pytest.param(
            [("maximum_event_age_seconds: 600", "maximum_event_age_seconds: 30")],
            "50: schedules.every-night.retry.maximum_event_age_seconds: got 30; expected "
            "seconds from 60 to 86400 (a day)",
            id="event-age",
        ),
        pytest.param(
            [("target: {queue: jobs}", "target: {queue: job}")],
            "53: schedules.hourly-jobs.target.queue: got 'job'; expected one of the "
            "blueprint's queues: jobs, mail (did you mean 'jobs'?)",
            id="schedule-unknown-queue",
        ),
        pytest.param(
            [("target: {queue: jobs}", "target: {queue: jobs, function: nightly}")],
            "53: schedules.hourly-jobs.target: got ['function', 'queue']; expected exactly one "
            "of function and queue",
            id="schedule-two-targets",
        ),
    ],
)
def test_each_problem_has_its_path_line_and_message(tmp_path, changes, expected):
    assert expected in problems(tmp_path, variant(*changes))


def test_an_empty_trigger_is_no_trigger_and_a_queue_is_not_named_like_an_event(tmp_path):
    text = variant(("    architecture: x86_64\n", "    architecture: x86_64\n    trigger:\n"))
    text = text.replace("target: {function: nightly}", "target: {queue: jobs}")
    assert (
        "43: functions.nightly.trigger: got None; expected a trigger (upload or queue), or a "
        "schedule under schedules: that targets it: nothing would ever run it"
        in problems(tmp_path, text)
    )
    clash = variant(
        (
            "    uses:\n      queues: {jobs",
            "    uses:\n      publishes: [jobs]\n      queues: {jobs",
        )
    )
    assert (
        "10: queues.jobs: got 'jobs'; expected a name no event has (a consumer's "
        "QUEUE_<NAME>_URL would name both)" in problems(tmp_path, clash)
    )


def test_two_upload_triggers_that_overlap_on_one_bucket_are_refused(tmp_path):
    text = variant(
        (
            "  nightly:\n",
            "  avatars:\n    code: avatars:1.0.0\n    reserved_concurrency: 1\n"
            "    trigger:\n      upload: {bucket: media, prefix: photos/, suffixes: [.png]}\n"
            "  nightly:\n",
        )
    )
    assert problems(tmp_path, text) == [
        "43: functions.avatars.trigger.upload: expected a prefix or suffixes that no other "
        "upload trigger on 'media' matches (function 'thumbnails' has one that does: S3 sends "
        "an object to one function only)"
    ]
    # Apart, they are fine.
    parse_catalogue(write(tmp_path, text.replace("prefix: photos/,", "prefix: avatars/,")))


def test_a_schedules_payload_is_json(tmp_path):
    schedule = Schedule(
        name="s", expression="rate(1 day)", target={"queue": "q"}, input=[1, "a", {"b": None}]
    )
    assert schedule.payload == '[1, "a", {"b": null}]'
    assert "input" in str(
        problems(tmp_path, variant(("input: {job: nightly}", "input: {job: " + "x" * 9000 + "}")))
    )


def test_the_osp_blueprint_has_seed_000s_thumbnails_and_schedules():
    osp = load_catalogue("osp")
    (thumbnails,) = osp.functions
    upload = thumbnails.trigger.upload
    assert (thumbnails.name, upload.bucket, upload.prefix) == (
        "thumbnails",
        "media",
        "photos/original/",
    )
    assert thumbnails.uses.buckets == {"media": Access.READ_WRITE}
    assert [(s.name, s.target.queue) for s in osp.schedules] == [
        ("daily-fee-reminders", "fee-reminders"),
        ("weekly-enrollment-reports", "report-runs"),
        ("monthly-analytics", "report-runs"),
    ]
    assert osp.service("fee").uses.queues == {"fee-reminders": QueueAccess.RECEIVE}
    assert osp.service("reporting").uses.queues == {"report-runs": QueueAccess.RECEIVE}
    # Seed 004 names no concrete cron job: learning-hub has none.
    hub = load_catalogue("learning-hub")
    assert (hub.functions, hub.schedules, hub.queues) == ((), (), ())


TABLES = """\
tables:
  status: {partition_key: {name: id}}
  sessions: {partition_key: {name: pk}, tenant_partitioned: true}
"""


def test_a_function_uses_tables_that_are_not_tenant_partitioned(tmp_path):
    text = variant(
        ("queues:\n", TABLES + "queues:\n"),
        ("      email: true\n", "      email: true\n      tables: {status: read-write}\n"),
    )
    (mailer,) = [f for f in parse_catalogue(write(tmp_path, text)).functions if f.name == "mailer"]
    assert mailer.uses.tables == {"status": Access.READ_WRITE}
    unknown = text.replace("tables: {status: read-write}", "tables: {statuses: read}")
    assert problems(tmp_path, unknown) == [
        "41: functions.mailer.uses.tables.statuses: got 'statuses'; expected one of the "
        "blueprint's tables: status, sessions (did you mean 'status'?)"
    ]
    tenants = text.replace("tables: {status: read-write}", "tables: {sessions: read}")
    assert problems(tmp_path, tenants) == [
        "41: functions.mailer.uses.tables.sessions: got 'sessions'; expected a table that is "
        "not tenant_partitioned (a function has no tenant-data role: a service that serves "
        "the tenant reaches this one)"
    ]


KAFKA = """\
name: demo
description: A function producing to Kafka
transport: kafka
buckets:
  uploads: {archive: false}
topics:
  files: {partitions: 3, retention_hours: 24}
services:
  catalog:
    image: catalog:1.0.0
    port: 8080
    replicas: {min: 1, baseline: 2, max: 4}
    uses:
      kafka: {consumes: [files]}
functions:
  scanner:
    code: scanner:1.0.0
    reserved_concurrency: 5
    trigger:
      upload: {bucket: uploads}
    uses:
      buckets: {uploads: read}
      kafka: {produces: [files]}
"""


def test_a_function_produces_to_kafka_from_inside_the_vpc(tmp_path):
    catalogue = parse_catalogue(write(tmp_path, KAFKA))
    (scanner,) = catalogue.functions
    assert scanner.uses.produces == ("files",)
    assert scanner.uses.data_stores and not scanner.uses.cache  # it runs in the VPC
    assert {s.value for s in catalogue.data_stores} == {"kafka"}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "produces: [files]",
            "produces: [file]",
            "23: functions.scanner.uses.kafka.produces[0]: got 'file'; expected one of the "
            "blueprint's topics: files (did you mean 'files'?)",
            id="unknown-topic",
        ),
        pytest.param(
            "kafka: {produces: [files]}",
            "kafka: {produces: [files], consumes: [files]}",
            "23: functions.scanner.uses.kafka.consumes: got ['files']; expected no consumes: "
            "a function runs on its trigger, not in a consumer group (a service reads topics)",
            id="consumes",
        ),
    ],
)
def test_a_functions_kafka_names_topics_it_writes(tmp_path, old, new, expected):
    assert problems(tmp_path, KAFKA.replace(old, new)) == [expected]


def test_a_function_uses_kafka_only_on_a_kafka_blueprint(tmp_path):
    text = variant(("      email: true\n", "      email: true\n      kafka: {produces: [x]}\n"))
    assert problems(tmp_path, text) == [
        "38: functions.mailer.uses.kafka: got 'kafka'; expected no uses.kafka: it needs "
        "`transport: kafka`"
    ]


def test_the_lms_blueprint_has_seed_002s_two_lambdas():
    lms = load_catalogue("lms")
    files, notifications = lms.functions
    upload = files.trigger.upload
    assert (files.name, upload.bucket, upload.prefix) == (
        "file-processing",
        "course-materials",
        "uploads/",
    )
    assert files.uses.buckets == {"course-materials": Access.READ_WRITE}
    assert files.uses.produces == ("course-events",) and files.uses.data_stores
    assert "course-events" in lms.service("course").uses.kafka.consumes
    assert notifications.name == "notification-processor"
    assert notifications.trigger.queue.name == "notifications"
    assert notifications.uses.tables == {"notification-queue": Access.READ_WRITE}
    assert (notifications.uses.email, notifications.uses.sms) == (True, True)
    assert not notifications.uses.data_stores
    assert lms.service("payment").uses.queues == {"notifications": QueueAccess.SEND}
