"""The machine a run measured: cores, memory, CPU model and the disk's fsync latency."""

from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import time
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class FsyncLatency:
    """Latency of one 4 KiB append followed by fsync, in milliseconds."""

    samples: int
    p50_ms: float
    p99_ms: float
    max_ms: float


@dataclasses.dataclass(frozen=True)
class Machine:
    """What the run's numbers depend on besides the code."""

    cpu_model: str
    cores: int
    memory_gib: float
    python: str
    kernel: str
    load_average: tuple[float, float, float]
    """Load over 1, 5 and 15 minutes when the run began: other work on the machine skews every figure."""
    fsync: FsyncLatency


def describe_machine(data_folder: Path) -> Machine:
    """Describe this machine; the fsync loop runs on a file in `data_folder`."""
    return Machine(
        cpu_model=_cpu_model(),
        cores=os.cpu_count() or 1,
        memory_gib=round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        python=platform.python_version(),
        kernel=platform.release(),
        load_average=tuple(round(load, 2) for load in os.getloadavg()),
        fsync=measure_fsync(data_folder),
    )


def measure_fsync(folder: Path, samples: int = 300) -> FsyncLatency:
    """Append 4 KiB and fsync, `samples` times, in a file of `folder`; the file is removed."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fsync-probe.bin"
    block = os.urandom(4096)
    latencies = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(samples):
            started = time.perf_counter()
            os.write(fd, block)
            os.fsync(fd)
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)

    latencies.sort()
    return FsyncLatency(
        samples=samples,
        p50_ms=round(statistics.median(latencies), 3),
        p99_ms=round(latencies[int(0.99 * (samples - 1))], 3),
        max_ms=round(latencies[-1], 3),
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
