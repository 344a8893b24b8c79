"""``serve`` asks Anthropic about its key and models before it starts: a refused key or a misspelt model
stops it with one line naming what to change; Anthropic down does not, and a deprecated model is warned of."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import anthropic
import pytest

from bot.commands.claude_check import check_claude
from bot.settings import SettingsError
from router.config import default_routes_path, load_routes
from tests.bot.test_serve_startup import one_line, serve
from tests.fakes import FakeAnthropic, FakeSlack
from tests.fakes.server import LocalServer

KEY = "sk-ant-test-right"


@pytest.fixture
async def claude() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic(api_key=KEY) as fake:
        yield fake


def client(fake: FakeAnthropic, key: str = KEY, base_url: str | None = None) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key=key, base_url=base_url or fake.base_url, max_retries=0, timeout=5)


def routes_with(tmp_path: Path, old: str, new: str) -> Path:
    """The default routes file with one model id changed (prices kept in step)."""
    path = tmp_path / "routes.yml"
    path.write_text(default_routes_path().read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return path


async def test_every_model_of_the_routes_is_asked_about(claude: FakeAnthropic) -> None:
    async with client(claude) as c:
        await check_claude(c, load_routes(), None)
    assert claude.counters["models"] == len(load_routes().models) == 2


async def test_a_refused_key_stops_serve_naming_the_setting(tmp_path: Path, slack: FakeSlack) -> None:
    async with FakeAnthropic(api_key=KEY) as fake:
        code, stderr = await serve(
            tmp_path, slack, ANTHROPIC_API_KEY="sk-ant-wrong", ANTHROPIC_BASE_URL=fake.base_url
        )
    line = one_line(code, stderr).removeprefix("support-router: ")
    assert line.startswith("ANTHROPIC_API_KEY was refused by Anthropic (authentication_error):")
    assert not (tmp_path / "serve.db").exists()  # stopped before it migrated


async def test_a_model_anthropic_does_not_serve_names_the_routes_field(
    tmp_path: Path, claude: FakeAnthropic
) -> None:
    path = routes_with(tmp_path, "claude-haiku-5-5", "claude-haiku-5-55")
    claude.unknown_models.add("claude-haiku-5-55")
    with pytest.raises(SettingsError) as raised:
        async with client(claude) as c:
            await check_claude(c, load_routes(path), path)
    assert str(raised.value).startswith(
        f"{path}: classifier.model, categories[0].handler.model: 'claude-haiku-5-55' is not a model "
        "Anthropic serves (not_found_error)"
    )


async def test_a_gateway_that_serves_no_models_api_does_not_stop_the_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A proxy behind ANTHROPIC_BASE_URL with /v1/messages alone: a plain 404, not Anthropic's about a model.
    async with LocalServer() as gateway:
        with caplog.at_level(logging.WARNING):
            async with anthropic.AsyncAnthropic(api_key=KEY, base_url=gateway.root_url, max_retries=0) as c:
                await check_claude(c, load_routes(), None)
    assert "Could not check the Claude models at start (NotFoundError" in caplog.text


async def test_anthropic_down_does_not_stop_the_start(
    claude: FakeAnthropic, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        async with client(claude, base_url="http://127.0.0.1:1") as c:
            await check_claude(c, load_routes(), None)
    assert "Could not check the Claude models at start (APIConnectionError" in caplog.text
    assert "ANTHROPIC_BASE_URL" in caplog.text


async def test_a_deprecated_model_is_warned_of_with_its_retirement_date(
    tmp_path: Path, claude: FakeAnthropic, caplog: pytest.LogCaptureFixture
) -> None:
    path = routes_with(tmp_path, "claude-sonnet-5-5", "claude-sonnet-4-5")
    with caplog.at_level(logging.WARNING):
        async with client(claude) as c:
            await check_claude(c, load_routes(path), path)
    [warning] = [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()]
    assert warning.startswith(f"{path}: categories[1].handler.model, categories[2].handler.model: ")
    assert "claude-sonnet-4-5 is deprecated and retires on" in warning
