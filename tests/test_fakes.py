"""The fakes, driven by the real ``anthropic`` and ``slack_sdk`` clients over local HTTP."""

from __future__ import annotations

import enum
import json
import time
from collections.abc import AsyncIterator
from typing import Required, TypedDict
from urllib.parse import parse_qs

import anthropic
import httpx2
import pydantic
import pytest
from aiohttp import web
from anthropic.types import Message, MessageParam, ParsedMessage, TextBlockParam, ToolParam
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond, AsyncSay
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes import (
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    TEAM_ID,
    FakeAnthropic,
    FakeSlack,
    block_actions_form,
    block_actions_payload,
    event_callback,
    message_event,
    post_signed,
    sign,
    slash_command_form,
)

MODEL = "claude-haiku-4-5"
FORM = "application/x-www-form-urlencoded"
ASK: list[MessageParam] = [
    {"role": "user", "content": "<customer_message>\nI was charged twice, I want a human</customer_message>"}
]


class Category(enum.StrEnum):
    GENERAL = "General Question"
    REFUND = "Refund Request"
    TECHNICAL = "Technical Support"


class Verdict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    category: Category
    confidence: float = pydantic.Field(ge=0, le=1)
    reasoning: str
    wants_human: bool = False


TOOL: ToolParam = {
    "name": "classify",
    "description": "Record the route.",
    "input_schema": Verdict.model_json_schema(),
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic(answer_tokens=12) as server:
        yield server


@pytest.fixture
async def claude(fake: FakeAnthropic) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        base_url=fake.base_url, api_key="test", max_retries=0, timeout=5
    ) as c:
        yield c


async def classify(claude: anthropic.AsyncAnthropic) -> ParsedMessage[Verdict]:
    return await claude.messages.parse(model=MODEL, max_tokens=200, messages=ASK, output_format=Verdict)


async def stream_text(
    claude: anthropic.AsyncAnthropic, system: str = "You are the refunds desk."
) -> tuple[str, Message]:
    async with claude.messages.stream(model=MODEL, max_tokens=300, system=system, messages=ASK) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        return text, await stream.get_final_message()


async def test_parse_answers_with_the_schema_enum(
    fake: FakeAnthropic, claude: anthropic.AsyncAnthropic
) -> None:
    reply = await classify(claude)
    assert reply.parsed_output == Verdict(
        category=Category.REFUND, confidence=0.92, reasoning="Mentions 'charged'.", wants_human=True
    )
    assert reply.model == MODEL and reply.stop_reason == "end_turn"
    assert reply._request_id is not None and reply._request_id.startswith("req_")
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0
    assert [r.kind for r in fake.requests] == ["classify"]
    assert fake.requests[0].body["output_config"]["format"]["type"] == "json_schema"


async def test_forced_tool_call_and_pluggable_classifier(
    fake: FakeAnthropic, claude: anthropic.AsyncAnthropic
) -> None:
    fake.classify_fn = lambda text, cats: {"category": cats[2], "confidence": 0.4, "reasoning": text[:9]}
    reply = await claude.messages.create(
        model=MODEL,
        max_tokens=200,
        messages=ASK,
        tools=[TOOL],
        tool_choice={"type": "tool", "name": "classify"},
    )
    block = reply.content[0]
    assert reply.stop_reason == "tool_use" and block.type == "tool_use" and block.name == "classify"
    verdict = Verdict.model_validate(block.input)
    assert (verdict.category, verdict.confidence, verdict.reasoning) == (Category.TECHNICAL, 0.4, "I was cha")


async def test_streamed_answer_names_its_system_prompt(fake: FakeAnthropic, claude: anthropic.AsyncAnthropic):
    text, final = await stream_text(claude)
    assert text.startswith("**Answer** from You are the refunds desk.:") and len(text.split()) == 12
    block = final.content[0]
    assert final.stop_reason == "end_turn" and block.type == "text" and block.text == text
    assert final.usage.output_tokens >= 12
    assert fake.requests[0].kind == "answer" and fake.counters["stream"] == 1


