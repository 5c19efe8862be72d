"""Named job functions and what a running job may see and report."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from vtrack.errors import InvalidInputError

JobResult = dict[str, Any] | None


class ProgressReporter(Protocol):
    """`details` (bytes done, speed, ETA, ...) is readable as the run's result while it runs."""

    async def __call__(
        self, fraction: float, message: str | None = None, details: dict[str, Any] | None = None
    ) -> None: ...


@dataclass
class JobContext:
    """What a job function gets: its parameters, a progress callback and the shared services."""

    run_id: str
    params: dict[str, Any]
    report: ProgressReporter
    services: Any


JobFunction = Callable[[JobContext], Awaitable[JobResult]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    function: JobFunction
    description: str
    params_model: type[BaseModel] | None = None

    def validate_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Checked when the run is asked for, so bad parameters are a 422 now, not a failed run later."""
        if self.params_model is None:
            return params
        try:
            return self.params_model.model_validate(params).model_dump(mode="json")
        except ValidationError as exc:
            details = [
                {"field": ".".join(["params", *(str(p) for p in e["loc"])]), "message": e["msg"]}
                for e in exc.errors(include_input=False, include_url=False)
            ]
            raise InvalidInputError(f"{details[0]['field']}: {details[0]['message']}", details) from None


def schedule_key(name: str, params: dict[str, Any]) -> str:
    """Schedules of one job with different parameters (health shards) are separate schedules."""
    return name if not params else f"{name} {json.dumps(params, sort_keys=True)}"


@dataclass
class JobRegistry:
    specs: dict[str, JobSpec] = field(default_factory=dict)

    def register(
        self, name: str, description: str, params: type[BaseModel] | None = None
    ) -> Callable[[JobFunction], JobFunction]:
        def decorate(function: JobFunction) -> JobFunction:
            if name in self.specs:
                raise ValueError(f"job {name!r} registered twice")
            self.specs[name] = JobSpec(name, function, description, params)
            return function

        return decorate

    def get(self, name: str) -> JobSpec | None:
        return self.specs.get(name)
