"""Keep CrewAI's record of a kickoff's task outputs in memory, not in a file in the user's home.

Every ``Crew`` writes each task's output (the conversation text included: the kernel passes it as
a kickoff input) to ``latest_kickoff_task_outputs.db`` under ``~/.local/share/<folder>/``, for
``crewai replay``. Under the kernel the session store is the one place a conversation lives: that
file would keep it after the session is deleted. So each per-run crew gets a handler that keeps
the record in memory, for the run only (crewai 1.6.1 and 1.15 call the same four methods).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkernel._optional import require

if TYPE_CHECKING:
    from crewai import Crew

__all__ = ["keep_task_outputs_in_memory"]

_handler_class: type[Any] | None = None


def _in_memory_handler() -> Any:
    global _handler_class
    if _handler_class is None:
        module = require(
            "crewai.utilities.task_output_storage_handler", extra="crewai", feature="the CrewAI adapter"
        )

        class InMemoryTaskOutputs(module.TaskOutputStorageHandler):  # type: ignore[misc, name-defined]
            """CrewAI's task output record of one run, in memory (never the SQLite file)."""

            def __init__(self) -> None:  # the base class would open the SQLite file
                self.logs: list[dict[str, Any]] = []

            def update(self, task_index: int, log: dict[str, Any]) -> None:
                self.logs = [entry for entry in self.logs if entry.get("task_index") != task_index]
                self.logs.append(dict(log, task_index=task_index))

            def add(
                self,
                task: Any,
                output: dict[str, Any],
                task_index: int,
                inputs: dict[str, Any] | None = None,
                was_replayed: bool = False,
            ) -> None:
                log = {"task": task, "output": output, "inputs": inputs or {}, "was_replayed": was_replayed}
                self.update(task_index, log)

            def reset(self) -> None:
                self.logs = []

            def load(self) -> list[dict[str, Any]] | None:
                return list(self.logs)

        _handler_class = InMemoryTaskOutputs
    return _handler_class()


def keep_task_outputs_in_memory(crew: Crew) -> None:
    """Give ``crew`` (a per-run copy) a task output record that never touches the disk."""
    crew._task_output_handler = _in_memory_handler()
