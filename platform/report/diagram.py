"""The architecture diagram, PNG and SVG, drawn by the `diagrams` package with Graphviz.

The nodes come from the report's `architecture` facts: the edge (Route 53 → CloudFront → WAF
→ ALB), the VPC's tiers per zone, the cluster and its services, the data stores, topics and
queues. `dot` is a system program (the Debian package graphviz); without it, `draw` raises
`GraphvizMissing` and the caller writes the rest of the report.
"""

from __future__ import annotations

import base64
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class GraphvizMissing(Exception):
    """Graphviz's `dot` is not on PATH."""


@dataclass(frozen=True)
class Drawing:
    png: bytes
    svg: str
    """Self-contained: the icons the SVG refers to by file path are embedded as data: URIs."""


_STORE_ICONS = {
    "rds": ("diagrams.aws.database", "RDS"),
    "redis": ("diagrams.aws.database", "ElastiCache"),
    "rabbitmq": ("diagrams.aws.integration", "MQ"),
    "table": ("diagrams.aws.database", "Dynamodb"),
}


def dot_available() -> bool:
    return shutil.which("dot") is not None


def draw(architecture: dict[str, Any], title: str) -> Drawing:
    """The diagram of `architecture` (the facts' section of that name)."""
    if not dot_available():
        raise GraphvizMissing(
            "Graphviz's `dot` is not installed (Debian/Ubuntu: apt-get install graphviz; "
            "macOS: brew install graphviz): the architecture diagram (PNG, SVG) is left out"
        )
    # diagrams imports graphviz's Python bindings; kept here so reports without a diagram,
    # and `osp --help`, never load them.
    from diagrams import Cluster, Diagram, Edge
    from diagrams.aws.compute import EKS
    from diagrams.aws.integration import SNS, SQS
    from diagrams.aws.network import (
        CloudFront,
        ElbApplicationLoadBalancer,
        PrivateSubnet,
        PublicSubnet,
        Route53,
    )
    from diagrams.aws.security import WAF
    from diagrams.k8s.compute import Deploy

    with tempfile.TemporaryDirectory(prefix="osp-diagram-") as folder:
        base = str(Path(folder) / "architecture")
        with Diagram(
            title,
            filename=base,
            outformat=["png", "svg"],
            show=False,
            direction="LR",
            graph_attr={"fontsize": "20", "pad": "0.4"},
        ):
            nodes = {z: Route53(z) for z in architecture["dnsZones"]}
            nodes |= {d: CloudFront(_short(d)) for d in architecture["distributions"]}
            nodes |= {w: WAF(_short(w)) for w in architecture["webAcls"]}
            with Cluster("VPC"):
                for tier in architecture["tiers"]:
                    with Cluster(f"{tier} subnets"):
                        icon = PublicSubnet if tier == "public" else PrivateSubnet
                        for zone in architecture["zones"]:
                            icon(zone)
                nodes |= {
                    b: ElbApplicationLoadBalancer(_short(b)) for b in architecture["loadBalancers"]
                }
                with Cluster("EKS"):
                    nodes |= {c: EKS(_short(c)) for c in architecture["clusters"]}
                    for service in architecture["services"]:
                        Deploy(_short(service))
                with Cluster("data stores"):
                    nodes |= {s: _store(s) for s in architecture["dataStores"]}
            events = []
            if architecture["topics"] or architecture["queues"]:
                with Cluster("events"):
                    events = [
                        SNS(f"{architecture['topics']} topics"),
                        SQS(f"{architecture['queues']} queues"),
                    ]
            styles = {"request": {}, "protects": {"style": "dotted"}, "uses": {"style": "dashed"}}
            for link in architecture["links"]:
                if link["from"] in nodes and link["to"] in nodes:
                    nodes[link["from"]] >> Edge(**styles[link["kind"]]) >> nodes[link["to"]]
            for cluster in architecture["clusters"]:
                for event in events:
                    nodes[cluster] >> Edge(style="dashed") >> event
        png = Path(f"{base}.png").read_bytes()
        svg = _embedded(Path(f"{base}.svg").read_text(encoding="utf-8"))
    return Drawing(png, svg)


def _short(name: str) -> str:
    return name.removesuffix("-distribution").removesuffix("-web-acl").removesuffix("-workload")


def _store(name: str):
    import importlib

    for marker, (module, cls) in _STORE_ICONS.items():
        if marker in name:
            return getattr(importlib.import_module(module), cls)(_short(name))
    from diagrams.aws.database import Database

    return Database(_short(name))


_IMAGE = re.compile(r'xlink:href="([^"]+\.png)"')


def _embedded(svg: str) -> str:
    """`svg` with each icon it names by file path inlined, so the file stands alone."""

    def inline(match: re.Match[str]) -> str:
        data = base64.b64encode(Path(match.group(1)).read_bytes()).decode()
        return f'xlink:href="data:image/png;base64,{data}"'

    return _IMAGE.sub(inline, svg)
