"""Run every benchmark and write `bench/RESULTS.md` (and the raw figures, `bench/results.json`).

    bash bench/run                      # everything, about 15 minutes on 2 cores
    bash bench/run --only receiver      # one or more of: receiver, rollup, excel, sheets
    bash bench/run --quick              # small sizes and short runs, to try the harness
    bash bench/run --render-only        # RESULTS.md again from results.json (after editing NOTES.md)
    bash bench/run --only excel --merge # rerun one section, keep the others' figures

`bash bench/run` installs wrk with apt-get when it is missing, then runs this module
with the project's virtualenv. A section that fails is recorded as not measured,
with its error, and the others still run.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import os
import subprocess
import tempfile
import time
import traceback
from pathlib import Path

from bench import report
from bench.machine import describe_machine

SECTIONS = ("receiver", "rollup", "excel", "sheets")
BENCH_DIR = Path(__file__).resolve().parent


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Sizes and durations of the benchmarks."""

    wrk_connections: int
    wrk_duration_s: int
    wrk_rounds: int
    peak_seconds: float
    fixed_rates: list[tuple[float, float]]
    search_rates: list[float]
    search_duration_s: float
    employees: int
    rollup_days: int
    sheets_sizes: list[int]


FULL_SIZES = Sizes(
    wrk_connections=16,
    wrk_duration_s=10,
    wrk_rounds=3,
    peak_seconds=60,
    fixed_rates=[(50, 20), (200, 20)],
    search_rates=[100, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000, 2400],
    search_duration_s=10,
    employees=1000,
    rollup_days=350,
    sheets_sizes=[10, 100, 1000],
)

QUICK_SIZES = Sizes(
    wrk_connections=16,
    wrk_duration_s=3,
    wrk_rounds=1,
    peak_seconds=10,
    fixed_rates=[(50, 4)],
    search_rates=[200, 400, 800],
    search_duration_s=3,
    employees=50,
    rollup_days=60,
    sheets_sizes=[10, 50],
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench", description="Run the benchmarks and write bench/RESULTS.md.")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of: {', '.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes and short runs (results not comparable)")
    parser.add_argument("--workdir", type=Path, help="folder for databases and logs (default: a new folder in /tmp)")
    parser.add_argument("--output", type=Path, default=BENCH_DIR, help="folder for RESULTS.md and results.json")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other sections of the output folder's results.json (rerun some sections only)")
    parser.add_argument("--render-only", action="store_true", help="rewrite RESULTS.md from the output folder's results.json")
    args = parser.parse_args()

    if args.render_only:
        results = json.loads((args.output / "results.json").read_text())
        (args.output / "RESULTS.md").write_text(report.render(results, BENCH_DIR / "NOTES.md"))
        print(f"[bench] rewrote {args.output / 'RESULTS.md'}", flush=True)
        return

    sections = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="acheckin-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.WARNING)

    started = time.monotonic()
    results: dict = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "workdir": str(workdir),
        "source": _source(),
        "sizes": dataclasses.asdict(sizes),
        "machine": dataclasses.asdict(describe_machine(workdir)),
        "sections": {},
    }
    previous = args.output / "results.json"
    if args.merge and previous.exists():
        kept = json.loads(previous.read_text())["sections"]
        results["sections"] = {name: section for name, section in kept.items() if name not in sections}
        results["merged_from"] = _kept_from(previous, list(results["sections"]))
    for name in sections:
        print(f"[bench] {name} ...", flush=True)
        section_started = time.monotonic()
        try:
            figures = _run_section(name, sizes, workdir)
            results["sections"][name] = {"ok": True, "figures": _plain(figures)}
        except Exception as exc:
            traceback.print_exc()
            results["sections"][name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        results["sections"][name]["seconds"] = round(time.monotonic() - section_started, 1)
        results["sections"][name]["run"] = {
            "started_at": results["started_at"],
            "source": results["source"],
            "fsync_p50_ms": results["machine"]["fsync"]["p50_ms"],
            "load_average": results["machine"]["load_average"],
        }
        print(f"[bench] {name} done in {results['sections'][name]['seconds']} s", flush=True)
        results["seconds"] = round(time.monotonic() - started, 1)
        _write(results, args.output)
    print(f"[bench] wrote {args.output / 'RESULTS.md'} in {results['seconds']} s", flush=True)


def _kept_from(previous: Path, kept: list[str]) -> str:
    """Describe the sections a merged run keeps and the earlier run they come from."""
    earlier = json.loads(previous.read_text())
    return f"{', '.join(kept)} from the run of {earlier['started_at']} ({earlier.get('source', 'unknown')})"


def _write(results: dict, output: Path) -> None:
    """Write results.json and RESULTS.md; called after each section, so a stopped run keeps what it measured."""
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    (output / "RESULTS.md").write_text(report.render(results, BENCH_DIR / "NOTES.md"))


def _source() -> str:
    """Name the code measured: `BENCH_SOURCE` when set (a clean export names its commit), else git's view."""
    if os.environ.get("BENCH_SOURCE"):
        return os.environ["BENCH_SOURCE"]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH_DIR, capture_output=True, text=True, check=True)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=BENCH_DIR, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    dirty = " with uncommitted changes in the work tree" if status.stdout.strip() else ""
    return f"commit {commit.stdout.strip()}{dirty}"


def _run_section(name: str, sizes: Sizes, workdir: Path):
    if name == "receiver":
        from bench import receiver

        from bench.components import measure_components

        peak = 2 * receiver.MORNING_PEAK_PER_S
        return {
            "throughput": receiver.measure_throughput(workdir, sizes.wrk_connections, sizes.wrk_duration_s, sizes.wrk_rounds),
            "latency": receiver.measure_latency(
                workdir, [(round(peak, 2), sizes.peak_seconds), *sizes.fixed_rates], sizes.search_rates, sizes.search_duration_s
            ),
            "components": measure_components(workdir),
            "profile": receiver.profile_under_load(workdir, sizes.wrk_connections, sizes.wrk_duration_s),
        }
    if name == "rollup":
        from bench import rollup

        return rollup.measure(workdir, sizes.employees, sizes.rollup_days)
    if name == "excel":
        from bench import excel

        return excel.measure(workdir, sizes.employees)
    from bench import sheets

    return sheets.measure(workdir, sizes.sheets_sizes)


def _plain(value):
    """Turn dataclasses (with properties worth keeping) into JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        plain = {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
        for name in dir(type(value)):
            if isinstance(getattr(type(value), name), property):
                plain[name] = _plain(getattr(value, name))
        return plain
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


if __name__ == "__main__":
    main()
