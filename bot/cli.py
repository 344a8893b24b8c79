"""The support-router command line (also: python -m bot)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.arguments import parse_command_line
from bot.settings import Settings, SettingsError, dotenv_near_misses, load_settings
from router.datasets import LabelMapping, load_label_mapping, parse_label_mapping
from router.errors import RouterError

if TYPE_CHECKING:
    from rich.console import Console

T = TypeVar("T")
logger = logging.getLogger(__name__)


def _label_map(value: str | None) -> LabelMapping | None:
    """The --label-map option: inline JSON when it starts with ``{``, else the path of a JSON file."""
    if value is None:
        return None
    if value.lstrip().startswith("{"):
        return parse_label_mapping(value, "--label-map")
    return load_label_mapping(Path(value))


def configure_logging(level: str) -> None:
    """Our own loggers at ``level``; libraries only from WARNING, so their chatter stays out."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("bot", "router"):
        logging.getLogger(name).setLevel(level)
    # Alembic sets its own loggers to INFO on import; its progress lines are not news to a user.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on uvloop where it is installed (Linux, macOS), else on asyncio's own loop.

    uvloop's libuv loop took about 15 % off the bot's CPU per message and 10 % off its acknowledgement
    time in a burst (see docs/performance.md); it does not exist on Windows.
    """
    try:
        import uvloop
    except ImportError:
        return run_command(main)
    return uvloop.run(_settled(main))


def run_command(main: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine on a new asyncio loop, and let the database's threads end before it
    closes."""
    return asyncio.run(_settled(main))


async def _settled(main: Coroutine[Any, Any, T]) -> T:
    from bot.store.engine import sqlite_workers_stopped

    try:
        return await main
    finally:
        await sqlite_workers_stopped()


def run(args: argparse.Namespace, settings: Settings) -> None:
    # Imported here so that `--help` and argument errors stay fast.
    if args.command == "serve":
        # What serving needs alone: rich and the other commands' modules would stay in the bot's memory.
        from bot.commands import serving
        from bot.server import limit_malloc_arenas

        limit_malloc_arenas()
        run_event_loop(serving.serve(settings))
        return
    from rich.console import Console

    from bot.commands import chat, evaluation

    console = Console()
    if args.command in ("classify", "eval", "calibrate"):
        _run_classifier_command(args, settings, console)
    elif args.command == "demo":
        run_command(evaluation.run_demo(settings, console))
    elif args.command == "chat":
        run_command(chat.chat(settings, console))
    elif args.command == "stats":
        from bot.commands.stats import print_stats

        if code := run_command(print_stats(settings, args.period, args.channel, console)):
            raise SystemExit(code)
    elif args.command == "db":
        _run_db_command(args, settings, console)


def _run_classifier_command(args: argparse.Namespace, settings: Settings, console: Console) -> None:
    """``classify``, ``eval`` or ``calibrate``: the classifier put to one message or to a labelled file."""
    from bot.commands import calibration, evaluation

    if args.command == "classify":
        run_command(evaluation.classify_text(settings, args.text, args.json, console))
    elif args.command == "eval":
        labels = _label_map(args.label_map)
        work = evaluation.evaluate_file(
            settings, args.file, labels, args.json, console, args.text_column, args.label_column
        )
        run_command(work)
    elif args.command == "calibrate":
        labels = _label_map(args.label_map)
        run_command(
            calibration.calibrate_file(
                settings,
                args.file,
                labels,
                args.target_precision,
                args.json,
                console,
                args.text_column,
                args.label_column,
            )
        )


def _run_db_command(args: argparse.Namespace, settings: Settings, console: Console) -> None:
    """``db upgrade`` or ``db purge``."""
    from bot.commands import serving

    if args.db_command == "upgrade":
        run_command(serving.db_upgrade(settings))
        console.print("The database is at the latest revision.")
    elif args.db_command == "purge":
        from bot.commands.database import purge

        purged = run_command(purge(settings, args.older_than))
        console.print(
            f"Deleted {purged.decisions} decision(s), {purged.messages} finished message(s), "
            f"{purged.threads} thread state(s) and {purged.examples} learned example(s) older than "
            f"{args.older_than}."
        )


# SQLite's messages for a file it cannot open or write (missing folder, permissions, read-only mount).
_SQLITE_ACCESS = re.compile(
    r"unable to open|readonly|read-only|permission denied|access permission|disk i/o error", re.IGNORECASE
)


def database_problem(error: Exception, database_url: str) -> str:
    """One line for a store error: what failed at DATABASE_URL, and what to check."""
    from bot.store.errors import MigrationError

    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if isinstance(error, MigrationError):
        return text  # it says what to do: the server and the URL are fine
    if not text.startswith("DATABASE_URL:"):
        text = f"DATABASE_URL: {text}"
    if database_url.strip().lower().startswith("sqlite"):
        if not _SQLITE_ACCESS.search(text):
            # e.g. "table routing_decisions already exists": the file opened fine, so advice about its
            # folder and permissions would send the user the wrong way.
            return text
        fix = "check that the file's folder exists and that this user may write to the file and the folder"
    else:
        fix = (
            "check that the database server is running and reachable from here, and the URL's host, port, "
            "user, password and database name"
        )
    return f"{text}; {fix}"


def main(argv: list[str] | None = None) -> int:
    args = parse_command_line(argv)
    settings: Settings | None = None
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        for warning in dotenv_near_misses():
            logger.warning(warning)
        run(args, settings)
    except (SettingsError, RouterError) as e:
        print(f"support-router: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        # Imported here, not at the top: the store pulls in SQLAlchemy, seconds for `--help`. When a
        # database error was raised, they are loaded already.
        from sqlalchemy.exc import SQLAlchemyError

        from bot.store.errors import StoreError

        # SQLAlchemyError: what the store does not wrap, e.g. a migration the database refuses.
        if settings is None or not isinstance(e, StoreError | SQLAlchemyError):
            raise
        print(f"support-router: {database_problem(e, settings.database_url)}", file=sys.stderr)
        return 2
    return 0
