"""osp.platform.report: the facts of dev and prod validate against the report's JSON Schema,
a tiny estate's Markdown matches its golden file, the HTML stands alone, no secret reaches any
format, and a missing Graphviz leaves the diagram out, saying so."""

from __future__ import annotations

import json
import struct
from datetime import UTC, date, datetime
from pathlib import Path

import jsonschema
import pytest

from osp.platform.engine.fake_aws import FakeAws
from osp.platform.plan import STACK_TYPE, Plan, PlannedResource, ResourceOptions
from osp.platform.policy import RULES, context_of, evaluate
from osp.platform.report import FILE_NAMES, Format, collect, plan_hash, render
from osp.platform.report.rendering import schema, to_html, to_markdown
from osp.platform.spec.models import WaiverSpec
from tests.support import plan_of, spec_of

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
TODAY = date(2030, 1, 2)
GOLDEN = Path(__file__).parent / "golden" / "tiny.md"


def facts_of(environment: str, blueprint: str | None = None, now: datetime = NOW) -> dict:
    plan, spec = plan_of(environment, blueprint), spec_of(environment, blueprint)
    report = evaluate(plan, RULES, context_of(spec), spec.policy.waivers, today=now.date())
    return collect(plan, spec, report, version="9.9.9", generated_at=now)


@pytest.mark.parametrize(
    ("environment", "blueprint"), [("dev", None), ("prod", None), ("prod", "learning-hub")]
)
def test_the_json_report_validates_against_the_schema(environment, blueprint):
    facts = facts_of(environment, blueprint)
    jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker()).validate(
        json.loads(render(facts, [Format.JSON], diagram=False).files["report.json"])
    )
    assert facts["schemaVersion"] == 1
    assert facts["summary"]["planHash"] == plan_hash(plan_of(environment, blueprint))


def test_only_the_version_and_time_change_between_runs():
    first, second = facts_of("dev"), facts_of("dev", now=datetime(2031, 5, 6, tzinfo=UTC))
    assert first["summary"].pop("generatedAt") != second["summary"].pop("generatedAt")
    first["guardrails"].pop("checkedOn"), second["guardrails"].pop("checkedOn")
    assert first == second
    assert to_markdown(facts_of("dev")) == to_markdown(facts_of("dev"))


def test_the_prod_facts_say_who_may_reach_the_database_and_how_it_is_kept():
    facts = facts_of("prod")
    to_postgres = [
        r for r in facts["network"]["ingress"] if r["securityGroup"] == "osp-prod-postgres-sg"
    ]
    assert to_postgres == [
        {
            "securityGroup": "osp-prod-postgres-sg",
            "ports": "tcp 5432",
            "peerKind": "security-group",
            "peer": "osp-prod-eks-node",
            "description": "PostgreSQL from a client security group",
            "declaredBy": "osp-prod-postgres-from-client-0",
        }
    ]
    from_cloudfront = [r for r in facts["network"]["ingress"] if r["peerKind"] == "prefix-list"]
    assert {r["ports"] for r in from_cloudfront} == {"tcp 443"}  # no port 80 (issue 19)
    database = next(d for d in facts["dataStores"] if d["name"] == "osp-prod-postgres-primary")
    assert database["multiAz"] and database["deletionProtection"] and database["protect"]
    assert database["backupRetentionDays"] == 35
    assert database["replicas"] == ["osp-prod-postgres-replica-1"]
    assert database["key"] == "osp-prod-keys-data"
    fee = next(i for i in facts["identities"] if i["role"] == "osp-prod-fee-identity-role")
    assert fee["trust"] == ["service account osp-services:fee"]
    topic = next(t for t in facts["events"]["topics"] if t["awsName"] == "osp-prod-fee-calculated")
    assert topic["publishers"] == ["osp-prod-fee-identity-role"]
    distribution = next(
        d for d in facts["edge"]["distributions"] if d["name"] == "osp-prod-api-cdn-distribution"
    )
    assert distribution["certificate"] == "osp-prod-dns-edge-certificate"
    assert distribution["minimumTls"] == "TLSv1.2_2021"


