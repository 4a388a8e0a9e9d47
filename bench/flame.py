"""Summarise a py-spy raw (collapsed stacks) file: samples per thread and per function."""

from __future__ import annotations

import collections
import re
from pathlib import Path


PROJECT_PACKAGES = ("ingest/", "jobs/", "exporters/")


def summarise(path: Path, top: int = 15) -> list[str]:
    """Return lines: samples per thread, the functions at the top of the stack, the project's functions."""
    threads: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = stack.split(";")
        thread = re.sub(r"thread \(\d+\): ", "", frames[0])
        threads[thread] += count
        total += count
        functions = [_short(frame) for frame in frames[1:]]
        for function in set(functions):
            inclusive[function] += count
        if functions:
            own[functions[-1]] += count
    lines = [f"{total} samples on CPU; by thread: " + ", ".join(f"{name} {count / total:.0%}" for name, count in threads.most_common())]
    lines += ["", "top of the stack (own):", f"{'own':>6}  function"]
    lines += [f"{count / total:6.1%}  {function}" for function, count in own.most_common(top)]
    project = [(function, count) for function, count in inclusive.most_common() if function.split(" (")[-1].startswith(PROJECT_PACKAGES)]
    lines += ["", "project code anywhere on the stack (inclusive):", f"{'incl':>6}  function"]
    lines += [f"{count / total:6.1%}  {function}" for function, count in project[:top]]
    return lines


def _short(frame: str) -> str:
    return re.sub(r"/[^ ]*/site-packages/|/root/\.pyenv/versions/[^/]+/lib/python3\.\d+/|/work/main/", "", frame)
