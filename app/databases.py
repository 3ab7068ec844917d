"""`ServiceDatabases`: each service's own PostgreSQL user and database on the shared RDS instance.

Every catalogue service that uses the database signs in with IAM database authentication as its
own PostgreSQL user (the service's name with `-` → `_`, see `postgres_name`) to its own logical
database of the same name; its IRSA role already grants `rds-db:connect` for exactly that user.
Someone has to create those users and databases, and only something inside the VPC can reach the
instance: so a Kubernetes Job in the services' namespace signs in as the RDS master user and runs
an idempotent SQL script (`setup_script`). Read replicas replicate roles and databases
physically: what the Job creates on the primary appears on each replica.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from osp.app import pods
from osp.app.identity import (
    Grants,
    KeyGrant,
    ServiceIdentity,
    ServiceIdentityArgs,
    arn_problem,
    trust_problems,
)
from osp.app.images import AWS_CLI_IMAGE, POSTGRES_IMAGE
from osp.components.database import PORT
from osp.platform import limits
from osp.platform.validation import InvalidArguments, Problems

TOKEN = "osp:app:ServiceDatabases"

#: Name of the ServiceAccount and NetworkPolicy, and prefix of the ConfigMap and Job.
DEFAULT_OBJECT_NAME = "osp-database-setup"

#: The database psql signs in to first: RDS for PostgreSQL always has it.
MAINTENANCE_DATABASE = "postgres"

#: The role RDS requires a user to be a member of to sign in with IAM authentication.
IAM_ROLE = "rds_iam"

#: psql's exit status when a statement of its script failed (ON_ERROR_STOP), and the status the
#: Job's own checks use: a failure that would repeat itself, so the Job fails at once rather than
#: retry (a connection failure, status 2, is retried).
SCRIPT_ERROR_EXIT_CODE = 3

#: Retries of a pod that failed for any other reason (the instance restarting, a throttled API).
BACKOFF_LIMIT = 4

#: Keys of the ConfigMap, mounted at CONFIG_DIR.
SCRIPT_KEY = "setup.sql"
PGPASS_PROGRAM_KEY = "pgpass.pl"
CA_BUNDLE_KEY = "rds-ca.pem"

#: Where the ConfigMap, the memory-backed credentials volume and the scratch space are mounted.
CONFIG_DIR = "/etc/osp"
CREDENTIALS_DIR = "/run/osp"
TMP_DIR = "/tmp"
SECRET_FILE = f"{CREDENTIALS_DIR}/master-secret.json"
PGPASS_FILE = f"{CREDENTIALS_DIR}/pgpass"

#: The credentials volume holds two short files; the cap keeps a fault from filling memory.
CREDENTIALS_SIZE_LIMIT = "1Mi"
TMP_SIZE_LIMIT = "64Mi"

#: Seconds the script may take to connect before psql gives up (and the pod is retried).
CONNECT_TIMEOUT_SECONDS = 10

_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
#: Arguments that may be Outputs: (arg, ARN kind checked when a literal, or None).
_OUTPUT_ARGS = (
    ("master_secret_arn", "secret"),
    ("master_secret_kms_key_arn", "key"),
    ("oidc_provider_arn", None),
    ("oidc_provider_url", None),
)
#: Labels the Job controller sets on its pods; a user-given one would be refused or confusing.
_JOB_LABEL_PREFIX = "batch.kubernetes.io/"
_JOB_LABELS = frozenset({"job-name", "controller-uid"})
#: The longest object name that still leaves room for `-<hash>` within 63 characters (a Job's
#: name becomes a label value on its pods).
_MAX_OBJECT_NAME = 63 - 1 - pods.JOB_HASH_LENGTH

#: Reads the RDS master user secret (JSON with `username` and `password`) and writes a libpq
#: password file for it; prints only the user name. JSON::PP's error text quotes the input
#: around the fault, so it is never printed: it could hold part of the password.
PGPASS_PROGRAM = pods.job_file("pgpass.pl")


def postgres_name(service: str) -> str:
    """The PostgreSQL user and database of a catalogue service: `course-review` →
    `course_review` (a service name is a DNS-1035 label, so the result needs no quoting)."""
    return service.replace("-", "_")


def user_problem(user: object) -> str | None:
    """What a service's PostgreSQL user (and database) name should have been, or None."""
    return limits.POSTGRES_SERVICE_USER.problem(user)


