"""Render `results.json` as `bench/RESULTS.md`: a summary, the goals table, then details."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True)
class Goal:
    """One line of the goals table."""

    figure: str
    measured: str
    goal: str
    met: bool | None


def render(results: dict[str, Any], notes_path: Path) -> str:
    """Return the whole RESULTS.md text for one run's `results`."""
    sections = results["sections"]
    goals = _goals(sections)
    lines = ["# Benchmark results", ""]
    if results.get("quick"):
        lines += ["**Quick run (`--quick`): small sizes and short runs; these numbers do not meet the issue's sizes.**", ""]
    lines += ["## Summary", "", *_summary(sections, results["machine"]), ""]
    lines += _run_lines(results)
    lines += ["## Goals", "", "| figure | measured | goal | met |", "|---|---|---|---|"]
    for goal in goals:
        met = {True: "yes", False: "**no**", None: "not measured"}[goal.met]
        lines.append(f"| {goal.figure} | {goal.measured} | {goal.goal} | {met} |")
    lines.append("")
    for name, renderer in (("receiver", _receiver_details), ("rollup", _rollup_details),
                           ("excel", _excel_details), ("sheets", _sheets_details)):
        section = sections.get(name)
        if section is None:
            continue
        lines += [f"## {name.capitalize()}", ""]
        if section["ok"]:
            lines += renderer(section["figures"])
        else:
            lines += [f"Not measured: `{section['error']}`", ""]
    if notes_path.exists():
        lines += [notes_path.read_text().rstrip(), ""]
    return "\n".join(lines) + "\n"


def _run_lines(results: dict[str, Any]) -> list[str]:
    machine = results["machine"]
    fsync = machine["fsync"]
    return [
        "## Run",
        "",
        f"- Date: {results['started_at']} (UTC); the whole run took {results['seconds']:.0f} s.",
        f"- Machine: {machine['cpu_model']}, {machine['cores']} cores, {machine['memory_gib']} GiB of memory, "
        f"Linux {machine['kernel']}, Python {machine['python']}; load average at the start "
        f"{' / '.join(str(load) for load in machine['load_average'])} (1 / 5 / 15 min).",
        f"- Disk: append 4 KiB + fsync in the data folder ({fsync['samples']} times): "
        f"p50 {fsync['p50_ms']} ms, p99 {fsync['p99_ms']} ms, max {fsync['max_ms']} ms.",
        f"- Command: `bash bench/run{' --quick' if results.get('quick') else ''}`; data folder `{results['workdir']}`; "
        f"code measured: {results.get('source', 'unknown')}.",
        *_provenance_lines(results),
        "",
    ]


def _provenance_lines(results: dict[str, Any]) -> list[str]:
    """List which run measured each section, when `--merge` combined several runs."""
    runs = {name: section.get("run") for name, section in results["sections"].items()}
    if not results.get("merged_from") and len({_run_key(run) for run in runs.values()}) <= 1:
        return []
    lines = ["- The sections come from more than one run (`--merge`); the lines above describe the last one:"]
    for name, run in runs.items():
        if run is None:
            lines.append(f"  - {name}: an earlier run ({results.get('merged_from', 'unknown')})")
        else:
            lines.append(
                f"  - {name}: run of {run['started_at']}, {run['source']}; fsync p50 {run['fsync_p50_ms']} ms, "
                f"load average {' / '.join(str(load) for load in run['load_average'])}"
            )
    return lines


def _run_key(run: dict[str, Any] | None) -> str:
    return "" if run is None else f"{run['started_at']} {run['source']}"


def _figures(sections: dict[str, Any], name: str) -> dict[str, Any] | None:
    section = sections.get(name)
    return section["figures"] if section and section["ok"] else None