async def test_prompt_cache_usage(claude: anthropic.AsyncAnthropic) -> None:
    system: list[TextBlockParam] = [
        {"type": "text", "text": "Long handler prompt. " * 50, "cache_control": {"type": "ephemeral"}}
    ]
    first = await claude.messages.create(model=MODEL, max_tokens=50, system=system, messages=ASK)
    second = await claude.messages.create(model=MODEL, max_tokens=50, system=system, messages=ASK)
    created = first.usage.cache_creation_input_tokens
    assert created is not None and created > 0 and first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_read_input_tokens == created


async def test_scripted_latency_paces_the_stream(
    claude: anthropic.AsyncAnthropic, fake: FakeAnthropic
) -> None:
    fake.first_token_latency, fake.tokens_per_second = 0.2, 100
    started = time.monotonic()
    async with claude.messages.stream(model=MODEL, max_tokens=300, messages=ASK) as stream:
        async for _ in stream.text_stream:
            break
        first = time.monotonic() - started
        await stream.get_final_message()
    total = time.monotonic() - started
    # Lower bounds only (a loaded machine is slower, never faster): the first token after its latency,
    # and the rest paced after it rather than sent with it.
    assert first >= 0.2 and total - first >= 10 / 100


async def test_429_then_success_is_retried_by_the_sdk(fake: FakeAnthropic) -> None:
    fake.fail_next("429")
    async with anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="test", max_retries=1) as claude:
        reply = await classify(claude)
    assert reply.parsed_output is not None and fake.counters["fault:429"] == 1 and len(fake.requests) == 2


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("429", anthropic.RateLimitError),
        ("529", anthropic.OverloadedError),
        ("500", anthropic.InternalServerError),
        ("malformed", pydantic.ValidationError),
        ("schema_violation", pydantic.ValidationError),
        ("max_tokens", pydantic.ValidationError),
    ],
)
async def test_classification_faults_raise(
    fake: FakeAnthropic, claude: anthropic.AsyncAnthropic, kind: str, error: type[Exception]
) -> None:
    fake.fail_next(kind)
    with pytest.raises(error):
        await classify(claude)
    assert (await classify(claude)).parsed_output is not None


async def test_timeout_raises_api_timeout_error(fake: FakeAnthropic) -> None:
    fake.fail_next("timeout")
    async with anthropic.AsyncAnthropic(
        base_url=fake.base_url, api_key="test", max_retries=0, timeout=0.5
    ) as c:
        with pytest.raises(anthropic.APITimeoutError):
            await classify(c)


async def test_refusal_and_max_tokens_are_visible(
    fake: FakeAnthropic, claude: anthropic.AsyncAnthropic
) -> None:
    fake.fail_next("refusal", only="classify")
    refused = await classify(claude)
    assert refused.stop_reason == "refusal" and refused.parsed_output is None
    fake.fail_next("refusal")
    text, final = await stream_text(claude)
    assert text == "" and final.stop_reason == "refusal"
    fake.fail_next("max_tokens", only="answer")
    text, final = await stream_text(claude)
    assert final.stop_reason == "max_tokens" and 0 < len(text) < len((await stream_text(claude))[0])


@pytest.mark.parametrize(
    ("kind", "error"), [("stream_break", anthropic.APIStatusError), ("stream_drop", httpx2.HTTPError)]
)
async def test_broken_streams(
    fake: FakeAnthropic, claude: anthropic.AsyncAnthropic, kind: str, error: type[Exception]
) -> None:
    fake.fail_next(kind)
    seen: list[str] = []
    with pytest.raises(error):
        async with claude.messages.stream(model=MODEL, max_tokens=300, messages=ASK) as stream:
            async for piece in stream.text_stream:
                seen.append(piece)
    assert 0 < len(seen) < 12


async def test_faults_target_their_kind_and_random_rate_is_seeded(
    fake: FakeAnthropic, claude: anthropic.AsyncAnthropic
) -> None:
    fake.fail_next("500", only="answer")
    assert (await classify(claude)).parsed_output is not None and fake.pending_faults == 1
    with pytest.raises(anthropic.InternalServerError):
        await stream_text(claude)
    outcomes = []
    for seed in (7, 7):
        fake.set_fault_rate(0.5, ["529"], seed=seed)
        run = []
        for _ in range(8):
            try:
                await classify(claude)
                run.append(True)
            except anthropic.OverloadedError:
                run.append(False)
        outcomes.append(run)
    assert outcomes[0] == outcomes[1] and True in outcomes[0] and False in outcomes[0]


