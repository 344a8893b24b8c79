"""Agent controls on the bot's messages: confirm a route, re-route, hand a thread back to the bot.

Only agents (AGENT_USERS / AGENT_USERGROUP, or anyone when none are configured) may use them; anyone
else is told so privately. Verdicts are stored against the classifier's decision on the customer message
the controls name ("channel:ts"), and become the ground truth of the accuracy in /routing-stats.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.control_notes import pressed_in, tell_handed_back, tell_rerouted
from bot.control_replies import (
    AGENTS_UNKNOWN,
    NOT_AN_AGENT,
    NOT_FOUND,
    already_confirmed,
    handed_back_untold,
    handled_by,
    in_place_of,
    nothing_to_hand_back,
    overtaken,
    reroute_failed,
    stays_with_agents,
    still_waiting,
)
from bot.escalation_messages import REASON_TEXT
from bot.formatting import ACTION_CORRECT, ACTION_HAND_BACK, ACTION_REROUTE, CONTROLS_BLOCK
from bot.intake import is_direct
from bot.mrkdwn_inline import escape
from bot.private_replies import reply_privately
from bot.slack_errors import SLACK_ERRORS, failure
from bot.slack_ids import is_dm_channel
from bot.store.feedback import FeedbackTarget, Verdict
from bot.verdict_lines import repeats, show_verdict

if TYPE_CHECKING:
    from bot.app import SupportBot

logger = logging.getLogger(__name__)


async def _say(respond: AsyncRespond, text: str) -> None:
    """Tell the agent who clicked, alone."""
    await reply_privately(respond, "a reply to an agent's click", text=text, replace_original=False)


async def _target(bot: SupportBot, body: dict[str, Any], key: str | None) -> FeedbackTarget | None:
    """The decision named by a controls key ("channel:ts") in this workspace."""
    channel, _, ts = (key or "").partition(":")
    if not channel or not ts:
        return None
    return await bot.store.find_decision(body["team"]["id"], channel, ts)


def _refusal(bot: SupportBot) -> str:
    """Why the controls were refused: not an agent, or not known to be one while Slack cannot list them."""
    return AGENTS_UNKNOWN if bot.directory.agents_unknown else NOT_AN_AGENT


def _own_message(allowed: bool | None, user: str, target: FeedbackTarget) -> bool:
    """When anyone but the customer may use the controls (``allowed`` None, see
    :meth:`SupportBot.may_use_controls`), not on their own message: a customer does not judge, re-route
    or hand back their own conversation."""
    return allowed is None and user == target.message.user_id


async def _judged(
    bot: SupportBot, body: dict[str, Any], respond: AsyncRespond, user: str, key: str | None
) -> FeedbackTarget | None:
    """The decision an agent's verdict is about, or None once the user has been told why not."""
    allowed = await bot.may_use_controls(user)
    if allowed is False:
        await _say(respond, _refusal(bot))
        return None
    target = await _target(bot, body, key)
    if target is None:
        await _say(respond, NOT_FOUND)
    elif _own_message(allowed, user, target):
        await _say(respond, NOT_AN_AGENT)
        return None
    return target


