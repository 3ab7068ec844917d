"""Service catalogues of the bundled blueprints (`blueprints/<name>/blueprint.yaml`).

from osp.platform.catalogue import load_catalogue
catalogue = load_catalogue("osp")
catalogue.service("fee").port                   # 8080
catalogue.consumers_of("enrollment-created")    # ('fee', 'notification', 'reporting')
catalogue.callers_of("fee")                     # ('enrollment',)
"""

from osp.platform.catalogue.loader import (
    CATALOGUE_FILE,
    UnknownBlueprintError,
    catalogue_warnings,
    load_catalogue,
    parse_catalogue,
    parse_catalogue_text,
)
from osp.platform.catalogue.models import (
    Access,
    Autoscaling,
    Bucket,
    Catalogue,
    Database,
    DataStore,
    Event,
    Image,
    LivenessProbe,
    Probe,
    Probes,
    Quantities,
    ReadinessProbe,
    Replicas,
    Resources,
    Secret,
    SecretKind,
    Service,
    StartupProbe,
    Subscription,
    Transport,
    Uses,
    Volume,
    cpu_millicores,
    memory_bytes,
)

__all__ = [
    "CATALOGUE_FILE",
    "Access",
    "Autoscaling",
    "Bucket",
    "Catalogue",
    "DataStore",
    "Database",
    "Event",
    "Image",
    "LivenessProbe",
    "Probe",
    "Probes",
    "Quantities",
    "ReadinessProbe",
    "Replicas",
    "Resources",
    "Secret",
    "SecretKind",
    "Service",
    "StartupProbe",
    "Subscription",
    "Transport",
    "UnknownBlueprintError",
    "Uses",
    "Volume",
    "catalogue_warnings",
    "cpu_millicores",
    "load_catalogue",
    "memory_bytes",
    "parse_catalogue",
    "parse_catalogue_text",
]
