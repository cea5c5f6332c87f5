"""Run a program from examples/ the way a user with no API key would, and no network to reach."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_example(name: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<name>`` offline in a fresh process and return what it printed.

    No ``OPENAI_*`` or ``AK_*`` variable of the developer's leaks in; ``home`` serves as ``HOME``
    (CrewAI writes there); proxies point at a dead loopback port, so anything that tries to reach
    past this machine fails instead. ``env`` is added last, for tests that set a key on purpose.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AK_", "XDG_"))}
    clean.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    clean.update(env)
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        capture_output=True,
        text=True,
        env=clean,
        cwd=home,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )
