"""The Anthropic client the bot builds from its settings, against the fake Messages API on 127.0.0.1."""

from __future__ import annotations

from bot.clients import open_router
from bot.settings import Settings
from tests.fakes import FakeAnthropic

# About 100 KB of events over several of the handler's paced reads, the connection paused in between.
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
