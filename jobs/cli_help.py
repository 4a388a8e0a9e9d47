"""Click command classes whose `--help` and usage errors speak the configured language.

The language is `export.language` of the config file named by `--config` (before or
after the command), else by `ACHECKIN_SYNC_CONFIG`, else `config.toml` in the working
folder. With no readable config it is Vietnamese. English texts stay in the click
decorators; the Vietnamese ones are `jobs.i18n.HELP` and `jobs.i18n.CLICK_TEXTS`.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import click

from exporters.tables import Language
from jobs.i18n import CLICK_TEXTS, HELP
from jobs.settings import peek_language

CONFIG_ENV = "ACHECKIN_SYNC_CONFIG"
DEFAULT_CONFIG = Path("config.toml")
CONFIG_META = "acheckin_sync.config_path"
"""The `ctx.meta` key under which the `--config` options record the config path."""


def remember_config(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """Record a `--config` value for the help language and for `CliContext` (an option callback)."""
    if value is not None:
        ctx.meta[CONFIG_META] = value
    return value


def config_path_of(ctx: click.Context) -> Path:
    """Return the config path given on the command line, else the environment's, else the default."""
    recorded = ctx.meta.get(CONFIG_META)
    if recorded is not None:
        return Path(recorded)
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def help_language(ctx: click.Context) -> Language:
    """Return the language of help and usage errors: the config's, or Vietnamese."""
    return peek_language(config_path_of(ctx)) or "vi"


def _command_key(ctx: click.Context) -> str:
    """Return the command path without the program name: "" for the group, "export excel"."""
    return " ".join(ctx.command_path.split()[1:])


def _scan_config(ctx: click.Context, args: Sequence[str]) -> None:
    """Record `--config` from raw `args`, so an error raised while parsing them uses its language."""
    for index, arg in enumerate(args):
        if arg == "--config" and index + 1 < len(args):
            ctx.meta[CONFIG_META] = Path(args[index + 1])
        elif arg.startswith("--config="):
            ctx.meta[CONFIG_META] = Path(arg.partition("=")[2])


class LocalizedUsageError(click.UsageError):
    """A usage error shown in Vietnamese: usage line, help hint and "Lỗi: ..." (exit code 2)."""

    def show(self, file: IO[Any] | None = None) -> None:
        file = file or sys.stderr
        if self.ctx is not None:
            hint = ""
            if self.ctx.command.get_help_option(self.ctx) is not None:
                hint = CLICK_TEXTS["try_help"].format(command=self.ctx.command_path, option=self.ctx.help_option_names[0]) + "\n"
            click.echo(f"{self.ctx.get_usage()}\n{hint}", file=file, color=self.ctx.color)
        click.echo(f"Lỗi: {self.format_message()}", file=file)


def _vietnamese_usage_error(ctx: click.Context, error: click.UsageError) -> click.UsageError:
    """Return `error` in Vietnamese when click's text for it is known, else `error` itself."""
    if isinstance(error, click.NoSuchOption):
        text = CLICK_TEXTS["no_such_option"].format(name=error.option_name)
        if error.possibilities:
            text += " " + CLICK_TEXTS["did_you_mean"].format(names=", ".join(sorted(error.possibilities)))
    elif isinstance(error, click.MissingParameter) and error.param is not None:
        kind = "missing_argument" if isinstance(error.param, click.Argument) else "missing_option"
        text = CLICK_TEXTS[kind].format(name=error.param.get_error_hint(ctx))
    else:
        return error
    return LocalizedUsageError(text, ctx)


