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

from bot.commands.database import parse_duration
from bot.settings import Settings, SettingsError, dotenv_near_misses, load_settings
from router.datasets import LabelMapping, load_label_mapping, parse_label_mapping
from router.errors import RouterError

if TYPE_CHECKING:
    from rich.console import Console

T = TypeVar("T")
logger = logging.getLogger(__name__)

LABEL_MAP_HELP = (
    "a JSON object mapping the file's labels to categories, or a JSON file holding one (either a plain "
    'object or {"column": ..., "text_column": ..., "mapping": {...}}, whose columns are then read)'
)


def _column_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--text-column", help="the column (CSV) or key (JSON) holding the text (default: text)"
    )
    parser.add_argument(
        "--label-column", help="the column (CSV) or key (JSON) holding the label (default: label)"
    )


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


def _words(text: str) -> str:
    """A message to classify: something other than whitespace (the bot never classifies nothing)."""
    if not text.strip():
        raise argparse.ArgumentTypeError('empty: give the customer\'s message, e.g. "I was charged twice"')
    return text


SETTINGS_EPILOG = (
    "Settings come from the environment or a .env file in the working folder (README: Configuration); "
    "DATABASE_URL defaults to sqlite:///routing.db in the working folder."
)
SERVE_EPILOG = (
    "Needs SLACK_BOT_TOKEN (xoxb-…) and either SLACK_SIGNING_SECRET (HTTP on HOST:PORT, default "
    "0.0.0.0:3000, Slack posting to /slack/events) or SLACK_APP_TOKEN (xapp-…: Socket Mode, no public URL; "
    "it wins when both are set). Applies pending migrations first: on a large decision log that can take "
    "minutes (README: Command line). " + SETTINGS_EPILOG
)


def _command(sub: Any, name: str, help: str, epilog: str = SETTINGS_EPILOG) -> argparse.ArgumentParser:
    """A subcommand whose own --help says what it does (not only the list in the parent's) and where
    its settings come from."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help, epilog=epilog)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="support-router", description=__doc__, epilog=SETTINGS_EPILOG)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_classifier_commands(sub)
    _command(
        sub,
        "demo",
        "run the seed system's sample queries through the whole pipeline and record them (channel demo)",
    )
    _command(
        sub,
        "serve",
        "apply the migrations and serve Slack (HTTP, or Socket Mode with SLACK_APP_TOKEN)",
        SERVE_EPILOG,
    )
    _command(sub, "chat", "talk to the router in the terminal as a customer (recorded under channel console)")
    p = _command(sub, "stats", "the /routing-stats report: routing, escalations, time, cost, feedback")
    p.add_argument("period", nargs="?", help="24h, 7d (default), 30d, all or YYYY-MM-DD..YYYY-MM-DD")
    p.add_argument(
        "--channel",
        action="append",
        help="one channel id, e.g. C0123ABCD (demo and console: the CLI's own records); default: all",
    )
    _add_db_commands(sub)
    return parser


def _add_classifier_commands(sub: Any) -> None:
    """``classify``, ``eval`` and ``calibrate``: the classifier put to one message or to a labelled file."""
    p = _command(sub, "classify", "classify one message and print category, confidence, reasoning")
    p.add_argument("text", type=_words, help="the customer's message")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = _command(sub, "eval", "evaluate routing on a labelled JSONL or CSV file")
    p.add_argument(
        "file",
        type=Path,
        help="JSONL or CSV with text and label (HINT3, Banking77, CLINC150, Bitext read as is)",
    )
    p.add_argument("--label-map", help=LABEL_MAP_HELP)
    _column_options(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = _command(sub, "calibrate", "pick the local-accept threshold (skip Claude) by cross-validation")
    p.add_argument("file", type=Path, help="labelled JSONL or CSV, as for eval")
    p.add_argument("--target-precision", type=float, default=0.98, help="precision to keep (default 0.98)")
    p.add_argument("--label-map", help=LABEL_MAP_HELP)
    _column_options(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _add_db_commands(sub: Any) -> None:
    """``db upgrade`` and ``db purge``."""
    p = _command(sub, "db", "database maintenance")
    db = p.add_subparsers(dest="db_command", required=True)
    _command(
        db,
        "upgrade",
        "apply every migration up to the latest (serve does it too at start; stats and db purge leave an "
        "older database to it). On a large log it takes minutes, during which decisions cannot be "
        "recorded: on SQLite stop serve first, on PostgreSQL choose a quiet hour (README: Upgrading)",
    )
    p = _command(
        db,
        "purge",
        "delete decisions, finished messages, quiet threads and learned examples older than an age "
        "(never a pending message)",
    )
    p.add_argument("--older-than", required=True, type=parse_duration, help="e.g. 90d, 12w, 36h")


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on uvloop where it is installed (Linux, macOS), else on asyncio's own loop.

    uvloop's libuv loop took about 15 % off the bot's CPU per message and 10 % off its acknowledgement
    time in a burst (see the README's Performance section); it does not exist on Windows.
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
        if not 0 < args.target_precision <= 1:
            raise SystemExit("--target-precision: expected a number in (0, 1], e.g. 0.98")
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
    args = build_parser().parse_args(argv)
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
