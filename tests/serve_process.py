"""`acheckin-sync serve` as a real child process on a loopback port, for crash and concurrency tests.

`ServeProcess` writes a config file (the shipped one with another port and database),
starts `serve` with a test key in `ACHECKIN_SYNC_API_KEYS`, waits for `/healthz`, and
can kill it with SIGKILL or stop it with SIGTERM. Its output goes to a log file.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

PROJECT = Path(__file__).resolve().parent.parent

SERVE_KEY = "crash-test-key-5d1e"
NOW_TEXT = "2026-11-30T12:00:00+07:00"
"""The clock of every served process: 30/11/2026 12:00 in Vietnam, never today."""


def free_port() -> int:
    """Return a loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(folder: Path, port: int, replacements: dict[str, str] | None = None) -> Path:
    """Write the shipped config.toml into `folder` with `port`; `replacements` maps a key to its new TOML value.

    Each key is replaced on its first `key = value` line, so keys must be unique in the file.
    """
    text = (PROJECT / "config.toml").read_text(encoding="utf-8")
    for key, value in {"port": str(port), **(replacements or {})}.items():
        text, count = re.subn(rf"(?m)^{re.escape(key)} = .*$", f"{key} = {value}", text, count=1)
        if count != 1:
            raise KeyError(f"config.toml has no line '{key} = ...' to replace")
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclasses.dataclass
class ServeProcess:
    """One `serve` process at a time on `port`, restartable on the same database."""

    config: Path
    port: int
    log_path: Path
    now_text: str | None = NOW_TEXT
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, *arguments: str) -> list[str]:
        """Return the argv of `acheckin-sync --config CONFIG [--now NOW] ARGUMENTS`."""
        now = ["--now", self.now_text] if self.now_text else []
        return [sys.executable, "-c", "from jobs.cli import main; main()", "--config", str(self.config), *now, *arguments]

    def environment(self) -> dict[str, str]:
        return {**os.environ, "ACHECKIN_SYNC_API_KEYS": SERVE_KEY, "PYTHONUNBUFFERED": "1"}

    def start(self, timeout_s: float = 30.0) -> None:
        """Start `serve` and return once `/healthz` returns 200."""
        self.launch()
        self.wait_ready(timeout_s)

    def launch(self) -> None:
        """Start `serve` without waiting for it; call `wait_ready` before posting."""
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                self.command("serve"),
                cwd=PROJECT,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Return once `/healthz` returns 200; raise with the log's tail when `serve` exits or times out."""
        deadline = time.monotonic() + timeout_s
        with httpx.Client(base_url=self.base_url, timeout=1, trust_env=False) as client:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"serve exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    if client.get("/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"serve did not return 200 on /healthz within {timeout_s} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """Kill the process with SIGKILL, as the OOM killer or `kill -9` would (unlike a power cut, the OS keeps what it was given)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> int:
        """Stop the process with SIGTERM and return its exit code; kill it after 15 s."""
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=10)
        self.process = None
        return code

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