def _literal(value: str) -> str:
    """A SQL string literal (standard_conforming_strings is on in every supported major)."""
    return "'" + value.replace("'", "''") + "'"


def _identifier(value: str) -> str:
    """A quoted SQL identifier. The names are validated to need no quoting; this is the
    second line of defence, not the first."""
    return '"' + value.replace('"', '""') + '"'


def _user_section(user: str) -> str:
    literal, ident = _literal(user), _identifier(user)
    return f"""
-- {user}: its login role (IAM authentication only) and its database
DO $osp$
BEGIN
  IF EXISTS (
    SELECT FROM pg_catalog.pg_roles AS r
    WHERE r.rolname = {literal}
      AND (r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls
           OR r.rolname = current_user
           OR EXISTS (SELECT FROM pg_catalog.pg_roles AS a
                      WHERE a.rolname = 'rds_superuser'
                        AND pg_catalog.pg_has_role(r.oid, a.oid, 'MEMBER')))
  ) THEN
    RAISE EXCEPTION 'osp: role % has administrative powers; it cannot be a service''s user',
      {literal};
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = {literal} AND datistemplate) THEN
    RAISE EXCEPTION 'osp: database % is a template; it cannot be a service''s database',
      {literal};
  END IF;
END
$osp$;
SELECT pg_catalog.format('CREATE ROLE %I LOGIN', {literal})
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {literal})
\\gexec
SELECT pg_catalog.format('ALTER ROLE %I LOGIN', rolname)
FROM pg_catalog.pg_roles WHERE rolname = {literal} AND NOT rolcanlogin
\\gexec
SELECT pg_catalog.format('GRANT {IAM_ROLE} TO %I', {literal})
WHERE NOT pg_catalog.pg_has_role({literal}, {_literal(IAM_ROLE)}, 'MEMBER')
\\gexec
SELECT pg_catalog.format('CREATE DATABASE %I', {literal})
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = {literal})
\\gexec
REVOKE ALL ON DATABASE {ident} FROM PUBLIC;
GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {ident} TO {ident};
"""


def _schema_section(user: str) -> str:
    ident = _identifier(user)
    return f"""
-- {user}: only its own user creates objects in its database's public schema
\\connect {ident}
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO {ident};
"""


def setup_script(users: Sequence[str]) -> str:
    """The psql script that gives each user (a PostgreSQL name, see `postgres_name`) its login
    role and its own database. Pure: the same users, in any order, give the same text.

    Run as the RDS master user, it is idempotent: every change is made only when it is missing
    (`\\gexec` runs a statement a query generated, and the query generates none when there is
    nothing to do), the REVOKE and GRANT statements are no-ops when already true, and nothing is
    ever dropped or revoked from a service's user. Per user:

    - refuse (an error, stopping the script) a role of that name that is a superuser, can
      create roles or databases, replicates, bypasses row security, is in rds_superuser or is
      the master user itself, and a template database of that name: osp never turns an
      administrator into a service, nor grants rds_iam to one (which would lock it out of
      password sign-in);
    - create the role with LOGIN and no password (or give an existing one LOGIN), and make it a
      member of rds_iam: it can then sign in with an IAM token only;
    - create the database, owned by the master user, with CONNECT, CREATE and TEMPORARY for the
      service's user and no privilege at all for PUBLIC, so no other user can even connect;
    - in it, take CREATE on the public schema from PUBLIC (already so from PostgreSQL 15) and
      give USAGE and CREATE to the service's user, whose tables are then its own.

    Why the master user, not the service, owns the database: creating a database owned by
    another role requires the creator to be able to SET ROLE to it, so the master user would
    have to become a member of the service's role — and a member, even an indirect one, of a
    role in rds_iam may only sign in with IAM. Every later connection of this script as the
    master user (each `\\connect`) would be refused, and so would the operators'. It is also
    the smaller grant: the service cannot drop its own database or change its settings.

    Raises InvalidArguments (a ValueError) for a name that `user_problem` refuses (nothing is
    quoted blindly).
    """
    names = sorted(users)
    found = [
        f"setup_script: got {user!r}; expected {expected}"
        for user in names
        if (expected := user_problem(user))
    ]
    if not found and len(set(names)) != len(names):
        found.append(f"setup_script: got {names!r}; expected each user once")
    if found:
        raise InvalidArguments(found)
    header = (
        "-- Generated by osp (osp.app.databases.setup_script) and run by its Job as the RDS\n"
        "-- master user. Idempotent; never drops anything: a removed service's user and data\n"
        "-- stay until someone removes them by hand.\n"
        "\\set ON_ERROR_STOP on\n"
    )
    return (
        header
        + "".join(_user_section(user) for user in names)
        + "".join(_schema_section(user) for user in names)
    )


