"""Profile the receiver under wrk load: cProfile on the event loop and on the writer thread.

    python -m bench.profile_receiver [--seconds 10] [--connections 16] [--out FILE]

Runs the receiver (synchronous=FULL, INFO log to a file) in this process under
uvicorn, drives it with wrk from a subprocess, then prints the top entries of
both threads' profiles merged. cProfile slows Python code about twofold, so the
request rate seen here is not a benchmark figure.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

from bench.profiles import top_entries
from bench.receiver import BASE_MS
from bench.serve import LOG_FORMAT, receiver_app
from bench.servers import _free_port
from ingest.writer import GroupCommitWriter


def main() -> None:
    parser = argparse.ArgumentParser(description="Profile the receiver under wrk load.")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--out", type=Path, help="write the merged profile here (pstats format)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="acheckin-profile-"))
    logging.basicConfig(level=logging.INFO, filename=workdir / "receiver.log", format=LOG_FORMAT)
    writer_profile = cProfile.Profile()
    _profile_writer_thread(writer_profile)

    port = _free_port()
    app = receiver_app(workdir / "profile.db", "FULL")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info", log_config=None, lifespan="on"))
    loop_profile = cProfile.Profile()

    def load() -> None:
        while not server.started:
            time.sleep(0.05)
        environment = {"BENCH_BASE_MS": str(BASE_MS), "BENCH_API_KEY": "bench-key-5d1c", "BENCH_THREADS": "1"}
        output = subprocess.run(
            ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "-s", str(Path(__file__).with_name("deliveries.lua")),
             f"http://127.0.0.1:{port}/webhooks/acheckin"],
            env=environment, capture_output=True, text=True,
        )
        print(output.stdout, file=sys.stderr)
        server.should_exit = True

    threading.Thread(target=load, daemon=True).start()
    loop_profile.runcall(server.run)

    merged = pstats.Stats(loop_profile)
    merged.add(writer_profile)
    out = args.out or workdir / "receiver.prof"
    merged.dump_stats(out)
    print("\n".join(top_entries(out, 35, "tottime")))
    print()
    print("\n".join(top_entries(out, 35, "cumulative")))


def _profile_writer_thread(profile: cProfile.Profile) -> None:
    """Make the group-commit writer thread run under `profile`."""
    original = GroupCommitWriter._run

    def profiled_run(self: GroupCommitWriter) -> None:
        profile.runcall(original, self)

    GroupCommitWriter._run = profiled_run


if __name__ == "__main__":
    main()
