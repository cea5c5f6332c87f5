"""Process defaults that keep CrewAI quiet under the kernel: no telemetry, no trace prompt.

CrewAI reads its switches from environment variables (crewai 1.6.1 and 1.15 alike):

* ``CREWAI_DISABLE_TELEMETRY=true``: no anonymous usage telemetry, including the ping crewai sends
  when it is first imported.
* ``CREWAI_TRACING_ENABLED=false``: no trace upload (1.15 reads "false" as an explicit no).
* ``CREWAI_TESTING=true``: the only switch both versions check before the interactive
  "view your execution traces?" prompt (which waits 20 s for an answer on stdin) and before
  first-run trace collection; in 1.15 it also stops the ``.crewai/last_run.json`` record in the
  working directory. It has no other effect in either version.

:func:`quiet_crewai` sets each of them with ``os.environ.setdefault``: a value the user set, in the
environment or before calling it, wins. The adapter calls it on first use; call it yourself before
``import crewai`` to stop the import-time telemetry ping too.
"""

from __future__ import annotations

import os
import threading

__all__ = ["CREWAI_DEFAULTS", "quiet_crewai"]

CREWAI_DEFAULTS: dict[str, str] = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_TESTING": "true",
}
"""The environment defaults :func:`quiet_crewai` sets."""

_lock = threading.Lock()
_done = False


def quiet_crewai() -> None:
    """Set :data:`CREWAI_DEFAULTS` in this process where the variable is not already set.

    Idempotent and thread-safe. Set a variable yourself (for example
    ``CREWAI_DISABLE_TELEMETRY=false``) to keep CrewAI's own behaviour.
    """
    global _done
    with _lock:
        if _done:
            return
        for name, value in CREWAI_DEFAULTS.items():
            os.environ.setdefault(name, value)
        _done = True
