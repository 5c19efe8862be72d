"""The interface every runner offers, so API and schedules do not care where a job executes."""

from __future__ import annotations

from typing import Any, Protocol


class JobRunner(Protocol):
    services: Any  # what job functions get as ctx.services; set once the services exist

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def submit(self, name: str, params: dict[str, Any] | None = None, trigger: str = "manual") -> str:
        """Queue one run now and return its run id; status and progress are then readable in job_runs."""
        ...

    def schedule(self, name: str, every_seconds: float, params: dict[str, Any] | None = None) -> None:
        """Run the job every N seconds for as long as the runner runs, never two of it at once."""
        ...

    def schedules(self) -> list[dict[str, Any]]: ...

    async def wait(self, run_id: str) -> None:
        """Wait for a run to end, however it ends (tests and the CLI use it)."""
        ...
