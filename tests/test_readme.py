"""The READMEs and .ci/run stay in step with what they describe."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
READMES = [REPO / "README.md", REPO / "README.vi.md"]


def shell_blocks(path: Path) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.DOTALL)


def ci_test_command() -> str:
    text = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    body = re.search(r"test_command\(\) \{\n(.*?)\n\}", text, flags=re.DOTALL)
    assert body is not None, ".ci/run no longer defines test_command()"
    return body.group(1).strip()


@pytest.mark.parametrize("readme", READMES, ids=lambda path: path.name)
def test_readme_test_command_is_what_ci_runs(readme: Path) -> None:
    commands = [block.strip() for block in shell_blocks(readme)]

    assert ci_test_command() in commands


def test_ci_runs_tests_twice_second_under_utc() -> None:
    text = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    calls = [line.strip() for line in text.splitlines() if line.strip().endswith("test_command")]

    assert len(calls) == 2
    assert calls[1] == "TZ=UTC test_command"


@pytest.mark.parametrize("readme", READMES, ids=lambda path: path.name)
def test_readme_run_command_serves_shipped_config(readme: Path) -> None:
    commands = [block.strip() for block in shell_blocks(readme)]
    run = [command for command in commands if command.endswith(" serve")]

    assert run == [
        "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/acheckin-sync --config config.toml serve"
    ]


def test_console_script_is_acheckin_sync() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    assert project["scripts"] == {"acheckin-sync": "jobs.cli:main"}
    assert project["requires-python"] == ">=3.11"


@pytest.mark.parametrize("readme", READMES, ids=lambda path: path.name)
def test_readme_curl_example_uses_the_webhook_path(readme: Path) -> None:
    from ingest.app import WEBHOOK_PATH

    curls = [block for block in shell_blocks(readme) if block.startswith("curl")]

    assert curls
    assert all(f"http://127.0.0.1:8080{WEBHOOK_PATH}" in block for block in curls)


def parse_curl(block: str) -> tuple[dict[str, str], str]:
    """Return the headers and the body of a README curl example."""
    headers = dict(
        (name.strip(), value.strip()) for name, value in (h.split(":", 1) for h in re.findall(r"-H '([^']*)'", block))
    )
    body = re.search(r"-d '(.*?)'", block, flags=re.DOTALL)
    assert body is not None, "the curl example has no -d body"
    return headers, body.group(1)


@pytest.mark.parametrize("readme", READMES, ids=lambda path: path.name)
def test_readme_curl_example_is_stored_then_duplicate(readme: Path, start_server) -> None:
    from conftest import local_ms

    headers, body = parse_curl(next(b for b in shell_blocks(readme) if b.startswith("curl")))
    server = start_server(api_keys=(headers["X-API-KEY"],), clock=lambda: local_ms(2026, 11, 3))

    first = server.client.post("/webhooks/acheckin", content=body.encode(), headers=headers)
    again = server.client.post("/webhooks/acheckin", content=body.encode(), headers=headers)

    assert first.status_code == 200
    assert first.json()["outcome"] == "stored"
    assert again.json()["outcome"] == "duplicate"
    stored = server.store.checkins_between(0, 2**62)
    assert [(c.user_id, c.name, c.working_group) for c in stored] == [("NV001", "Nguyễn Văn An", (480, 1020))]