def _goals(sections: dict[str, Any]) -> list[Goal]:
    goals: list[Goal] = []
    receiver = _figures(sections, "receiver")
    if receiver:
        throughput = receiver["throughput"]
        goals.append(Goal(
            "Receiver throughput, FULL / bare Litestar handler",
            f"{throughput['full_vs_bare']:.3f} ({throughput['full_per_s']:.0f} / {throughput['bare_per_s']:.0f} req/s)",
            "≥ 0.5", throughput["full_vs_bare"] >= 0.5,
        ))
        goals.append(Goal(
            "… the same with no log line per request (log level warning, both servers)",
            f"{throughput['full_vs_bare_quiet']:.3f}", "≥ 0.5", throughput["full_vs_bare_quiet"] >= 0.5,
        ))
        goals.append(Goal(
            "Durability cost, FULL / NORMAL",
            f"{throughput['full_vs_normal']:.3f} ({throughput['full_per_s']:.0f} / {throughput['normal_per_s']:.0f} req/s)",
            "≥ 0.7", throughput["full_vs_normal"] >= 0.7,
        ))
        latency = receiver["latency"]
        peak = latency["runs"][0]
        goals.append(_latency_goal(f"Latency at twice the morning peak ({peak['rate_per_s']}/s)", peak))
        for run in latency["runs"][1:]:
            if run["rate_per_s"] in (50, 200) and run is not latency["highest_sustained"]:
                goals.append(_latency_goal(f"Latency at a constant {run['rate_per_s']:.0f}/s", run))
                break
        highest = latency["highest_sustained"]
        if highest:
            goals.append(_latency_goal(f"Latency at the highest rate sustained without errors ({highest['rate_per_s']:.0f}/s)", highest))
        within = latency["highest_within_goal"]
        if within and within != highest:
            goals.append(_latency_goal(f"… and at the highest rate that meets the latency goal ({within['rate_per_s']:.0f}/s)", within))
        database = latency["database"]
        goals.append(Goal(
            "Duplicates in the database after the latency runs",
            f"{database['checkins']} check-ins for {database['distinct_sent']} distinct deliveries; "
            f"{database['duplicate_outcomes']} of {database['repeats_sent']} repeats recorded as duplicate",
            "0 stored twice", database["consistent"],
        ))
    rollup = _figures(sections, "rollup")
    if rollup:
        goals.append(Goal(
            f"Full rollup of {rollup['days']} days × {rollup['employees']} employees / SQL GROUP BY",
            f"{rollup['full_vs_groupby']:.1f}× ({rollup['full']['seconds']:.1f} s / {rollup['groupby']['seconds']:.2f} s)",
            "≤ 3×", rollup["full_vs_groupby"] <= 3,
        ))
        goals.append(Goal("Full rollup peak memory (max RSS)", f"{rollup['full']['max_rss_mb']:.0f} MB", "< 500 MB",
                          rollup["full"]["max_rss_mb"] < 500))
        goals.append(Goal(f"Incremental rollup of one day × {rollup['employees']} employees",
                          f"{rollup['incremental']['seconds']:.2f} s", "< 1 s", rollup["incremental"]["seconds"] < 1))
    excel = _figures(sections, "excel")
    if excel:
        goals.append(Goal(
            f"Excel month workbook, {excel['employees']} employees / openpyxl write-only unstyled",
            f"{excel['styled_vs_plain']:.2f}× ({excel['styled']['seconds']:.1f} s / {excel['plain']['seconds']:.1f} s)",
            "≤ 2.5×", excel["styled_vs_plain"] <= 2.5,
        ))
        command = excel.get("export_command")
        if command:
            goals.append(Goal("Excel peak memory of `export_excel` (max RSS of its process: tables and workbook)",
                              f"{command['max_rss_mb']:.0f} MB", "< 150 MB", command["max_rss_mb"] < 150))
        else:
            goals.append(Goal("Excel peak memory (max RSS of the writing process, the month's tables included)",
                              f"{excel['styled']['max_rss_mb']:.0f} MB", "< 150 MB", excel["styled"]["max_rss_mb"] < 150))
        goals.append(Goal("… of which `write_workbook` itself allocates at most (tracemalloc)",
                          f"{excel['writer_traced_peak_mb']:.1f} MB", "< 150 MB", excel["writer_traced_peak_mb"] < 150))
    sheets = _figures(sections, "sheets")
    if sheets:
        calls = sorted({size["calls"] for size in sheets["sizes"]})
        largest = max(size["max_request_bytes"] for size in sheets["sizes"])
        employees = ", ".join(str(size["employees"]) for size in sheets["sizes"])
        goals.append(Goal(f"Sheets API calls per monthly export ({employees} employees)",
                          " / ".join(str(size["calls"]) for size in sheets["sizes"]),
                          "the same small number at every size", len(calls) == 1 and calls[0] <= 20))
        goals.append(Goal("Largest Sheets request", f"{largest / 1e6:.2f} MB", "< 2 MB", largest < 2_000_000))
    for name in ("receiver", "rollup", "excel", "sheets"):
        section = sections.get(name)
        if section is not None and not section["ok"]:
            goals.append(Goal(name, f"not measured: {section['error'][:120]}", "", None))
    return goals


