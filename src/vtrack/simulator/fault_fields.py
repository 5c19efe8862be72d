"""Reading fault switches from JSON (a --config file or the control endpoint), strictly.

Faults are flipped by people and test scripts; a typo such as "ofline" or "slow_seconds": "2" must fail loudly
with the field named, not be ignored and leave a test wondering why the camera still answers. The accepted
fields and their types come from the Faults dataclass itself, so a new switch is accepted once it is added
there.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping

from vtrack.simulator.config import Faults

FaultValue = bool | float

# Durations cannot be negative; a clock can be skewed either way.
_NON_NEGATIVE = frozenset({"stream_stall_seconds", "slow_seconds"})


class FieldError(ValueError):
    """A value that cannot be used, with the dotted path of the field it came from."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def fault_types() -> dict[str, type]:
    hints = typing.get_type_hints(Faults)
    return {field.name: hints[field.name] for field in dataclasses.fields(Faults)}


def parse_fault_updates(data: object, prefix: str = "") -> dict[str, FaultValue]:
    """The switches in a JSON object, checked; `prefix` (e.g. "cameras[0].faults.") names them in errors."""
    if not isinstance(data, Mapping):
        raise FieldError(prefix.rstrip(".") or "faults", "expected a JSON object of fault switches")
    types = fault_types()
    updates: dict[str, FaultValue] = {}
    for name, value in data.items():
        field = f"{prefix}{name}"
        expected = types.get(name)
        if expected is None:
            raise FieldError(field, f"unknown fault; known: {', '.join(sorted(types))}")
        if expected is bool:
            if not isinstance(value, bool):
                raise FieldError(field, f"expected true or false, got {value!r}")
            updates[name] = value
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise FieldError(field, f"expected a number of seconds, got {value!r}")
        if name in _NON_NEGATIVE and value < 0:
            raise FieldError(field, f"expected a number of seconds >= 0, got {value!r}")
        updates[name] = float(value)
    return updates


def apply_fault_updates(faults: Faults, updates: Mapping[str, FaultValue]) -> None:
    """Change the switches in place: every service holding this Faults object sees the change at once."""
    for name, value in updates.items():
        setattr(faults, name, value)


def faults_as_dict(faults: Faults) -> dict[str, FaultValue]:
    return dataclasses.asdict(faults)