# --- arguments -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ServiceDatabasesArgs:
    """Arguments of `ServiceDatabases`."""

    namespace: str
    """Namespace of every object: the estate's services namespace (see `ClusterAddons`), which
    enforces Pod Security `restricted` and denies all traffic by default. Never `default` or a
    `kube-*` one."""

    users: Sequence[str]
    """The services' PostgreSQL names (`postgres_name(service)` of each catalogue service with
    a database), at least one, each once: each gets a login role and a database of that name.
    Their order does not matter (the script sorts them)."""

    host: pulumi.Input[str]
    """The primary's address (`Postgres.address`): read replicas receive everything from it."""

    master_secret_arn: pulumi.Input[str]
    """The Secrets Manager secret RDS keeps the master user's name and password in
    (`Postgres.master_user_secret_arn`): the only secret the Job's role may read."""

    master_secret_kms_key_arn: pulumi.Input[str]
    """The customer key that secret is encrypted with (the instance's
    `master_user_secret_kms_key_id`): usable by the Job's role only through Secrets Manager."""

    oidc_provider_arn: pulumi.Input[str]
    """ARN of the cluster's IAM OIDC provider (`Cluster.oidc_provider_arn`)."""

    oidc_provider_url: pulumi.Input[str]
    """The cluster's OIDC issuer without `https://` (`Cluster.oidc_provider_url`)."""

    role_name: str
    """Physical name of the Job's IAM role, such as `osp-prod-database-setup`; fitted to IAM's
    64 characters (a longer one is shortened with a hash suffix)."""

    region: str
    """AWS region of the secret, such as us-east-1. Given explicitly: pods cannot reach the
    instance metadata service to ask."""

    database_cidrs: Sequence[str]
    """The isolated subnets' IPv4 CIDRs, where the instance lives: the Job may connect to them
    on `port` only. At least one; never 0.0.0.0/0."""

    endpoint_cidrs: Sequence[str]
    """Where the Job reaches STS (for IRSA) and Secrets Manager on 443: the private subnets'
    CIDRs when the estate has interface endpoints, or ["0.0.0.0/0"] when it reaches AWS's
    public endpoints through NAT. At least one."""

    port: int = PORT
    """The instance's port, 1-65535. Default: 5432, what `Postgres` listens on."""

    ca_bundle_pem: str | None = None
    """RDS's certificate bundle for the region (PEM, from
    `https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem`), if the caller
    has it: the Job then verifies the server's certificate and name (`sslmode=verify-full`).
    Default: none. Fetching it from the pod would need egress to the whole internet on 443 from
    a pod holding the master password, so without it the Job uses `sslmode=require` with
    `channel_binding=require`: TLS always (the instance refuses anything else, `rds.force_ssl`),
    and SCRAM-SHA-256-PLUS, in which the server proves it holds the master password's verifier
    and the exchange is bound to the TLS certificate the Job saw. A man in the middle can
    neither complete the sign-in nor learn the password (SCRAM never sends it). This needs the
    password stored as SCRAM, which `Postgres`'s parameter group (`password_encryption`) and
    every supported major's default ensure; a server that cannot bind the channel is refused,
    not trusted. With the bundle, channel binding is used when offered (`prefer`): the
    certificate check already keeps a man in the middle out, and the bundle is then also the
    way to run against a server that cannot bind the channel."""

    object_name: str = DEFAULT_OBJECT_NAME
    """Name of the ServiceAccount and NetworkPolicy, and prefix of the ConfigMap and Job
    (`<object_name>-<hash of the script>`): a DNS-1123 label of at most 52 characters that no
    catalogue service uses. Also the IRSA subject
    (`system:serviceaccount:<namespace>:<object_name>`). Default: osp-database-setup."""

    aws_cli_image: str = AWS_CLI_IMAGE
    """Image of the init container that reads the secret: an AWS CLI v2 image with `sh`, with
    an explicit tag (never `latest`), optionally a digest. Default: AWS_CLI_IMAGE."""

    postgres_image: str = POSTGRES_IMAGE
    """Image of the container that runs the script: needs `sh`, `psql` and Perl's JSON::PP
    (the Debian postgres images have all three); explicit tag, never `latest`. Default:
    POSTGRES_IMAGE."""

    deadline_seconds: int = 300
    """How long the Job may run in all, retries included (`activeDeadlineSeconds`), 60-1800.
    Pulumi waits two minutes longer for it, so the Job's own failure is what it reports.
    Default: 300."""

    node_selector: Mapping[str, str] = field(default_factory=pods.workload_pool)
    """Nodes the pod may run on. Default: the workload pool (`osp.io/pool: workload`), as the
    services."""

    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on every object and on the pod (such as `app.kubernetes.io/part-of`).
    Cannot set `app.kubernetes.io/name` (osp sets it to `object_name`) or the Job
    controller's own labels."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the IAM role (osp's tag set, from osp.platform.naming.standard_tags)."""


def _ca_bundle_problem(bundle: object) -> str | None:
    if bundle is None:
        return None
    if not isinstance(bundle, str) or "-----BEGIN CERTIFICATE-----" not in bundle:
        return "None, or RDS's PEM certificate bundle (-----BEGIN CERTIFICATE----- blocks)"
    if "PRIVATE KEY" in bundle:
        return "certificates only: a private key never goes into a ConfigMap"
    return None


_PORT = limits.whole_range(1, 65535, "the instance's port, 1 to 65535")
_DEADLINE_SECONDS = limits.whole_range(60, 1800, "60 to 1800")


def _users_problems(check: Problems, users: object) -> None:
    if isinstance(users, str) or not isinstance(users, Sequence):
        check.add("users", users, "a list of PostgreSQL names, not one string")
        return
    if not users:
        check.add(
            "users",
            [],
            "at least one user (create no ServiceDatabases when no service has a database)",
        )
    seen: set[str] = set()
    for index, user in enumerate(users):
        expected = user_problem(user)
        if expected:
            check.add(f"users[{index}]", user, expected)
        elif user in seen:
            check.add(f"users[{index}]", user, "each user once")
        else:
            seen.add(user)


def _instance_problems(check: Problems, args: ServiceDatabasesArgs) -> None:
    """The instance, its secret and key, and the Job's IAM role and region."""
    if isinstance(args.host, str):
        check.check(
            bool(_HOST.fullmatch(args.host)),
            "host",
            args.host,
            "the instance's address (a DNS name) such as "
            "osp-prod-db.abc123.us-east-1.rds.amazonaws.com",
        )
    elif not isinstance(args.host, pulumi.Output):
        check.add("host", args.host, "a str or Output[str] (Postgres.address)")
    for arg, kind in _OUTPUT_ARGS:
        value = getattr(args, arg)
        if not isinstance(value, str | pulumi.Output):
            check.add(arg, value, "a str or Output[str]")
        elif kind is not None and isinstance(value, str):
            expected = arn_problem(kind, value)
            if expected:
                check.add(arg, value, expected)
    check.extend(
        trust_problems(
            role_name=args.role_name,
            oidc_provider_arn=args.oidc_provider_arn,
            oidc_provider_url=args.oidc_provider_url,
        )
    )
    check.against(limits.AWS_REGION, "region", args.region)


def _job_problems(check: Problems, args: ServiceDatabasesArgs) -> None:
    """The Job's own objects: its CA bundle, names, images, deadline and labels."""
    expected = _ca_bundle_problem(args.ca_bundle_pem)
    if expected:
        shown = args.ca_bundle_pem if not isinstance(args.ca_bundle_pem, str) else "<pem>"
        check.add("ca_bundle_pem", shown, expected)
    object_name = args.object_name
    if not limits.DNS_LABEL.accepts(object_name) or len(object_name) > _MAX_OBJECT_NAME:
        check.add(
            "object_name",
            object_name,
            f"a DNS-1123 label of at most {_MAX_OBJECT_NAME} characters (the Job's name adds "
            "-<hash>)",
        )
    check.extend(
        pods.image_problems(aws_cli_image=args.aws_cli_image, postgres_image=args.postgres_image)
    )
    check.against(_DEADLINE_SECONDS, "deadline_seconds", args.deadline_seconds)
    check.extend(pods.label_problems("labels", args.labels))
    for key in args.labels:
        if key == pods.NAME_LABEL:
            check.add("labels", key, f"no {pods.NAME_LABEL}: osp sets it to object_name")
        elif isinstance(key, str) and (key.startswith(_JOB_LABEL_PREFIX) or key in _JOB_LABELS):
            check.add("labels", key, "none of the Job controller's own labels")
    check.extend(pods.label_problems("node_selector", args.node_selector))