def _latency_goal(figure: str, run: dict[str, Any]) -> Goal:
    errors = run["failures"] + sum(count for status, count in run["status_counts"].items() if int(status) != 200)
    met = run["p99_ms"] < 100 and run["max_ms"] < 1000 and errors == 0
    return Goal(
        figure,
        f"p50 {run['p50_ms']:.1f} ms, p99 {run['p99_ms']:.1f} ms, max {run['max_ms']:.0f} ms, {errors} errors",
        "p99 < 100 ms, max < 1 s, 0 errors", met,
    )


def _summary(sections: dict[str, Any], machine: dict[str, Any]) -> list[str]:
    lines = []
    receiver = _figures(sections, "receiver")
    if receiver:
        throughput, latency = receiver["throughput"], receiver["latency"]
        highest = latency["highest_sustained"]
        run = sections["receiver"].get("run") or {}
        fsync_ms = run.get("fsync_p50_ms", machine["fsync"]["p50_ms"])
        lines.append(
            f"- Receiver: {throughput['full_per_s']:.0f} deliveries/s committed with synchronous=FULL on "
            f"{machine['cores']} cores, {throughput['full_vs_bare']:.3f} of a bare Litestar handler (goal ≥ 0.5; "
            f"{throughput['full_vs_bare_quiet']:.2f} without per-request logging) and {throughput['full_vs_normal']:.2f} "
            f"of synchronous=NORMAL (goal ≥ 0.7); fsync p50 {fsync_ms} ms."
        )
        peak = latency["runs"][0]
        lines.append(
            f"- Latency at twice the morning peak: p99 {peak['p99_ms']:.0f} ms; highest rate sustained without errors "
            + (f"{highest['rate_per_s']:.0f}/s with p99 {highest['p99_ms']:.0f} ms, max {highest['max_ms']:.0f} ms; "
               if highest else "none of the tried rates; ")
            + ("no check-in stored twice." if latency["database"]["consistent"] else "DATABASE CHECK FAILED.")
        )
    rollup = _figures(sections, "rollup")
    if rollup:
        lines.append(
            f"- Rollup: a full recompute of {rollup['checkins']:,} check-ins ({rollup['employees']} employees, "
            f"{rollup['days']} days) takes {rollup['full']['seconds']:.0f} s, {rollup['full_vs_groupby']:.0f}× one SQL GROUP BY "
            f"(goal ≤ 3×), peak {rollup['full']['max_rss_mb']:.0f} MB; one new day takes {rollup['incremental']['seconds']:.2f} s (goal < 1 s)."
        )
    excel = _figures(sections, "excel")
    if excel:
        lines.append(
            f"- Excel: the month's workbook for {excel['employees']} employees takes {excel['styled']['seconds']:.1f} s, "
            f"{excel['styled_vs_plain']:.2f}× openpyxl write-only without styles (goal ≤ 2.5×); the whole export peaks at "
            f"{(excel.get('export_command') or excel['styled'])['max_rss_mb']:.0f} MB (goal < 150 MB)."
        )
    sheets = _figures(sections, "sheets")
    if sheets:
        sizes = sheets["sizes"]
        lines.append(
            "- Google Sheets: a monthly export makes "
            + ", ".join(f"{size['calls']} calls for {size['employees']} employees" for size in sizes)
            + f"; the largest request is {max(size['max_request_bytes'] for size in sizes) / 1e6:.2f} MB (goal < 2 MB)."
        )
    return lines


