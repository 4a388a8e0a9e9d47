"""Drive a server with `wrk` (Debian's package) and read its summary."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path

from bench.serve import BENCH_KEY

SCRIPT = Path(__file__).with_name("deliveries.lua")


@dataclasses.dataclass(frozen=True)
class WrkResult:
    """One wrk run: closed loop, `connections` requests in flight at all times."""

    connections: int
    threads: int
    duration_s: int
    requests: int
    requests_per_s: float
    non_2xx: int
    socket_errors: int
    latency_p50_ms: float
    latency_p99_ms: float
    latency_max_ms: float
    server_cpu_ms_per_request: float | None = None
    """User + system CPU time of the server process over the run, per completed request."""


def run_wrk(
    url: str, connections: int, duration_s: int, base_ms: int, threads: int = 1, server_pid: int | None = None
) -> WrkResult:
    """POST distinct deliveries to `url` for `duration_s` seconds; check-in times start at `base_ms`.

    With `server_pid`, the server process's CPU time over the run is measured too.
    """
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed; run `bash bench/run`, which installs it with apt-get")
    environment = {
        **os.environ,
        "BENCH_BASE_MS": str(base_ms),
        "BENCH_API_KEY": BENCH_KEY,
        "BENCH_THREADS": str(threads),
    }
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", "--timeout", "10s",
        "--latency", "-s", str(SCRIPT), url + "/webhooks/acheckin",
    ]
    cpu_before = _process_cpu_seconds(server_pid)
    output = subprocess.run(command, env=environment, capture_output=True, text=True, check=True).stdout
    cpu_after = _process_cpu_seconds(server_pid)
    result = _parse(output, connections, threads, duration_s)
    if cpu_before is None or cpu_after is None or not result.requests:
        return result
    per_request = round((cpu_after - cpu_before) * 1000 / result.requests, 3)
    return dataclasses.replace(result, server_cpu_ms_per_request=per_request)


def _process_cpu_seconds(pid: int | None) -> float | None:
    """Return user + system CPU seconds of process `pid`, all threads, from /proc."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _parse(output: str, connections: int, threads: int, duration_s: int) -> WrkResult:
    requests = int(_search(r"(\d+) requests in", output))
    non_2xx = int(_search(r"Non-2xx or 3xx responses: (\d+)", output, "0"))
    socket_errors = 0
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if errors:
        socket_errors = sum(int(number) for number in errors.groups())
    return WrkResult(
        connections=connections,
        threads=threads,
        duration_s=duration_s,
        requests=requests,
        requests_per_s=float(_search(r"Requests/sec:\s+([\d.]+)", output)),
        non_2xx=non_2xx,
        socket_errors=socket_errors,
        latency_p50_ms=_milliseconds(_search(r"50%\s+([\d.]+\w+)", output)),
        latency_p99_ms=_milliseconds(_search(r"99%\s+([\d.]+\w+)", output)),
        latency_max_ms=_milliseconds(_search(r"Latency\s+\S+\s+\S+\s+([\d.]+\w+)", output)),
    )


def _search(pattern: str, text: str, default: str | None = None) -> str:
    match = re.search(pattern, text)
    if match:
        return match.group(1)
    if default is not None:
        return default
    raise RuntimeError(f"wrk output has no match for {pattern!r}:\n{text}")


def _milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]
    return round(float(number) * scale, 3)
