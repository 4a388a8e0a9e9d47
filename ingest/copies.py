"""The copy rule: merging a repeated delivery of a check-in into the stored one.

Copies share (workspace_id, user_id, checkin_timestamp, webhook_type). The stored
`working_group` never depends on arrival order. When only one copy carries a valid
group, that group is kept. When copies carry different groups, the smallest
(begin, end) is kept and `working_group_conflict` lists every distinct group seen,
sorted. Other fields keep the first known value, and a field still unknown is filled
from a later copy. Keys of `extra` are added the same way.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ingest.payload import Checkin, WorkingGroup, minutes_to_text, text_to_minutes

_CONFLICT_SEPARATOR = ", "


@dataclasses.dataclass(frozen=True)
class CopyState:
    """The mergeable part of a stored check-in."""

    texts: dict[str, str | None]
    working_group: WorkingGroup | None
    conflict: str | None
    extra: dict[str, Any]


def merge_copy(stored: CopyState, copy: Checkin) -> dict[str, Any]:
    """Return the `checkins` columns a new copy changes, empty when it changes nothing."""
    changes: dict[str, Any] = {}

    for column, value in stored.texts.items():
        incoming = getattr(copy, column)
        if value is None and incoming is not None:
            changes[column] = incoming

    missing_extra = {key: value for key, value in copy.extra.items() if key not in stored.extra}
    if missing_extra:
        changes["extra"] = {**stored.extra, **missing_extra}

    groups = set(parse_conflict(stored.conflict))
    groups.update(group for group in (stored.working_group, copy.working_group) if group is not None)
    if groups:
        kept = min(groups)
        conflict = format_conflict(groups)
        if kept != stored.working_group:
            changes["working_group_begin"] = kept.begin_text
            changes["working_group_end"] = kept.end_text
        if conflict != stored.conflict:
            changes["working_group_conflict"] = conflict

    return changes


def format_conflict(groups: set[WorkingGroup]) -> str | None:
    """Return the distinct groups as sorted `HH:MM-HH:MM` text, None for fewer than two."""
    if len(groups) < 2:
        return None
    return _CONFLICT_SEPARATOR.join(f"{group.begin_text}-{group.end_text}" for group in sorted(groups))


def parse_conflict(text: str | None) -> list[WorkingGroup]:
    """Parse `format_conflict` text back into groups."""
    if not text:
        return []
    groups = []
    for part in text.split(_CONFLICT_SEPARATOR):
        begin, end = part.split("-")
        groups.append(WorkingGroup(text_to_minutes(begin), text_to_minutes(end)))
    return groups


__all__ = ["CopyState", "format_conflict", "merge_copy", "minutes_to_text", "parse_conflict"]