def _receiver_details(figures: dict[str, Any]) -> list[str]:
    throughput, latency = figures["throughput"], figures["latency"]
    lines = [
        f"Throughput: `wrk` (Debian 4.1.0), 1 thread, {throughput['connections']} connections, "
        f"{throughput['duration_s']} s per run, {throughput['rounds']} rounds in which the configurations below take turns; "
        "the median of the rounds counts. Every request is a distinct, realistic delivery (12 fields with "
        "Vietnamese text, a working_group and the API key, about 380 bytes; `bench/deliveries.lua`). "
        "Each server is `python -m bench.serve` under uvicorn with one worker and the project's installed "
        "uvicorn (no uvloop or httptools) and the options `acheckin-sync serve` passes (access log on, INFO "
        "records, which Litestar's default logging writes to stderr, redirected to a file). The bare handler "
        "reads and decodes the body with msgspec and answers a small JSON object. Each receiver run "
        "starts on a new database.",
        "",
        "| server | log level | req/s per round | median | server CPU ms per request | p50 / p99 / max latency (ms, last round) | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, key, level in (("bare Litestar handler", "bare", "info"),
                              ("receiver, synchronous=FULL", "full", "info"),
                              ("receiver, synchronous=NORMAL", "normal", "info"),
                              ("bare Litestar handler", "bare_quiet", "warning"),
                              ("receiver, synchronous=FULL", "full_quiet", "warning"),
                              ("receiver, synchronous=FULL, with the proposals below", "full_proposed", "info"),
                              ("receiver, synchronous=FULL, with the proposals below", "full_quiet_proposed", "warning")):
        runs = throughput[key]
        last = runs[-1]
        errors = sum(run["non_2xx"] + run["socket_errors"] for run in runs)
        rates = ", ".join(f"{run['requests_per_s']:.0f}" for run in runs)
        median = sorted(run["requests_per_s"] for run in runs)[len(runs) // 2]
        cpu = sorted(run["server_cpu_ms_per_request"] or 0 for run in runs)[len(runs) // 2]
        lines.append(
            f"| {label} | {level} | {rates} | {median:.0f} | {cpu:.3f} | "
            f"{last['latency_p50_ms']} / {last['latency_p99_ms']} / {last['latency_max_ms']} | {errors} |"
        )
    lines += [
        "",
        f"Without a log line per request (log level `warning` for both servers), the receiver makes "
        f"{throughput['full_vs_bare_quiet']:.2f} of the bare handler's rate. With `info`, the default of `serve`, "
        "uvicorn's access log costs the bare handler a large share of its time, which narrows the ratio.",
        "",
        f"With the proposals below patched in (`bench/receiver_proposals.py`, `bench.serve --proposed`), the ratio "
        f"is {throughput['proposed_vs_bare']:.2f} with `info` and {throughput['proposed_vs_bare_quiet']:.2f} with `warning`. "
        "Proposed changes (the owner of `ingest/` decides):",
        "",
        *[f"- {line}" for line in throughput["proposals"]],
        "",
        "What one delivery costs in each step, measured in one process without HTTP (`bench/components.py`, "
        "4,000 distinct deliveries):",
        "",
        "| step | wall µs per delivery | CPU µs per delivery |",
        "|---|---|---|",
        *[f"| {cost['step']} | {cost['wall_us']} | {cost['cpu_us']} |" for cost in figures["components"]],
        "",
        "Where the receiver's time goes under wrk load (synchronous=FULL, log level `warning`; py-spy samples of "
        "both threads at 200 Hz; `incl` counts samples with the function anywhere on the stack, `own` at the top):",
        "",
        "```",
        *figures["profile"],
        "```",
        "",
    ]
    lines += [
        "",
        "Latency: `bench/openloop.py`, an open-loop generator (each request is due at start + i / rate and its "
        "latency counts from that due time, so a stall is not hidden), HTTP/1.1 keep-alive connections opened "
        "on demand, 5 % of requests re-sending an earlier delivery unchanged as ACheckin's retries do. One "
        "receiver (synchronous=FULL) and one database take every rate in turn; the search goes up until a rate "
        "has an error, falls more than 3 % behind or has a request over 1 s.",
        "",
        "| rate (/s) | seconds | sent | completed/s | p50 ms | p99 ms | max ms | statuses | failures | connections |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in latency["runs"]:
        statuses = ", ".join(f"{status}: {count}" for status, count in run["status_counts"].items())
        lines.append(
            f"| {run['rate_per_s']} | {run['duration_s']} | {run['sent']} | {run['completed_per_s']} | {run['p50_ms']} | "
            f"{run['p99_ms']} | {run['max_ms']} | {statuses} | {_failures(run)} | {run['max_connections_used']} |"
        )
    database = latency["database"]
    lines += [
        "",
        f"Database after the latency runs: {database['checkins']} check-ins for {database['distinct_sent']} distinct "
        f"deliveries sent, {database['deliveries']} deliveries for {database['distinct_sent'] + database['repeats_sent']} "
        f"requests, {database['duplicate_outcomes']} recorded as `duplicate` for {database['repeats_sent']} repeats, "
        f"{database['natural_keys_stored_twice']} check-ins stored twice.",
        "",
    ]
    return lines


def _failures(run: dict[str, Any]) -> str:
    kinds = run.get("failure_kinds") or {}
    if not kinds:
        return str(run["failures"])
    return f"{run['failures']} (" + ", ".join(f"{kind} {count}" for kind, count in kinds.items()) + ")"


def _rollup_details(figures: dict[str, Any]) -> list[str]:
    lines = [figures["description"], "", "| run | seconds | CPU seconds | max RSS (MB) | rows |", "|---|---|---|---|---|"]
    for label, key in (("SQL GROUP BY (baseline)", "groupby"), ("full rollup", "full"),
                       ("one day stored through `Store.write_batch`", "write_day"), ("incremental rollup", "incremental"),
                       ("full rollup with the proposals below", "proposed_full"),
                       ("incremental rollup with the proposals below", "proposed_incremental")):
        run = figures[key]
        if run is None:
            continue
        rss = "—" if run["max_rss_mb"] is None else f"{run['max_rss_mb']:.0f}"
        lines.append(f"| {label} | {run['seconds']:.2f} | {run['cpu_seconds']:.2f} | {rss} | {run.get('rows') or ''} |")
    lines += ["", f"Full rollup on CPU time: {figures['full_vs_groupby_cpu']}× the GROUP BY's.", ""]
    if figures["proposals"]:
        lines += [
            f"With the proposals below: {figures['proposed_full_vs_groupby']}× on wall-clock time; "
            f"{figures['proposed_rows_differing']} rows of `daily_attendance` differ from the run without them.",
            "",
            "Proposed changes (`bench/proposals.py` patches them in for the runs marked so; the owners decide):",
            "",
            *[f"- {line}" for line in figures["proposals"]],
            "",
        ]
    else:
        lines += ["No change to the rollup is proposed at the moment: the owner adopted the earlier ones "
                  "(listed in `bench/proposals.py`).", ""]
    if figures.get("profile"):
        lines += [f"Profile of the full rollup ({figures['profile_scope']}), top entries by cumulative time:", "",
                  "```", *figures["profile"], "```", ""]
    if figures.get("profile_proposed"):
        lines += ["The same with the proposals:", "", "```", *figures["profile_proposed"], "```", ""]
    return lines


def _excel_details(figures: dict[str, Any]) -> list[str]:
    lines = [figures["description"], "", "| writer | seconds | max RSS (MB) | file size (KB) |", "|---|---|---|---|"]
    for label, key in (("openpyxl write-only, unstyled (baseline)", "plain"), ("exporters.excel.write_workbook", "styled")):
        run = figures[key]
        lines.append(f"| {label} | {run['seconds']:.2f} | {run['max_rss_mb']:.0f} | {run['file_bytes'] / 1024:.0f} |")
    lines += [
        "",
        f"Memory, measured with tracemalloc in separate untimed runs: the month's tables hold "
        f"{figures['tables_traced_mb']:.0f} MB of Python objects once built, and `write_workbook` itself allocates "
        f"at most {figures['writer_traced_peak_mb']:.1f} MB on top of them while writing. The max RSS of the two "
        f"writers above includes unpickling the tables (a process that only unpickles them peaks at "
        f"{figures['tables_process_rss_mb']:.0f} MB), so the whole export below is the figure for the goal.",
        "",
    ]
    command = figures.get("export_command")
    if command:
        lines += [
            f"The whole `jobs.export.export_excel` of the month, as `acheckin-sync export excel` runs it (the rollup "
            f"finds nothing to do, then the tables are built and written) in a process of its own: "
            f"{command['seconds']:.1f} s, max RSS {command['max_rss_mb']:.0f} MB.",
            "",
        ]
    if figures.get("profile"):
        lines += ["Profile of `write_workbook`, top entries by cumulative time:", "", "```", *figures["profile"], "```", ""]
    return lines


def _sheets_details(figures: dict[str, Any]) -> list[str]:
    lines = [figures["description"], "", "| employees | calls | calls by kind | bytes sent | largest request (bytes) |",
             "|---|---|---|---|---|"]
    for size in figures["sizes"]:
        kinds = ", ".join(f"{kind} {count}" for kind, count in size["calls_by_kind"].items())
        lines.append(f"| {size['employees']} | {size['calls']} | {kinds} | {size['bytes_total']:,} | {size['max_request_bytes']:,} |")
    lines += ["", "First export of the month (new tabs): " + "; ".join(
        f"{size['employees']} employees: {size['calls']} calls, {size['bytes_total']:,} bytes, largest {size['max_request_bytes']:,}"
        for size in figures["first"]) + ".", ""]
    if figures.get("per_table"):
        lines += [f"Each table of the {figures['per_table'][0]['employees']}-employee month exported alone:", "",
                  "| table | rows | calls | bytes sent |", "|---|---|---|---|"]
        lines += [f"| {table['export']} | {table['rows']:,} | {table['calls']} | {table['bytes_total']:,} |"
                  for table in figures["per_table"]]
        lines.append("")
    return lines
