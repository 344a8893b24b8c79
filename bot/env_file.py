"""The ``.env`` file's own form: the lines python-dotenv cannot read.

python-dotenv skips such a line (``PORT 3000``, a quote left open) with a warning that names neither
the file nor the setting, so the setting's default stays in force unnoticed: ``STORE_MESSAGE_TEXT="none``
kept every customer's words in full. They are refused instead, before the settings are read.
"""

from __future__ import annotations

import re
from pathlib import Path

from dotenv.parser import parse_stream

# The name a line begins with, for telling which line is meant (its value may be a secret: never shown).
_NAME = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)")


def unreadable_lines(env_file: Path) -> str | None:
    """What is wrong with ``env_file``'s lines, in one sentence naming each line and its setting, or None
    when every line reads (or there is no such file).

    Raises:
        UnicodeDecodeError: the file is not UTF-8 (the settings' reading of it says so).
    """
    if not env_file.is_file():
        return None
    with env_file.open(encoding="utf-8") as stream:
        bad = [binding.original for binding in parse_stream(stream) if binding.error]
    if not bad:
        return None
    lines = ", ".join(f"line {line.line}{_named(line.string)}" for line in bad)
    each = "it" if len(bad) == 1 else "each"
    return (
        f"{env_file.absolute()}: {lines} cannot be read, and would be ignored; write {each} as NAME=value "
        "on one line, closing any quote the value opens"
    )


def _named(line: str) -> str:
    name = _NAME.match(line)
    return f" ({name.group(1)})" if name else ""