class _Localized:
    """Help formatting and usage errors shared by `LocalizedCommand` and `LocalizedGroup`."""

    help: str | None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        _scan_config(ctx, args)
        try:
            return super().parse_args(ctx, args)  # type: ignore[misc]
        except click.UsageError as error:
            if help_language(ctx) != "vi":
                raise
            raise _vietnamese_usage_error(ctx, error) from error

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        pieces = " ".join(self.collect_usage_pieces(ctx))  # type: ignore[attr-defined]
        prefix = CLICK_TEXTS["usage"] if help_language(ctx) == "vi" else None
        formatter.write_usage(ctx.command_path, pieces, prefix=prefix)

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        text = self.help_text(ctx)
        if text:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(text)

    def help_text(self, ctx: click.Context, key: str | None = None) -> str:
        """Return the command's help in the help language."""
        if help_language(ctx) == "vi":
            vietnamese = HELP.get(_command_key(ctx) if key is None else key)
            if vietnamese is not None:
                return vietnamese
        return inspect.cleandoc(self.help or "").partition("\f")[0]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        vietnamese = help_language(ctx) == "vi"
        records = []
        for param in self.get_params(ctx):  # type: ignore[attr-defined]
            record = param.get_help_record(ctx)
            if record is not None:
                records.append(_vietnamese_record(ctx, param, record) if vietnamese else record)
        if records:
            with formatter.section(CLICK_TEXTS["options"] if vietnamese else "Options"):
                formatter.write_dl(records)


def _vietnamese_record(ctx: click.Context, param: click.Parameter, record: tuple[str, str]) -> tuple[str, str]:
    """Return an option's help line with the Vietnamese text and "[mặc định: ...]"."""
    names, english = record
    option = param.opts[-1]
    text = HELP.get(f"{_command_key(ctx)} {option}".strip()) or HELP.get(option)
    if text is None:
        return record
    help_en = getattr(param, "help", None) or ""
    extra = english[len(help_en) :] if english.startswith(help_en) else ""
    extra = extra.replace("default:", CLICK_TEXTS["default"] + ":").replace("env var:", CLICK_TEXTS["env_var"] + ":")
    return names, f"{text}{extra.replace('required', CLICK_TEXTS['required'])}"


class LocalizedCommand(_Localized, click.Command):
    """A command whose help and usage errors follow the config's language.

    Every such command also takes `--config`, so it may follow the command name
    (`acheckin-sync status --config config.toml`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(config_option("The config file; relative paths inside it resolve against its folder."))


def config_option(help_en: str, **kwargs: Any) -> click.Option:
    """Return a `--config` option that records its value under `CONFIG_META`."""
    return click.Option(
        ["--config"],
        type=click.Path(path_type=Path, dir_okay=False),
        is_eager=True,
        expose_value=False,
        callback=remember_config,
        help=help_en,
        **kwargs,
    )


class LocalizedGroup(_Localized, click.Group):
    """A group whose help, command list and usage errors follow the config's language."""

    command_class = LocalizedCommand

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        vietnamese = help_language(ctx) == "vi"
        prefix = _command_key(ctx)
        commands = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        visible = [(name, command) for name, command in commands if command is not None and not command.hidden]
        # The same width click gives a command's summary: what the names leave of the line.
        limit = formatter.width - 6 - max((len(name) for name, _ in visible), default=0)
        rows = []
        for name, command in visible:
            text = HELP.get(f"{prefix} {name}".strip()) if vietnamese else None
            rows.append((name, _short_help(text, limit) if text else command.get_short_help_str(limit)))
        if rows:
            with formatter.section(CLICK_TEXTS["commands"] if vietnamese else "Commands"):
                formatter.write_dl(rows)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as error:
            if help_language(ctx) != "vi" or not args:
                raise
            raise LocalizedUsageError(CLICK_TEXTS["no_such_command"].format(name=args[0]), ctx) from error


LocalizedGroup.group_class = LocalizedGroup

def _short_help(text: str, limit: int) -> str:
    """Return the first sentence of `text`, cut to `limit` characters with "..."."""
    sentence = text.split(". ")[0].rstrip(".")
    if len(sentence) <= limit:
        return sentence
    return sentence[: limit - 3].rsplit(" ", 1)[0] + "..."