def register(app: AsyncApp, bot: SupportBot) -> None:
    # Each click is acknowledged at once (Slack wants it within 3 s), and what follows is work in flight that
    # a shutdown finishes rather than cuts off.
    @app.action(ACTION_HAND_BACK)
    async def hand_back(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        bot.worker.keep_in_flight()
        await _hand_back(bot, body, respond)

    @app.action(ACTION_CORRECT)
    async def route_correct(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        bot.worker.keep_in_flight()
        await _confirm_route(bot, body, respond)

    @app.action(ACTION_REROUTE)
    async def route_change(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        bot.worker.keep_in_flight()
        await _change_route(bot, body, respond)


async def _hand_back(bot: SupportBot, body: dict[str, Any], respond: AsyncRespond) -> None:
    """Give the thread back to the bot (*Hand back to the bot*), unless the clicker may not."""
    user = body["user"]["id"]
    allowed = await bot.may_use_controls(user)
    if allowed is False:
        await _say(respond, _refusal(bot))
        return
    # The button names the customer message: its thread may be elsewhere (a DM's escalation is
    # shown to agents in the escalation channel). Older buttons name nothing: their own thread.
    target = await _target(bot, body, body["actions"][0].get("value"))
    if target is not None:
        if _own_message(allowed, user, target):
            await _say(respond, NOT_AN_AGENT)
            return
        channel, thread_ts = target.message.channel_id, target.message.thread_ts
    else:
        channel, thread_ts = pressed_in(body)
    # Only the click that frees the thread tells it: two agents pressing at once leave one note.
    at = body["actions"][0].get("action_ts")
    if not await bot.store.hand_back(body["team"]["id"], channel, thread_ts, at=at):
        await _say(respond, nothing_to_hand_back(is_dm_channel(channel)))
        return
    try:
        await tell_handed_back(bot, body, user, channel, thread_ts)
    except SLACK_ERRORS as e:
        logger.warning("could not post the hand-back note in %s/%s: %s", channel, thread_ts, failure(e))
        await _say(respond, handed_back_untold(is_dm_channel(channel)))


async def _confirm_route(bot: SupportBot, body: dict[str, Any], respond: AsyncRespond) -> None:
    """Record that the bot's route was right (*Route is correct*)."""
    user = body["user"]["id"]
    key = body["actions"][0].get("value")
    target = await _judged(bot, body, respond, user, key)
    if target is None:
        return
    # In the conversation's turn, as a re-route is answered: one under way when this was pressed ends
    # first, then is read (or another agent's "correct", chosen without seeing it, would overrule it).
    async with bot.worker.turns.agent_turn(target.message):
        current = await _target(bot, body, key) or target
        await _confirm(bot, respond, current, user)
        await _show(bot, body, key, current)


async def _show(bot: SupportBot, body: dict[str, Any], key: str | None, target: FeedbackTarget) -> None:
    """Show the team, under the controls clicked, the verdict now on record and who gave it."""
    feedback = await bot.store.get_feedback(target.decision_id)
    await show_verdict(bot.client, body, key or "", feedback, target.category)


async def _confirm(bot: SupportBot, respond: AsyncRespond, target: FeedbackTarget, user: str) -> None:
    """Record *Route is correct* on ``target``, as it stands in the conversation's turn."""
    earlier = await bot.store.get_feedback(target.decision_id)
    if earlier is not None and earlier.verdict is Verdict.REROUTED and earlier.category == target.answered_as:
        # The re-routed answer carries the same controls: "correct" there confirms the re-route.
        # Pressed under the replaced answer, it may have meant "the first route was right after all":
        # say how to get that. (A re-route that was never answered is just overruled, below.)
        await _say(
            respond,
            f"Noted: this message stays re-routed to *{escape(earlier.category or '')}*. If "
            f"*{escape(target.category)}* was right after all, choose it in *Re-route to…* under the "
            "re-routed answer.",
        )
        return
    waiting = await _still_waiting(bot, target)
    if earlier is not None and repeats(earlier, user, Verdict.CORRECT):
        # A colleague confirmed it already (the line under the controls says so): theirs stays.
        await _say(respond, already_confirmed(earlier.agent_id, target.category) + waiting)
        return
    await bot.store.add_feedback(target, user, Verdict.CORRECT)
    if target.teaches:
        await bot.learner.note_feedback(target.category, target.message.text or "")
    replaced = in_place_of(earlier, user)
    name = f"*{escape(target.category)}*"
    await _say(respond, f"Thanks: {name} is recorded as the right route{replaced}.{waiting}")


async def _still_waiting(bot: SupportBot, target: FeedbackTarget) -> str:
    """What a verdict on an escalation leaves undone, when no agent has taken its thread up yet: the
    customer waits for a person (a confirmed guess answers no one), or for the guess's answer."""
    msg = target.message
    thread = await bot.store.get_thread(msg.team_id, msg.channel_id, msg.thread_ts)
    if target.answered_as is not None or thread is None or not thread.escalated or thread.taken_over_by:
        return ""
    return still_waiting(target.category)


async def _change_route(bot: SupportBot, body: dict[str, Any], respond: AsyncRespond) -> None:
    """Record the category an agent chose (*Re-route to…*) and answer the customer as that category."""
    user = body["user"]["id"]
    action = body["actions"][0]
    category = (action.get("selected_option") or {}).get("value")
    if category not in bot.router.routes.names:
        await _say(respond, "That category is not in the routes file any more.")
        return
    key = str(action.get("block_id", "")).removeprefix(CONTROLS_BLOCK)
    target = await _judged(bot, body, respond, user, key)
    if target is None:
        return
    async with bot.worker.turns.agent_turn(target.message):
        # Read again in the turn: another agent's re-route may have answered meanwhile. To another
        # category, it was chosen without seeing this one, nor this one without seeing it: the
        # customer gets one new answer, and the agent who came second decides again, knowing.
        current = await _target(bot, body, key) or target
        if current.answered_as not in (target.answered_as, category):
            await _say(respond, await _overtaken(bot, current, category))
            await _show(bot, body, key, current)
            return
        # The classifier's category chosen (from an escalation's menu, or back after a re-route)
        # says its route was right; either way the customer gets that category's answer unless they
        # have it. The same verdict as a colleague's leaves theirs on record.
        verdict = Verdict.CORRECT if category == current.category else Verdict.REROUTED
        if not repeats(await bot.store.get_feedback(current.decision_id), user, verdict, category):
            await bot.store.add_feedback(current, user, verdict, category)
            if current.teaches:
                await bot.learner.note_feedback(category, current.message.text or "")
        await _show(bot, body, key, current)
        await _answer_as(bot, respond, body, key, current, category)


async def _overtaken(bot: SupportBot, target: FeedbackTarget, category: str) -> str:
    """What an agent is told when another agent's re-route answered while their choice waited."""
    feedback = await bot.store.get_feedback(target.decision_id)
    who = f"<@{feedback.agent_id}>" if feedback is not None else "Another agent"
    return overtaken(who, target.answered_as or "", category)


async def _answer_as(
    bot: SupportBot,
    respond: AsyncRespond,
    body: dict[str, Any],
    key: str,
    target: FeedbackTarget,
    category: str,
) -> None:
    """Have the bot answer ``target``'s message as ``category``, unless the customer has that answer
    already or another agent is handling the thread; the agent who chose is told what happened."""
    name = f"*{escape(category)}*"
    user = body["user"]["id"]
    if category == target.answered_as:
        await _say(respond, f"Recorded {name} as the right route; the customer has its answer already.")
        return
    msg = target.message
    thread = await bot.store.get_thread(msg.team_id, msg.channel_id, msg.thread_ts)
    holder = thread.taken_over_by if thread is not None else None
    if holder is not None and holder != user:
        await _say(respond, handled_by(holder, category, is_direct(msg)))
        return
    where = "the customer's DM" if is_direct(msg) else "the thread"
    stays = thread is not None and thread.bot_silent and not target.latest
    after = stays_with_agents(is_direct(msg)) if stays else ""
    await _say(respond, f"Re-routed to {name}: its answer follows in {where}.{after}")
    try:
        at = body["actions"][0].get("action_ts")
        decision = await bot.conversations.reroute(msg, category, agent=user, gives_back=target.latest, at=at)
    except Exception as e:
        logger.exception("could not answer the re-route of %s", key)
        await _say(respond, reroute_failed(category, e))
        return
    if not decision.escalated:
        await tell_rerouted(bot, body, user, msg, decision)
    else:
        reason = decision.escalation_reason
        why = REASON_TEXT.get(reason, "it failed") if reason else "it failed"
        await _say(
            respond,
            f"The bot could not answer as {name} ({why}), so nothing was posted; the route is recorded. "
            "Answer the customer yourself, or choose it again to retry.",
        )
