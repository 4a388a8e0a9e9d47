"""Start and stop `bench.serve` subprocesses on free loopback ports."""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class RunningServer:
    """A server subprocess listening on 127.0.0.1:`port`."""

    kind: str
    port: int
    database: Path | None
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def running_server(
    kind: str,
    workdir: Path,
    database: Path | None = None,
    synchronous: str = "FULL",
    switch_interval_ms: float | None = None,
    log_level: str = "info",
    proposed: bool = False,
) -> Iterator[RunningServer]:
    """Run `bench.serve` (`kind` is "receiver" or "bare") until the block ends.

    The server's output (its log included) goes to a `.stderr` file in `workdir`,
    named after the run.
    """
    port = _free_port()
    label = kind if database is None else f"{kind}-{synchronous.lower()}-{database.stem}"
    command = [sys.executable, "-m", "bench.serve", kind, "--port", str(port)]
    if proposed:
        command.append("--proposed")
        label += "-proposed"
    if log_level != "info":
        command += ["--log-level", log_level]
        label += f"-log-{log_level}"
    if switch_interval_ms is not None:
        command += ["--switch-interval-ms", str(switch_interval_ms)]
        label += f"-switch-{switch_interval_ms}ms"
    if database is not None:
        command += ["--database", str(database), "--synchronous", synchronous]
    with open(workdir / f"{label}.stderr", "ab") as stderr:
        process = subprocess.Popen(command, cwd=REPO, stdout=stderr, stderr=stderr)
    server = RunningServer(kind, port, database, process)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(server: RunningServer, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"bench.serve {server.kind} exited with {server.process.returncode}; see its .stderr file")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"bench.serve {server.kind} did not respond to /healthz within {timeout_s:.0f} s")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
