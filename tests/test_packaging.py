"""The README's install line works from built wheels: the core plus one framework adapter.

For each adapter: build the core's and the adapter's wheels (``python -m build --wheel``, no build
isolation, so no network), install both into a fresh venv with ``--no-deps``, make the third-party
dependencies visible through a ``.pth`` (a folder of links to this environment's packages, with
every agentkernel distribution left out, so only the wheels can provide agentkernel), check that
pip finds every requirement met, and run the adapter's example offline from outside the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pydantic
import pytest

from tests.test_cli import ROOT

pytestmark = pytest.mark.slow

ADAPTERS = {
    "langgraph": ("agentkernel_langgraph", "langgraph_agent.py", "forecaster> You told me your name is Ada."),
    "openai_agents": ("agentkernel_openai_agents", "openai_agent.py", "assistant> You are Ada."),
    "crewai": ("agentkernel_crewai", "crewai_agent.py", "concierge> Of course, Ada. What shall we plan?"),
}
_SKIP = (".venv", ".venv-*", "build", "dist", "__pycache__", "*.egg-info", ".git")


def run(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    command = [str(a) for a in args]
    done: subprocess.CompletedProcess[str] = subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False, **kwargs  # type: ignore[call-overload]
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def build_wheel(source: Path, work: Path, dist: Path) -> Path:
    """Build ``source``'s wheel from a copy (a build leaves build/ and egg-info behind)."""
    copy = work / source.relative_to(ROOT) if source != ROOT else work / "core"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns(*_SKIP, "adapters", "tests", "docs", "bench"))
    run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, copy)
    return copy


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("build")
    dist = work / "dist"
    build_wheel(ROOT, work, dist)
    for name in ADAPTERS:
        build_wheel(ROOT / "adapters" / name, work, dist)
    return dist


@pytest.fixture(scope="module")
def dependencies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of links to this environment's installed packages, agentkernel's own left out."""
    site = Path(pydantic.__file__).resolve().parents[1]  # where the dependencies really live
    linked = tmp_path_factory.mktemp("deps")
    for entry in site.iterdir():
        name = entry.name.lower()
        if name.startswith(("agentkernel", "__editable__", "_agentkernel")) or name.endswith(".pth"):
            continue
        (linked / entry.name).symlink_to(entry)
    return linked


def wheel(dist: Path, distribution: str) -> Path:
    (found,) = dist.glob(f"{distribution}-*.whl")
    return found


@pytest.fixture
def venv(tmp_path: Path, dependencies: Path) -> Path:
    target = tmp_path / "venv"
    run(sys.executable, "-m", "venv", target)
    python = target / "bin" / "python"
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    Path(purelib, "zz_dependencies.pth").write_text(f"{dependencies}\n")
    return target


def offline_env(home: Path) -> dict[str, str]:
    dropped = ("OPENAI_", "AK_", "XDG_", "PYTHON", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
        PIP_NO_INDEX="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_the_core_and_one_adapter_install_from_wheels_and_run_the_example(
    adapter: str, wheels: Path, venv: Path, tmp_path: Path
) -> None:
    package, example, expected = ADAPTERS[adapter]
    python = venv / "bin" / "python"
    env = offline_env(tmp_path)
    ours = [wheel(wheels, "agentkernel"), wheel(wheels, package)]
    run(python, "-m", "pip", "install", "--no-deps", "--no-index", *ours, env=env)
    run(python, "-m", "pip", "check", env=env)  # agentkernel and the framework pin are met

    where = tmp_path / "elsewhere"
    where.mkdir()
    shutil.copy(ROOT / "examples" / example, where / example)
    probe = f"import agentkernel, {package}; print(agentkernel.__file__); print({package}.__file__)"
    files = run(python, "-c", probe, env=env, cwd=where).stdout.split()
    purelib = sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"]
    assert all(Path(f).is_relative_to(Path(purelib)) for f in files), files  # the wheels', not the checkout's
    others = {p for name, (p, _, _) in ADAPTERS.items() if name != adapter}
    listed = run(python, "-m", "pip", "list", "--format=freeze", env=env).stdout
    assert not any(other.replace("_", "-") in listed for other in others), listed

    done = run(python, where / example, env=env, cwd=where, stdin=subprocess.DEVNULL)
    assert expected in done.stdout, done.stdout
    assert (venv / "bin" / "agentkernel").exists()