# --- secrets ----------------------------------------------------------------------------------


def test_no_secret_value_reaches_any_format(monkeypatch):
    """Every value the fake cloud makes for a secret (random passwords, among them the
    origin-verify header value) is recorded as the engine runs, then looked for in every file."""
    from osp.platform.engine import offline
    from osp.stacks.estate import build

    secrets: set[str] = set()
    original = FakeAws.new_resource

    def recording(self, args):
        ident, state = original(self, args)
        if args.typ == "random:index/randomPassword:RandomPassword":
            secrets.update(v for k, v in state.items() if k in ("result", "bcryptHash"))
        return ident, state

    monkeypatch.setattr(FakeAws, "new_resource", recording)
    spec = spec_of("prod")
    plan = offline.run(spec, build)
    names = {r.name for r in plan.of_type("random:index/randomPassword:RandomPassword")}
    assert "osp-prod-api-origin-verify" in names and len(secrets) == 2 * len(names)
    report = evaluate(plan, RULES, context_of(spec), today=TODAY)
    produced = render(collect(plan, spec, report, version="1", generated_at=NOW), list(Format))
    assert set(FILE_NAMES.values()) <= set(produced.files)
    for name, data in produced.files.items():
        text = data.decode("latin-1")
        leaked = sorted(s for s in secrets if s in text)
        assert not leaked, f"{name} holds secret values"
        assert "<secret>" not in text, name


# --- HTML and the diagram ---------------------------------------------------------------------


@pytest.mark.skipif(not __import__("shutil").which("dot"), reason="Graphviz's dot is not installed")
def test_the_html_stands_alone_and_embeds_a_sensible_diagram():
    produced = render(facts_of("dev"), [Format.HTML])
    png = produced.files["architecture.png"]
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert 400 <= width <= 8000 and 400 <= height <= 8000
    svg = produced.files["architecture.svg"].decode()
    assert "<svg" in svg and 'xlink:href="/' not in svg
    html = produced.files["report.html"].decode()
    assert '<img alt="Architecture of dev" src="data:image/png;base64,' in html
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "<link" not in html
    assert "@media print" in html
    for heading in (
        "Network", "Data stores", "Identities", "Edge", "Events", "Tenants", "Guardrails"
    ):  # fmt: skip
        assert f"<h2>{heading}</h2>" in html