def problems(name: str, args: ServiceDatabasesArgs) -> list[str]:
    """Everything wrong with `args`, one message per problem (empty when they are valid)."""
    check = Problems("ServiceDatabases", name)
    expected = pods.namespace_problem(args.namespace)
    if expected:
        check.add("namespace", args.namespace, expected)
    _users_problems(check, args.users)
    _instance_problems(check, args)
    check.extend(
        pods.cidr_list_problems(
            "database_cidrs",
            args.database_cidrs,
            whole_space="the isolated subnets' CIDRs, not the whole address space",
        )
    )
    check.extend(pods.cidr_list_problems("endpoint_cidrs", args.endpoint_cidrs))
    check.against(_PORT, "port", args.port)
    _job_problems(check, args)
    return check.found


# --- what the pod runs ---------------------------------------------------------------------

# Both containers run a shell script shipped under app/jobs/, its `{…}` fields filled from the
# paths and status above.

# The init container runs with the Job's own IAM role (IRSA): it can read this one secret and
# nothing else. The secret only ever lands in the memory-backed volume, readable by this user
# alone (umask 077).
FETCH_COMMAND = pods.job_file("fetch_master_secret.sh").format(secret_file=SECRET_FILE)

# The secret becomes a password file (0600, as libpq requires) and is removed; psql reads the
# password from the file, never from an argument or the environment, where `ps` and
# /proc/<pid>/environ would show it. The file goes as soon as psql is done.
SETUP_COMMAND = pods.job_file("setup_databases.sh").format(
    config_dir=CONFIG_DIR,
    pgpass_program=PGPASS_PROGRAM_KEY,
    secret_file=SECRET_FILE,
    script=SCRIPT_KEY,
    script_error_exit_code=SCRIPT_ERROR_EXIT_CODE,
)


def config_data(users: Sequence[str], ca_bundle_pem: str | None = None) -> dict[str, str]:
    """What the ConfigMap holds: the script, the password-file program, and the CA bundle if
    given. None of it is secret."""
    data = {SCRIPT_KEY: setup_script(users), PGPASS_PROGRAM_KEY: PGPASS_PROGRAM}
    if ca_bundle_pem is not None:
        data[CA_BUNDLE_KEY] = ca_bundle_pem
    return data


def content_hash(data: Mapping[str, str]) -> str:
    """A short hash of the ConfigMap's data: part of the ConfigMap's and Job's names, so a new
    script is a new Job (a Job's pod template cannot change, and a finished Job never runs
    again)."""
    return pods.fingerprint(dict(data))


def connection_env(args: ServiceDatabasesArgs) -> list[dict[str, object]]:
    """libpq's variables for every connection of the script (the `\\connect`s included).
    PGUSER comes from the secret at run time; the password from PGPASSFILE."""
    if args.ca_bundle_pem is not None:
        tls = [
            {"name": "PGSSLMODE", "value": "verify-full"},
            {"name": "PGSSLROOTCERT", "value": f"{CONFIG_DIR}/{CA_BUNDLE_KEY}"},
            {"name": "PGCHANNELBINDING", "value": "prefer"},
        ]
    else:
        # See ServiceDatabasesArgs.ca_bundle_pem: without RDS's CA, channel binding is what
        # keeps a man in the middle out.
        tls = [
            {"name": "PGSSLMODE", "value": "require"},
            {"name": "PGCHANNELBINDING", "value": "require"},
        ]
    return [
        {"name": "HOME", "value": TMP_DIR},
        {"name": "PGHOST", "value": args.host},
        {"name": "PGPORT", "value": str(args.port)},
        {"name": "PGDATABASE", "value": MAINTENANCE_DATABASE},
        *tls,
        {"name": "PGPASSFILE", "value": PGPASS_FILE},
        {"name": "PGCONNECT_TIMEOUT", "value": str(CONNECT_TIMEOUT_SECONDS)},
        {"name": "PGAPPNAME", "value": args.object_name},
    ]