# --- Slack ---------------------------------------------------------------------------------------------


async def test_post_and_read_back_a_thread_with_metadata(
    slack: FakeSlack, web_client: AsyncWebClient
) -> None:
    root = slack.add_message("C1", "1700000000.000001", "U1", "My card was charged twice")
    metadata = {"event_type": "routed", "event_payload": {"category": "Refund Request"}}
    posted = await web_client.chat_postMessage(
        channel="C1", thread_ts=root["ts"], text="On it", metadata=metadata
    )
    assert posted["ts"] > root["ts"] and posted["message"]["bot_id"] == slack.bot_id
    plain = await web_client.conversations_replies(channel="C1", ts=root["ts"])
    assert [m["text"] for m in plain["messages"]] == ["My card was charged twice", "On it"]
    assert "metadata" not in plain["messages"][1]
    full = await web_client.conversations_replies(channel="C1", ts=root["ts"], include_all_metadata=True)
    assert full["messages"][1]["metadata"] == metadata and full["messages"][0]["reply_count"] == 1
    assert slack.thread_texts("C1", root["ts"]) == ["On it"]
    assert slack.calls_to("chat.postMessage")[0].params["thread_ts"] == root["ts"]


async def test_chat_stream_is_assembled(slack: FakeSlack, web_client: AsyncWebClient) -> None:
    root = slack.add_message("C1", None, "U1", "help")
    streamer = await web_client.chat_stream(
        channel="C1", thread_ts=root["ts"], recipient_team_id=TEAM_ID, recipient_user_id="U1", buffer_size=8
    )
    for piece in ("**Hello** ", "there, ", "this is ", "streamed"):
        await streamer.append(markdown_text=piece)
    await streamer.stop(markdown_text=".", metadata={"event_type": "routed", "event_payload": {"x": 1}})
    (reply,) = slack.thread_replies("C1", root["ts"])
    assert reply["text"] == "**Hello** there, this is streamed."
    assert reply["metadata"]["event_payload"] == {"x": 1}
    assert slack.stream_state("C1", reply["ts"]) == "completed"
    methods = ("chat.startStream", "chat.appendStream", "chat.stopStream")
    assert [len(slack.calls_to(m)) for m in methods] == [1, 2, 1]
    with pytest.raises(SlackApiError, match="missing_recipient_team_id"):
        await web_client.chat_startStream(channel="C1", thread_ts=root["ts"], markdown_text="x")
    # Slack takes at most 12,000 characters of markdown_text in one streaming call.
    with pytest.raises(SlackApiError, match="msg_too_long"):
        await web_client.chat_startStream(
            channel="C1",
            thread_ts=root["ts"],
            recipient_team_id=TEAM_ID,
            recipient_user_id="U1",
            markdown_text="x" * 12_001,
        )


async def test_other_methods(slack: FakeSlack, web_client: AsyncWebClient) -> None:
    slack.add_user("U9", name="ann", is_admin=True)
    slack.add_usergroup("S1", ["U9", "U8"])
    assert (await web_client.auth_test())["user_id"] == BOT_USER_ID
    assert (await web_client.users_info(user="U9"))["user"]["is_admin"] is True
    assert (await web_client.users_info(user="U7"))["user"]["is_admin"] is False
    assert (await web_client.usergroups_users_list(usergroup="S1"))["users"] == ["U9", "U8"]
    posted = await web_client.chat_postMessage(channel="C1", text="first")
    await web_client.chat_update(channel="C1", ts=posted["ts"], text="second")
    assert slack.messages("C1")[0]["text"] == "second"
    assert (await web_client.chat_postEphemeral(channel="C1", user="U9", text="psst"))["message_ts"]
    with pytest.raises(SlackApiError, match="unknown_method"):
        await web_client.api_call("chat.fly")
    with pytest.raises(SlackApiError, match="invalid_auth"):
        await AsyncWebClient(token="xoxb-wrong", base_url=slack.base_url).auth_test()


