"""Markdown becomes Slack mrkdwn; escalations carry the tags and the context agents need."""

from bot.formatting import agent_controls, agent_mentions, answer_message, escalation_message
from bot.mrkdwn import markdown_to_mrkdwn
from router.models import EscalationReason, RoutingDecision, Source
from tests.store.samples import decision


def test_markdown_to_mrkdwn() -> None:
    md = "## Steps\n**Restart** the app, then *wait*.\n- one\n- two\n[Help](https://x.io/a?b=1&c=2) ~~old~~"
    assert markdown_to_mrkdwn(md) == (
        "*Steps*\n*Restart* the app, then _wait_.\n• one\n• two\n<https://x.io/a?b=1&amp;c=2|Help> ~old~"
    )


def test_code_is_verbatim_but_escaped() -> None:
    assert markdown_to_mrkdwn("```\nif a < b: **x**\n```") == "```\nif a &lt; b: **x**\n```"


def test_escalation_tags_agents_with_guess_confidence_reasoning_and_reason() -> None:
    unsure = RoutingDecision(
        query="q",
        category="Refund Request",
        confidence=0.42,
        reasoning="Mentions <!here> money.",
        escalated=True,
        escalation_reason=EscalationReason.LOW_CONFIDENCE,
        source=Source.CLAUDE,
        routing_ms=1,
        handling_ms=0,
        total_ms=1,
        routes_version="v",
    )
    mentions = agent_mentions(["U1", "U2"], "S9")
    text, blocks = escalation_message(unsure, "A person will follow up.", mentions)
    assert text.startswith("A person will follow up.")
    assert "<!subteam^S9> <@U1> <@U2>" in text
    assert "Refund Request" in text and "0.42" in text and "low confidence" in text
    assert "<!here>" not in text  # the model's reasoning cannot ping
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks)


def test_agent_controls_offer_the_other_categories() -> None:
    block = agent_controls("C1:1.2", ["A", "B", "C"], "B")
    button, select, hand_back = block["elements"]
    assert button["value"] == "C1:1.2"
    assert [o["value"] for o in select["options"]] == ["A", "C"]
    assert hand_back["action_id"] == "hand_back"


def test_a_long_answer_is_cut_into_sections_each_with_whole_code_blocks() -> None:
    log = "\n".join(f"line {i}: ERROR something failed at step {i}" for i in range(120))
    answer = f"Run this and send us the output:\n```bash\n{log}\n```\nThen restart the app."
    answered = decision(category="Technical Support", escalated=False, escalation_reason=None)
    _, blocks = answer_message(answer, answered)
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(sections) >= 2 and all(len(s) <= 3000 for s in sections)
    assert all(s.count("```") % 2 == 0 for s in sections)  # each renders as code, none shows raw fences
    joined = "".join(s.replace("```", "") for s in sections)
    assert all(f"line {i}: ERROR" in joined for i in range(120))  # nothing lost at the cuts
