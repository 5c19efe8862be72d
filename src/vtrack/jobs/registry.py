"""Named job functions and what a running job may see and report."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

JobResult = dict[str, Any] | None


class ProgressReporter(Protocol):
    async def __call__(self, fraction: float, message: str | None = None) -> None: ...


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


@dataclass
class JobRegistry:
    specs: dict[str, JobSpec] = field(default_factory=dict)

    def register(self, name: str, description: str) -> Callable[[JobFunction], JobFunction]:
        def decorate(function: JobFunction) -> JobFunction:
            if name in self.specs:
                raise ValueError(f"job {name!r} registered twice")
            self.specs[name] = JobSpec(name, function, description)
            return function

        return decorate

    def get(self, name: str) -> JobSpec | None:
        return self.specs.get(name)