def test_without_graphviz_the_report_says_so_and_writes_the_rest(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    produced = render(facts_of("dev"), list(Format))
    assert set(produced.files) == set(FILE_NAMES.values())
    assert len(produced.notes) == 1 and "Graphviz's `dot` is not installed" in produced.notes[0]
    assert "apt-get install graphviz" in produced.files["report.html"].decode()


def test_markup_in_a_fact_is_text_in_the_html():
    facts = facts_of("dev")
    facts["network"]["securityGroups"][0]["description"] = "<script>alert(1)</script>"
    html = to_html(facts, None, "no diagram")
    assert "<script>" not in html and "&lt;script&gt;" in html


# --- the golden Markdown of a tiny estate -----------------------------------------------------


def _resource(
    type_: str, name: str, inputs: dict, *, custom: bool = True, deps=None, protect=False
):
    return PlannedResource(
        urn=f"urn:pulumi:tiny::osp::{type_}::{name}",
        type=type_,
        name=name,
        parent=f"urn:pulumi:tiny::osp::{STACK_TYPE}::osp-tiny",
        custom=custom,
        provider=None,
        dependencies=(),
        property_dependencies={
            k: (f"urn:pulumi:tiny::osp::{t}::{n}",) for k, (t, n) in (deps or {}).items()
        },
        options=ResourceOptions(protect=protect),
        inputs=inputs,
    )


SG = "aws:ec2/securityGroup:SecurityGroup"
DB = "aws:rds/instance:Instance"
ROLE = "aws:iam/role:Role"
QUEUE = "aws:sqs/queue:Queue"


def tiny_plan() -> Plan:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {"oidc:sub": "system:serviceaccount:apps:grades"}},
            }
        ],
    }
    access = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
             "Resource": "arn:aws:sqs:us-east-1:123456789012:tiny-grades"},
        ],
    }  # fmt: skip
    resources = (
        _resource(STACK_TYPE, "osp-tiny", {}, custom=False),
        _resource("aws:ec2/vpc:Vpc", "tiny-vpc", {"cidrBlock": "10.9.0.0/16"}),
        *(
            _resource(
                "aws:ec2/subnet:Subnet",
                f"tiny-{tier}-{zone}",
                {
                    "availabilityZone": f"us-east-1{zone}",
                    "cidrBlock": cidr,
                    "tags": {"osp:subnet-tier": tier},
                },
            )
            for tier, zone, cidr in (
                ("private", "a", "10.9.0.0/20"),
                ("private", "b", "10.9.16.0/20"),
            )
        ),
        _resource(SG, "tiny-db-sg", {"description": "the database"}),
        _resource(
            SG,
            "tiny-app-sg",
            {
                "description": "the app",
                "egress": [
                    {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}
                ],
            },
        ),
        _resource(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "tiny-db-from-app",
            {"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "description": "app | db"},
            deps={
                "securityGroupId": (SG, "tiny-db-sg"),
                "referencedSecurityGroupId": (SG, "tiny-app-sg"),
            },
        ),
        _resource(
            DB,
            "tiny-db",
            {
                "engine": "postgres",
                "engineVersion": "16",
                "instanceClass": "db.t4g.micro",
                "allocatedStorage": 20,
                "storageEncrypted": True,
                "multiAz": False,
                "backupRetentionPeriod": 1,
                "deletionProtection": False,
                "identifier": "tiny-db",
                "publiclyAccessible": False,
            },
            deps={"vpcSecurityGroupIds": (SG, "tiny-db-sg")},
            protect=True,
        ),
        _resource(
            ROLE,
            "tiny-grades-role",
            {"description": "IRSA role of grades", "assumeRolePolicy": json.dumps(trust)},
        ),
        _resource(
            "aws:iam/rolePolicy:RolePolicy",
            "tiny-grades-policy",
            {"policy": json.dumps(access)},
            deps={"role": (ROLE, "tiny-grades-role")},
        ),
        _resource(QUEUE, "tiny-grades-dlq", {"name": "tiny-grades-dlq"}),
        _resource(
            QUEUE,
            "tiny-grades-queue",
            {"name": "tiny-grades", "redrivePolicy": "{}", "messageRetentionSeconds": 345600},
            deps={"redrivePolicy": (QUEUE, "tiny-grades-dlq")},
        ),
    )
    return Plan("osp", "tiny", "tiny", "osp", "offline", resources, {})


def test_the_markdown_of_a_tiny_estate_matches_its_golden_file():
    plan, spec = tiny_plan(), spec_of("dev")
    rules = [r for r in RULES if r.id in ("OSP-RDS-1", "OSP-RDS-3", "OSP-RDS-4", "OSP-NET-1")]
    waiver = WaiverSpec.model_validate(
        {"rule": "OSP-RDS-4", "resource": "tiny-*",
         "reason": "a teaching copy, rebuilt every night",
         "expires": "2030-06-30", "approved_by": "security@example.com"}
    )  # fmt: skip
    context = context_of(spec).__class__(**{**context_of(spec).__dict__, "production": True})
    report = evaluate(plan, rules, context, [waiver], today=TODAY)
    markdown = to_markdown(collect(plan, spec, report, version="9.9.9", generated_at=NOW))
    if not GOLDEN.exists():  # first run writes it; review it, then it is the contract
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(markdown)
    assert markdown == GOLDEN.read_text()


# --- the tenants section ----------------------------------------------------------------------


def tiny_fleet():
    """Three schools: a pool and a silo one verified (the silo reaching the pool school's
    prefix), and a deleted one, with no stack to verify."""
    from osp.platform.tenancy import (
        Finding,
        TenantRequest,
        TenantState,
        new_tenant,
        transition,
    )
    from osp.platform.tenancy.fleet import Fleet
    from osp.platform.tenancy.onboarding import IsolationReport

    def tenant(slug, tier, *states):
        t = new_tenant(
            TenantRequest(slug, slug.title(), tier, f"it@{slug}.org"), actor="a", now=NOW
        )
        for state in states:
            t = transition(t, state, actor="a", reason="test", now=NOW)
        return t

    leak = Finding("shelbyville", "cross-tenant-access", "leak", "reaches tenants/springfield/")
    plans = {slug: tiny_plan() for slug in ("shelbyville", "springfield")}
    return Fleet(
        environment="tiny",
        registry="the local registry (offline)",
        tenants=(
            tenant("ogdenville", "pool", *[TenantState(s) for s in (
                "active", "offboarding", "deleted")]),
            tenant("shelbyville", "silo", TenantState.ACTIVE, TenantState.SUSPENDED),
            tenant("springfield", "pool", TenantState.ACTIVE),
        ),
        plans=plans,
        isolation=IsolationReport(("shelbyville", "springfield"), (leak,)),
    )  # fmt: skip


def test_the_tenants_section_counts_and_names_each_violation():
    plan, spec = tiny_plan(), spec_of("dev")
    report = evaluate(plan, RULES, context_of(spec), today=TODAY)
    facts = collect(plan, spec, report, version="9.9.9", generated_at=NOW, tenants=tiny_fleet())
    jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker()).validate(
        json.loads(render(facts, [Format.JSON], diagram=False).files["report.json"])
    )
    markdown = to_markdown(facts)
    section = markdown[markdown.index("## Tenants") : markdown.index("## Guardrails")]
    assert section == (
        "## Tenants\n\n3 tenants in the local registry (offline).\n\n"
        "| tier | tenants |\n| --- | --- |\n| pool | 2 |\n| silo | 1 |\n\n"
        "| state | tenants |\n| --- | --- |\n| provisioning | 0 |\n| active | 1 |\n"
        "| suspended | 1 |\n| offboarding | 0 |\n| deleted | 1 |\n| failed | 0 |\n\n"
        "### Isolation\n\nNOT isolated: 1 violation in the plans of 2 tenant stacks.\n\n"
        "| tenant | name | tier | state | stack | blueprint | isolation |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n"
        "| ogdenville | Ogdenville | pool | deleted | – | – | not verified |\n"
        "| shelbyville | Shelbyville | silo | suspended | tiny.tenant-shelbyville | – "
        "| not isolated (1 violation) |\n"
        "| springfield | Springfield | pool | active | tiny.tenant-springfield | – | isolated |\n\n"
        "| tenant | rule | resource | evidence |\n| --- | --- | --- | --- |\n"
        "| shelbyville | cross-tenant-access | leak | reaches tenants/springfield/ |\n\n"
    )
    assert "on the environment's plan and its 2 tenant stacks." in markdown
    assert "it@" not in markdown  # admin e-mail addresses are personal data: left out


def test_the_schema_knows_every_tier_and_state():
    from osp.platform.tenancy import TenantState, Tier

    included = schema()["properties"]["tenants"]["oneOf"][1]["properties"]
    assert set(included["byTier"]["required"]) == {t.value for t in Tier}
    assert set(included["byState"]["required"]) == {s.value for s in TenantState}
    row = included["tenants"]["items"]["properties"]
    assert set(row["tier"]["enum"]) == {t.value for t in Tier}
    assert set(row["state"]["enum"]) == {s.value for s in TenantState}
