"""The served OpenAPI schema is as strict as the server, and the small things a curl user meets.

All against a real uvicorn process (``agentkernel serve``) on a loopback port.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.test_cli import EXAMPLE, cli_env
from tests.test_http_server import Served

KEY = "alice-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("keyed") / "server.log"
    with Served(EXAMPLE, log, AK_API__KEYS=json.dumps({"alice": KEY})) as server:
        yield server


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with Served(EXAMPLE, tmp_path_factory.mktemp("open") / "server.log") as server:
        yield server


def schemathesis(url: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Every check, every phase, a fixed number of deterministic examples: the same run each time."""
    args = [
        str(SCHEMATHESIS),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        "15",
        "--generation-deterministic",
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--no-color",
        *extra,
    ]
    env = cli_env(SCHEMATHESIS_HOOKS="tests.schemathesis_hooks")
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_schemathesis_finds_nothing_with_every_check_on(keyed: Served, tmp_path: Path) -> None:
    result = schemathesis(keyed.url, tmp_path, "--header", f"Authorization: Bearer {KEY}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Operations:       7 selected / 7 total" in result.stdout
    assert "Authentication failed" not in result.stdout


@pytest.mark.slow
def test_schemathesis_finds_nothing_on_a_server_without_keys(open_server: Served, tmp_path: Path) -> None:
    result = schemathesis(open_server.url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_states_the_servers_rules(keyed: Served) -> None:
    schema = httpx.get(f"{keyed.url}/openapi.json", headers=AUTH).json()
    message = schema["components"]["schemas"]["RunRequest"]["properties"]["message"]
    assert message["minLength"] == 1
    assert re.search(message["pattern"], "  hi ")
    assert not re.search(message["pattern"], " \t\n\u3000")
    session_id = schema["paths"]["/sessions/{session_id}"]["delete"]["parameters"][0]["schema"]
    assert session_id["pattern"] == "^[A-Za-z0-9._:-]{1,128}$"
    assert schema["paths"]["/run"]["post"]["security"] == [{"bearer": []}, {"apiKey": []}]
    assert "security" not in schema["paths"]["/health"]["get"]
    assert "415" in schema["paths"]["/run"]["post"]["responses"]


def test_a_method_not_allowed_names_every_allowed_method(keyed: Served) -> None:
    response = httpx.request("OPTIONS", f"{keyed.url}/sessions/abc", headers=AUTH)
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET"
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert httpx.put(f"{keyed.url}/run", headers=AUTH).headers["allow"] == "POST"


def test_head_health_answers_like_get(keyed: Served) -> None:
    response = httpx.head(f"{keyed.url}/health")
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "text/plain; charset=utf-8"]
)
def test_a_json_body_sent_as_another_type_is_told_to_say_json(keyed: Served, content_type: str) -> None:
    body = b'{"message": "hi"}'
    response = httpx.post(f"{keyed.url}/run", content=body, headers={**AUTH, "Content-Type": content_type})
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert "Content-Type: application/json" in error["message"]
    fine = httpx.post(f"{keyed.url}/run", content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert fine.status_code == 200


def test_curls_default_form_post_gets_the_advice(keyed: Served) -> None:
    form_post = ["-d", '{"message": "hi"}', f"{keyed.url}/run"]
    result = subprocess.run(
        ["curl", "-s", "--noproxy", "*", "-H", f"Authorization: Bearer {KEY}", *form_post],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert "application/json" in json.loads(result.stdout)["error"]["message"]


@pytest.mark.parametrize("path", ["/openapi.json", "/docs"])
def test_docs_and_schema_need_the_key_when_keys_are_set(keyed: Served, path: str) -> None:
    assert httpx.get(keyed.url + path).status_code == 401
    assert httpx.get(keyed.url + path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(keyed.url + path, headers=AUTH).status_code == 200
    assert httpx.get(keyed.url + "/health").status_code == 200


def test_docs_load_nothing_from_outside(open_server: Served) -> None:
    page = httpx.get(f"{open_server.url}/docs")
    assert page.status_code == 200
    linked = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text) + re.findall(r"url: ?'([^']+)'", page.text)
    assert linked
    assert not re.search(r"https?://", page.text), "the docs page refers to another host"
    for url in linked:
        asset = httpx.get(open_server.url + url)
        assert asset.status_code == 200, url
        assert asset.content
    assert httpx.get(f"{open_server.url}/openapi.json").json()["info"]["title"] == "agentkernel"