def network_policy_spec(args: ServiceDatabasesArgs, job_name: str) -> dict[str, object]:
    """The Job's pods: no ingress; egress to CoreDNS, the database and the AWS endpoints only."""
    # The Job controller labels its pods with the Job's name: exactly this Job's pods.
    return pods.no_ingress_policy_spec(
        {"batch.kubernetes.io/job-name": job_name},
        [
            pods.cidr_egress(args.database_cidrs, [args.port]),
            pods.cidr_egress(args.endpoint_cidrs, [pods.HTTPS_PORT]),
        ],
    )


def _volume_mounts(*names: tuple[str, str, bool]) -> list[dict[str, object]]:
    return [{"name": n, "mountPath": path, "readOnly": ro} for n, path, ro in names]


def _container(
    name: str,
    image: str,
    command: str,
    env: list[dict[str, object]],
    memory: tuple[str, str],
    mounts: list[dict[str, object]],
) -> dict[str, object]:
    """One of the Job's containers: a shell command, hardened, with 50m-500m of CPU and
    `memory` (requested, limit)."""
    return pods.job_container(
        name,
        image,
        ["/bin/sh", "-c", command],
        env,
        resources={
            "requests": {"cpu": "50m", "memory": memory[0]},
            "limits": {"cpu": "500m", "memory": memory[1]},
        },
        mounts=mounts,
        # psql's error is in the log, not a message file: show it in `kubectl describe`.
        termination_message_policy="FallbackToLogsOnError",
    )


def pod_spec(
    args: ServiceDatabasesArgs, config_map_name: str, secret_arn: pulumi.Input[str]
) -> dict[str, object]:
    """The Job's pod: an init container that reads the secret, a container that runs psql."""
    fetch = _container(
        "fetch-secret",
        args.aws_cli_image,
        FETCH_COMMAND,
        [
            {"name": "HOME", "value": TMP_DIR},
            {"name": "AWS_REGION", "value": args.region},
            # Pods cannot reach IMDS (hop limit 1): do not wait for it.
            {"name": "AWS_EC2_METADATA_DISABLED", "value": "true"},
            {"name": "AWS_PAGER", "value": ""},
            {"name": "MASTER_SECRET_ARN", "value": secret_arn},
        ],
        ("128Mi", "256Mi"),
        _volume_mounts(("credentials", CREDENTIALS_DIR, False), ("tmp", TMP_DIR, False)),
    )
    setup = _container(
        "setup",
        args.postgres_image,
        SETUP_COMMAND,
        connection_env(args),
        ("64Mi", "128Mi"),
        _volume_mounts(
            ("config", CONFIG_DIR, True),
            ("credentials", CREDENTIALS_DIR, False),
            ("tmp", TMP_DIR, False),
        ),
    )
    return pods.job_pod_spec(
        service_account=args.object_name,
        node_selector=args.node_selector,
        init_containers=[fetch],
        containers=[setup],
        volumes=[
            pods.config_map_volume("config", config_map_name),
            # tmpfs: the secret and the password file never touch a node's disk.
            pods.memory_volume("credentials", CREDENTIALS_SIZE_LIMIT),
            pods.scratch_volume("tmp", TMP_SIZE_LIMIT),
        ],
    )


def job_spec(
    args: ServiceDatabasesArgs,
    config_map_name: str,
    secret_arn: pulumi.Input[str],
    labels: Mapping[str, str],
) -> dict[str, object]:
    """The Job: one pod, retried a little, bounded in time, never cleaned up by a TTL."""
    return {
        "backoffLimit": BACKOFF_LIMIT,
        "activeDeadlineSeconds": args.deadline_seconds,
        # No ttlSecondsAfterFinished: Pulumi owns the Job, and a Job that deleted itself would
        # show as drift and be recreated — re-running the script — on the next refresh and up.
        "podFailurePolicy": {
            "rules": [
                # A failed statement or a malformed secret fails the same way again.
                {
                    "action": "FailJob",
                    "onExitCodes": {
                        "containerName": "setup",
                        "operator": "In",
                        "values": [SCRIPT_ERROR_EXIT_CODE],
                    },
                },
                # A drained node or a preempted pod is no failure of the script.
                {
                    "action": "Ignore",
                    "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
                },
            ]
        },
        "template": {
            "metadata": {"labels": dict(labels)},
            "spec": pod_spec(args, config_map_name, secret_arn),
        },
    }


class ServiceDatabases(pulumi.ComponentResource):
    """Each service's own PostgreSQL user and database, created from inside the cluster.

    - ConfigMap `<object_name>-<hash>` (immutable): the psql script (`setup_script`) and the
      small Perl program that turns the master secret into a password file; no secret.
    - Job `<object_name>-<hash>`: runs the script once, as the RDS master user, and Pulumi waits
      for it to complete (a failure fails the update). The hash is of the ConfigMap's content,
      so a changed script — a service added — is a new Job, run again; any other change to the
      pod replaces the Job too (delete first: the name may stay). A Job that failed is
      replaced, so re-run, on the next update (`pulumi.com/replaceUnready`). Four retries for
      transient failures (a role IAM has not yet propagated); a failed statement fails the Job
      at once; a deadline bounds it all. No TTL: Pulumi owns the finished Job.
    - The master password never enters a manifest, Pulumi's state or a log: an init container
      (AWS CLI, pinned) reads the secret with the Job's own IAM role into a memory-backed
      emptyDir; the main container (psql, pinned) writes it as a 0600 password file there,
      deletes the secret, runs the script and deletes the file. TLS is always on: the server
      is verified (`verify-full`) when `ca_bundle_pem` is given, and SCRAM channel binding is
      required when it is not.
    - Both containers: non-root (uid/gid 65532), read-only root filesystem, no privilege
      escalation, every capability dropped, seccomp RuntimeDefault — Pod Security
      `restricted`; requests and limits.
    - ServiceAccount `<object_name>` with no API token, bound to its own IAM role
      (`ServiceIdentity`), which may read the master secret and decrypt it through Secrets
      Manager, and nothing else.
    - NetworkPolicy `<object_name>`: no ingress; egress to CoreDNS, to the database subnets on
      the port and to the endpoint CIDRs on 443, nothing else.

    Nothing is ever dropped: removing a service from the catalogue leaves its user and its
    database (with its data) on the instance; remove them by hand once the data is no longer
    needed. Make this component depend on `ClusterAddons` (the namespace must exist) and the
    services' workloads on this component (their user must exist before they connect).
    """

    job_name: pulumi.Output[str]
    """The Job's name, `<object_name>-<hash>`, once it has completed."""

    role_arn: pulumi.Output[str]
    """The Job's IAM role."""

    def __init__(
        self, name: str, args: ServiceDatabasesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        found = problems(name, args)
        if found:
            raise InvalidArguments(found)
        child = pulumi.ResourceOptions(parent=self)
        namespace, object_name = args.namespace, args.object_name
        labels = {**args.labels, pods.NAME_LABEL: object_name}
        data = config_data(args.users, args.ca_bundle_pem)
        versioned = f"{object_name}-{content_hash(data)}"

        identity = ServiceIdentity(
            f"{name}-identity",
            ServiceIdentityArgs(
                service=object_name,
                namespace=namespace,
                service_account=object_name,
                oidc_provider_arn=args.oidc_provider_arn,
                oidc_provider_url=args.oidc_provider_url,
                role_name=args.role_name,
                grants=Grants(
                    secret_arns=[args.master_secret_arn],
                    keys=[KeyGrant(args.master_secret_kms_key_arn, ("secretsmanager",))],
                ),
                tags=args.tags,
            ),
            child,
        )
        account = pods.irsa_service_account(
            f"{name}-service-account",
            name=object_name,
            namespace=namespace,
            labels=labels,
            role_arn=identity.role_arn,
            opts=child,
        )
        script = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata={"name": versioned, "namespace": namespace, "labels": labels},
            data=data,
            immutable=True,
            opts=child,
        )
        policy = k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata={"name": object_name, "namespace": namespace, "labels": labels},
            spec=network_policy_spec(args, versioned),
            opts=child,
        )
        job = pods.run_once_job(
            f"{name}-job",
            metadata={"name": versioned, "namespace": namespace, "labels": labels},
            spec=job_spec(args, versioned, args.master_secret_arn, labels),
            # Two minutes beyond the Job's own deadline.
            timeout=f"{args.deadline_seconds + 120}s",
            parent=self,
            # The role must hold its policy, the pod its egress, before the pod starts.
            depends_on=[identity, account, script, policy],
        )

        self.job_name = job.metadata.name
        self.role_arn = identity.role_arn
        self.register_outputs({"jobName": self.job_name, "roleArn": self.role_arn})