async def test_chat_update_replaces_a_message_as_slack_does(
    slack: FakeSlack, web_client: AsyncWebClient
) -> None:
    blocks: list[dict[str, object]] = [{"type": "section", "text": {"type": "mrkdwn", "text": "answer"}}]
    meta = {"event_type": "reply", "event_payload": {"x": 1}}
    posted = await web_client.chat_postMessage(channel="C1", text="answer", blocks=blocks, metadata=meta)
    # Blocks replace blocks; metadata left out is kept (Slack: "previous metadata will be retained").
    line: dict[str, object] = {"type": "context", "elements": [{"type": "mrkdwn", "text": "seen"}]}
    more = [*blocks, line]
    await web_client.chat_update(channel="C1", ts=posted["ts"], text="answer", blocks=more)
    [message] = slack.messages("C1")
    assert (message["blocks"], message["metadata"]) == (more, meta)
    # Text without blocks: Slack removes the blocks and renders the text.
    await web_client.chat_update(channel="C1", ts=posted["ts"], text="plain now")
    [message] = slack.messages("C1")
    assert message["text"] == "plain now" and not message.get("blocks")
    # channel and ts are required; a message needs something to show.
    for missing, error in (
        ({"ts": posted["ts"]}, "channel_not_found"),
        ({"channel": "C1"}, "message_not_found"),
    ):
        with pytest.raises(SlackApiError, match=error):
            await web_client.api_call("chat.update", json={**missing, "text": "x"})
    with pytest.raises(SlackApiError, match="no_text"):
        await web_client.api_call("chat.update", json={"channel": "C1", "ts": posted["ts"]})


async def test_slack_faults(slack: FakeSlack) -> None:
    handler = AsyncRateLimitErrorRetryHandler(max_retry_count=1)
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url, retry_handlers=[handler])
    slack.fail_next("chat.postMessage", status=429, retry_after=0)
    await client.chat_postMessage(channel="C1", text="delivered")
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]
    assert [m["text"] for m in slack.messages("C1")] == ["delivered"]
    slack.fail_next("chat.postMessage", status=503)
    with pytest.raises(SlackApiError) as failed:
        await client.chat_postMessage(channel="C1", text="lost")
    assert failed.value.response.status_code == 503
    slack.fail_next("users.info", error="user_not_visible")
    with pytest.raises(SlackApiError, match="user_not_visible"):
        await client.users_info(user="U1")


class _Post(TypedDict, total=False):
    """What a test posts with chat.postMessage, its channel aside."""

    text: Required[str]
    blocks: list[dict[str, object]]


async def test_slack_refuses_a_message_too_big_or_misshapen_as_slack_does(
    slack: FakeSlack, web_client: AsyncWebClient
) -> None:
    """HTTP 200 and ``ok: false`` with Slack's error code, nothing posted: text over 40,000 characters
    (msg_too_long), more than 50 blocks or a section over 3,000 characters (invalid_blocks, naming what
    broke the rule), and blocks whose text together passes ``block_text_limit`` (msg_blocks_too_long)."""

    def section(text: str) -> dict[str, object]:
        return {"type": "section", "text": {"type": "mrkdwn", "text": text}}

    refused: dict[str, _Post] = {
        "msg_too_long": {"text": "x" * 40_001},
        "invalid_blocks": {"text": "x", "blocks": [section("x")] * 51},
        "msg_blocks_too_long": {"text": "x", "blocks": [section("x" * 3000)] * 5},
    }
    for error, message in refused.items():
        with pytest.raises(SlackApiError, match=error) as failed:
            await web_client.chat_postMessage(channel="C1", **message)
        assert failed.value.response.status_code == 200
    with pytest.raises(SlackApiError) as failed:
        await web_client.chat_postMessage(channel="C1", text="x", blocks=[section("ok"), section("x" * 3001)])
    assert failed.value.response["errors"] == [
        "must be less than 3001 characters [json-pointer:/blocks/1/text/text]"
    ]
    assert slack.messages("C1") == []
    await web_client.chat_postMessage(channel="C1", text="x", blocks=[section("x" * 3000)] * 4)
    slack.block_text_limit = 11_999
    with pytest.raises(SlackApiError, match="msg_blocks_too_long"):
        await web_client.chat_postMessage(channel="C1", text="x", blocks=[section("x" * 3000)] * 4)
    # A streamed message past ``stream_text_limit`` all together: the call that would pass it is refused.
    slack.stream_text_limit = 15
    root = await web_client.chat_postMessage(channel="D1", text="help")
    stream = await web_client.chat_startStream(channel="D1", thread_ts=root["ts"], markdown_text="0123456789")
    with pytest.raises(SlackApiError, match="msg_too_long"):
        await web_client.chat_appendStream(channel="D1", ts=stream["ts"], markdown_text="0123456789")
    await web_client.chat_stopStream(channel="D1", ts=stream["ts"], markdown_text="01234")
    assert slack.messages("D1")[-1]["text"] == "012345678901234"


