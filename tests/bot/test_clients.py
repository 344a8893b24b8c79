"""The Anthropic client the bot builds from its settings, against the fake Messages API on 127.0.0.1."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from bot.clients import open_router
from bot.settings import Settings
from tests.fakes import FakeAnthropic

# About 100 KB of events over several of the handler's paced reads, the connection paused in between.
HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "proxy-connection"}
LONG_ANSWER = " ".join(f"word{i:05d}" for i in range(800))


async def test_a_long_streamed_answer_arrives_whole_and_in_order() -> None:
    async with FakeAnthropic(
        answer_fn=lambda body: LONG_ANSWER, answer_tokens=800, tokens_per_second=2000.0
    ) as fake:
        settings = Settings(_env_file=None, anthropic_api_key="test", anthropic_base_url=fake.base_url)
        chunks: list[str] = []

        async def sink(text: str) -> None:
            chunks.append(text)

        async with open_router(settings) as router:
            question = "My app crashes when I upload a photo, how do I fix it?"
            decision = await router.route(question, on_text=sink)
            again = await router.route("The export button does nothing at all.")
    assert not decision.escalated and decision.handler_model is not None
    assert decision.answer == LONG_ANSWER
    assert "".join(chunks) == LONG_ANSWER
    assert len(chunks) > 1, "the answer was not streamed"
    # The connection, paused between reads, is reused for the next message.
    assert again.answer == LONG_ANSWER


async def test_the_client_goes_through_the_proxy_named_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Behind a corporate proxy the SDK honours HTTP(S)_PROXY; the bot's client must too.
    seen: list[str] = []

    async def forward(request: web.Request) -> web.StreamResponse:
        seen.append(f"{request.method} {request.url}")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method, str(request.url), headers=headers, data=await request.read()
            ) as r,
        ):
            response = web.StreamResponse(status=r.status, headers={"content-type": r.content_type})
            await response.prepare(request)
            async for chunk in r.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    proxy = web.Application()
    proxy.router.add_route("*", "/{path:.*}", forward)
    runner = web.AppRunner(proxy)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with FakeAnthropic(answer_fn=lambda body: "Try turning it off and on.") as fake:
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
            for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
                monkeypatch.delenv(name, raising=False)
            settings = Settings(_env_file=None, anthropic_api_key="test", anthropic_base_url=fake.base_url)
            async with open_router(settings) as router:
                decision = await router.route("My app crashes when I upload a photo, how do I fix it?")
    finally:
        await runner.cleanup()
    assert decision.answer == "Try turning it off and on."
    assert seen and all(line == f"POST {fake.base_url}/v1/messages" for line in seen)
