"""Settings of the webhook receiver and the loading of its API keys.

Keys come from the environment variable `ACHECKIN_SYNC_API_KEYS` (comma-separated)
and from a key file (one key per line, `#` starts a comment line), never from
config.toml, so the config file can be shared without leaking a secret. Several keys
may be valid at once, which lets a firm rotate its key in the ACheckin CMS without
downtime.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from ingest.errors import ReceiverConfigError

API_KEYS_ENV = "ACHECKIN_SYNC_API_KEYS"

ACHECKIN_TIMEOUT_MS = 5000
"""ACheckin waits 5 s for a response, so the busy timeout must stay well below it."""


@dataclasses.dataclass(frozen=True)
class ReceiverSettings:
    """Settings of `POST /webhooks/acheckin`.

    `api_keys` empty means no key is configured: every delivery is accepted and the
    app warns at start-up. The keys are left out of `repr` so they never reach a log.
    """

    api_keys: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    body_limit_bytes: int = 1_048_576
    busy_timeout_ms: int = 1000

    def __post_init__(self) -> None:
        if self.body_limit_bytes <= 0:
            raise ReceiverConfigError(
                f"body_limit_bytes phải là số byte dương, nhận được {self.body_limit_bytes}",
                f"body_limit_bytes must be a positive number of bytes, got {self.body_limit_bytes}",
            )
        if not 0 < self.busy_timeout_ms < ACHECKIN_TIMEOUT_MS:
            raise ReceiverConfigError(
                f"busy_timeout_ms phải nằm trong khoảng 1..{ACHECKIN_TIMEOUT_MS - 1} ms "
                f"(ACheckin chỉ chờ 5 giây), nhận được {self.busy_timeout_ms}",
                f"busy_timeout_ms must be within 1..{ACHECKIN_TIMEOUT_MS - 1} ms "
                f"(ACheckin waits only 5 s), got {self.busy_timeout_ms}",
            )
        for position, key in enumerate(self.api_keys, start=1):
            _check_key(key, f"api_keys[{position}]")


def load_api_keys(environ: Mapping[str, str], api_keys_file: Path | None) -> tuple[str, ...]:
    """Return the valid API keys from `ACHECKIN_SYNC_API_KEYS` and the key file, in order.

    Both sources add up; a key listed twice counts once. Blank entries are skipped.
    Raises ReceiverConfigError when the file cannot be read or a key contains
    whitespace (a sign of a pasting mistake).
    """
    keys: list[str] = []

    for entry in environ.get(API_KEYS_ENV, "").split(","):
        key = entry.strip()
        if key:
            _check_key(key, API_KEYS_ENV)
            keys.append(key)

    if api_keys_file is not None:
        keys.extend(_read_key_file(api_keys_file))

    return tuple(dict.fromkeys(keys))


def _read_key_file(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReceiverConfigError(
            f"Không đọc được tệp khóa API {path}: {exc}. Hãy kiểm tra đường dẫn ingest.api_keys_file.",
            f"Cannot read the API key file {path}: {exc}. Check the path in ingest.api_keys_file.",
        ) from exc

    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        key = line.strip()
        if key and not key.startswith("#"):
            _check_key(key, f"{path}:{number}")
            keys.append(key)
    return keys


def _check_key(key: str, where: str) -> None:
    if not key or any(character.isspace() for character in key):
        raise ReceiverConfigError(
            f"Khóa API ở {where} rỗng hoặc chứa khoảng trắng; mỗi khóa phải là một chuỗi liền.",
            f"The API key at {where} is empty or contains whitespace; each key must be one unbroken string.",
        )