async def test_response_url_records_posts(slack: FakeSlack) -> None:
    sent = await AsyncWebhookClient(slack.response_url("stats")).send(text="hi", response_type="ephemeral")
    assert sent.status_code == 200
    assert slack.responses["stats"] == [{"text": "hi", "response_type": "ephemeral"}]


# --- signing -------------------------------------------------------------------------------------------


async def test_signature_is_what_slack_sdk_verifies() -> None:
    body = json.dumps(event_callback(message_event("hello", "C1", "U1", "1700000000.000100"))).encode()
    headers = sign(body, SIGNING_SECRET)
    assert SignatureVerifier(SIGNING_SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("other-secret").is_valid_request(body, headers)


async def test_post_signed_payload_shapes() -> None:
    received: list[tuple[dict, bytes]] = []

    async def handler(request: web.Request) -> web.Response:
        raw = await request.read()
        received.append((dict(request.headers), raw))
        ok = SignatureVerifier(SIGNING_SECRET).is_valid_request(raw, dict(request.headers))
        return web.Response(status=200 if ok else 401, text="ok" if ok else "bad")

    app = web.Application()
    app.router.add_post("/slack/events", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        form = slash_command_form("/routing-stats", "7d", "U1", "C1", "http://x/response/a")
        assert await post_signed(url, "/slack/events", form, FORM, SIGNING_SECRET) == (200, "ok")
        event = event_callback(message_event("hi", "C1", "U1", thread_ts="1.2"))
        status, _ = await post_signed(url, "/slack/events", event, "application/json", "wrong", retry_num=1)
        payload = block_actions_payload("reroute", "Refund Request", "U2", "C1", "1.2", "http://x")
        action = block_actions_form(payload)
        assert (await post_signed(url, "slack/events", action, FORM, SIGNING_SECRET))[0] == 200
    finally:
        await runner.cleanup()
    assert status == 401 and received[1][0]["X-Slack-Retry-Num"] == "1"
    fields = parse_qs(form.decode())
    assert fields["command"] == ["/routing-stats"] and fields["response_url"] == ["http://x/response/a"]
    assert json.loads(parse_qs(action.decode())["payload"][0])["actions"][0]["action_id"] == "reroute"
    assert event["event"]["thread_ts"] == "1.2" and event["authorizations"][0]["user_id"] == BOT_USER_ID


async def test_bolt_app_over_http_with_both_fakes_wired(slack: FakeSlack, web_client: AsyncWebClient) -> None:
    # process_before_response: listeners finish before the HTTP answer, so the asserts below do not race.
    app = AsyncApp(client=web_client, signing_secret=SIGNING_SECRET, process_before_response=True)

    @app.event("message")
    async def echo(event: dict, say: AsyncSay) -> None:
        await say(text=f"got {event['text']}", thread_ts=event["ts"])

    @app.command("/routing-stats")
    async def stats(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await respond(text="stats")

    runner = web.AppRunner(app.web_app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        for event in (
            message_event("hi", "C1", "U1", "1700000000.000050"),
            message_event("mine", "C1", BOT_USER_ID, "1700000000.000060", bot_id=BOT_ID),
        ):
            body = json.dumps(event_callback(event)).encode()
            assert (await post_signed(url, "/slack/events", body, "application/json", SIGNING_SECRET))[
                0
            ] == 200
        form = slash_command_form("/routing-stats", "", "U1", "C1", slack.response_url("cmd"))
        assert (await post_signed(url, "/slack/events", form, FORM, SIGNING_SECRET))[0] == 200
    finally:
        await runner.cleanup()
    assert slack.thread_texts("C1", "1700000000.000050") == ["got hi"]
    assert [m["text"] for m in slack.messages("C1")] == ["got hi"]
    assert slack.responses["cmd"] == [{"text": "stats"}]
