"""The command line's grammar: each command, its arguments, and the help that says what it does and where
its settings come from. What the commands do is ``bot.cli``'s."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.commands.database import parse_duration

LABEL_MAP_HELP = (
    "a JSON object mapping the file's labels to categories, or a JSON file holding one (either a plain "
    'object or {"column": ..., "text_column": ..., "mapping": {...}}, whose columns are then read). A label '
    'it does not name is refused unless it has a "*" entry for all others: a category, "<keep>" (the '
    'label as it is) or "<skip>" (leave those rows out), e.g. {"refund": "Refund Request", "*": '
    '"General Question"}'
)


def _column_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--text-column", help="the column (CSV) or key (JSON) holding the text (default: text)"
    )
    parser.add_argument(
        "--label-column", help="the column (CSV) or key (JSON) holding the label (default: label)"
    )


def _words(text: str) -> str:
    """A message to classify: something other than whitespace (the bot never classifies nothing)."""
    if not text.strip():
        raise argparse.ArgumentTypeError('empty: give the customer\'s message, e.g. "I was charged twice"')
    return text


def _precision(text: str) -> float:
    """A target precision: a fraction in (0, 1], refused as a usage error (exit 2, with the usage) like
    every other bad argument, not after the settings are read."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], e.g. 0.98, not {text[:40]!r}")
    return value


SETTINGS_FROM = (
    "Settings come from the environment or a .env file in the working folder (README: Configuration)"
)
SETTINGS_EPILOG = f"{SETTINGS_FROM}; DATABASE_URL defaults to sqlite:///routing.db in the working folder."
# classify, eval and calibrate open no database: their help named DATABASE_URL and not what they read.
CLASSIFIER_EPILOG = (
    "Reads the routes file (ROUTES_FILE, default: the packaged one). With ANTHROPIC_API_KEY set, Claude "
    "classifies what the local model is not confident of; without it the local model alone, offline. "
    "Records nothing: no database is opened. "
    f"{SETTINGS_FROM}."
)
CALIBRATE_EPILOG = (
    "Cross-validates the local model alone (Claude is not asked), configured by the routes file "
    f"(ROUTES_FILE, default: the packaged one). Records nothing: no database is opened. {SETTINGS_FROM}."
)
SERVE_EPILOG = (
    "Needs SLACK_BOT_TOKEN (xoxb-…) and either SLACK_SIGNING_SECRET (HTTP on HOST:PORT, default "
    "0.0.0.0:3000, Slack posting to /slack/events) or SLACK_APP_TOKEN (xapp-…: Socket Mode, no public URL; "
    "it wins when both are set). Applies pending migrations first: on a large decision log that can take "
    "minutes (README: Upgrading). " + SETTINGS_EPILOG
)


def _command(sub: Any, name: str, help: str, epilog: str = SETTINGS_EPILOG) -> argparse.ArgumentParser:
    """A subcommand whose own --help says what it does (not only the list in the parent's) and where
    its settings come from."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help, epilog=epilog)
    return parser


# Options whose value may begin with a minus that argparse does not read as a number: it takes ``-5d`` for
# an option, and `db purge --older-than -5d` said only "expected one argument", not what an age looks like.
_DASHED_VALUES = ("--older-than",)
_MINUS_DIGIT = re.compile(r"-[0-9]")


def parse_command_line(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line's arguments (``sys.argv`` by default), each option's value read as given: a value
    such as ``-5d`` after ``--older-than`` is that option's, and refused by it with what it takes.

    Raises:
        SystemExit: a usage error (exit code 2, with the usage) or ``--help`` (0).
    """
    words: list[str] = []
    for word in sys.argv[1:] if argv is None else argv:
        if words and words[-1] in _DASHED_VALUES and "--" not in words and _MINUS_DIGIT.match(word):
            words[-1] = f"{words[-1]}={word}"
        else:
            words.append(word)
    return build_parser().parse_args(words)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command and its arguments (``support-router --help``)."""
    parser = argparse.ArgumentParser(
        prog="support-router",
        description="The support-router command line (also: python -m bot).",
        epilog=SETTINGS_EPILOG,
    )
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
    p.add_argument(
        "period",
        nargs="?",
        help="24h, 7d (default), 30d, all or YYYY-MM-DD..YYYY-MM-DD (UTC, both days included)",
    )
    p.add_argument(
        "--channel",
        action="append",
        metavar="ID",
        help="one channel, by its id, e.g. C0123ABCD (at the bottom of the channel's details); demo or "
        "console for what support-router demo or chat recorded. Without it: every Slack channel, leaving "
        "out demo and console",
    )
    _add_db_commands(sub)
    _name_choices(sub)
    return parser


def _name_choices(sub: Any) -> None:
    """Show a missing command as its choices, as the usage line does: argparse's error names the
    subparsers' ``dest`` otherwise, and `support-router db` said "required: db_command"."""
    sub.metavar = "{" + ",".join(sub.choices) + "}"


def _add_classifier_commands(sub: Any) -> None:
    """``classify``, ``eval`` and ``calibrate``: the classifier put to one message or to a labelled file."""
    p = _command(
        sub,
        "classify",
        "classify one message and print category, confidence, reasoning, source (local model or Claude) and "
        "whether it would be escalated",
        CLASSIFIER_EPILOG,
    )
    p.add_argument("text", type=_words, help="the customer's message")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = _command(sub, "eval", "evaluate routing on a labelled JSONL or CSV file", CLASSIFIER_EPILOG)
    p.add_argument(
        "file",
        type=Path,
        help="JSONL or CSV with text and label (HINT3, Banking77, CLINC150, Bitext read as is)",
    )
    p.add_argument("--label-map", help=LABEL_MAP_HELP)
    _column_options(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = _command(
        sub,
        "calibrate",
        "pick the local-accept threshold (skip Claude) by cross-validation",
        CALIBRATE_EPILOG,
    )
    p.add_argument("file", type=Path, help="labelled JSONL or CSV, as for eval")
    p.add_argument(
        "--target-precision", type=_precision, default=0.98, help="precision to keep (default 0.98)"
    )
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
    p.add_argument(
        "--older-than",
        required=True,
        type=parse_duration,
        metavar="AGE",
        help="a whole number of days, weeks or hours: 90d, 12w, 36h",
    )
    _name_choices(db)
