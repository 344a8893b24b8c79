"""Fixtures for the reliability suite: the end-to-end bot fixtures on a SQLite file; Claude always asked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import router
from tests.bot.conftest import anthropic_api, make_bot, running

__all__ = ["anthropic_api", "bot_db_url", "claude_routes", "make_bot", "running"]


@pytest.fixture
def bot_db_url(tmp_path: Path) -> str:
    """SQLite only: these tests are about the bot's behaviour under faults, not the backend's."""
    return f"sqlite:///{tmp_path / 'routing.db'}"


@pytest.fixture(scope="session")
def claude_routes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default routes with the local first stage never confident, so every message reaches Claude."""
    routes = yaml.safe_load((Path(router.__file__).parent / "routes.yml").read_text(encoding="utf-8"))
    routes["classifier"]["local"]["accept_threshold"] = None
    path = tmp_path_factory.mktemp("routes") / "routes.yml"
    path.write_text(yaml.safe_dump(routes, allow_unicode=True), encoding="utf-8")
    return path
