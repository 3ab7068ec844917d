"""Non-secret configuration in the service catalogue: the `parameters:` section.

Feature flags and settings live in SSM Parameter Store, one hierarchy per environment:
`/osp/<env>/services/<service>/<name>` for a service's own parameters and
`/osp/<env>/shared/<name>` for those every service reads. `parameters:` is keyed by a
service's name, or `shared`; each parameter has a type (String or StringList — secrets belong
in `secrets:`, never here), a value per environment profile or a default, and a description.
A service reads its own path and the shared path, and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_core import InitErrorDetails

from osp.platform.catalogue.models import _error, _fail, _Model

#: The key of `parameters:` that holds what every service reads.
SHARED = "shared"
#: Standard-tier parameters hold at most 4 KB.
MAX_VALUE_BYTES = 4096
#: Environment profiles a value may be given for (osp.platform.spec.Profile's values).
PROFILES = ("dev", "staging", "prod")


class ParameterType(StrEnum):
    """What a parameter holds. SecureString is refused: secrets go in `secrets:`."""

    STRING = "String"
    #: Comma-separated values, such as a list of enabled feature flags.
    STRING_LIST = "StringList"


def _text(value: Any) -> Any:
    # YAML reads `7` and `true` as a number and a boolean; a parameter's value is text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _value_problem(value: str) -> str | None:
    if not value:
        return "a non-empty value (SSM refuses empty parameters)"
    if len(value.encode()) > MAX_VALUE_BYTES:
        return f"at most {MAX_VALUE_BYTES} bytes (a standard-tier parameter)"
    if "{{" in value:
        return "a value without '{{' (SSM reads it as a parameter reference)"
    return None


class Parameter(_Model):
    """One parameter: its type, its value in each environment, what it is for."""

    type: ParameterType = Field(description="String or StringList.")
    default: str | None = Field(None, description="The value where `values` names no other.")
    values: dict[str, str] = Field(
        default_factory=dict, description="A value per environment profile: dev, staging, prod."
    )
    description: str = Field(min_length=1, max_length=1024)

    @model_validator(mode="before")
    @classmethod
    def _secure(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("type") == "SecureString":
            _fail(
                "Parameter",
                [
                    _error(
                        ("type",),
                        "SecureString",
                        "String or StringList: a secret belongs in the blueprint's `secrets:` "
                        "(Secrets Manager, with rotation and its own key), not in a parameter",
                    )
                ],
            )
        return data

    @field_validator("default", mode="before")
    @classmethod
    def _default_text(cls, value: Any) -> Any:
        return _text(value)

    @field_validator("values", mode="before")
    @classmethod
    def _values_text(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: _text(v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _complete(self) -> Parameter:
        errors: list[InitErrorDetails] = []
        for profile in self.values:
            if profile not in PROFILES:
                errors.append(
                    _error(
                        ("values", profile), profile, "an environment profile: dev, staging or prod"
                    )
                )
        if self.default is None and not set(PROFILES) <= set(self.values):
            missing = [p for p in PROFILES if p not in self.values]
            errors.append(
                _error(
                    ("default",),
                    None,
                    "a default, or a value for every profile (missing: " + ", ".join(missing) + ")",
                )
            )
        candidates = [(("default",), self.default)] + [
            (("values", k), v) for k, v in self.values.items()
        ]
        for loc, value in candidates:
            if value is not None and (problem := _value_problem(value)):
                errors.append(_error(loc, value, problem))
        _fail("Parameter", errors)
        return self

    def value(self, profile: str) -> str:
        """The value in an environment of `profile`."""
        found = self.values.get(profile, self.default)
        assert found is not None  # _complete guarantees one
        return found


def parameter_reference_problems(
    data: Mapping[str, Any], services: Mapping[str, Mapping[str, Any]]
) -> list[InitErrorDetails]:
    """Keys of `parameters:` that are neither `shared` nor a service of the catalogue."""
    errors = []
    for owner in _mapping(data.get("parameters")):
        if owner == SHARED and SHARED in services:
            errors.append(
                _error(
                    ("parameters", owner),
                    owner,
                    f"a service name other than {SHARED!r} for a service with parameters "
                    f"({SHARED!r} is the branch every service reads)",
                )
            )
        elif owner != SHARED and owner not in services:
            errors.append(
                _error(
                    ("parameters", owner),
                    owner,
                    f"{SHARED!r} or a service of this catalogue: " + ", ".join(services),
                )
            )
    return errors


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
