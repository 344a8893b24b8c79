"""What agents are told privately (an ephemeral answer) after a click on the agent controls
(:mod:`bot.listeners.actions`): refusals, and what a verdict or re-route did and left undone."""

from __future__ import annotations

from bot.mrkdwn_inline import escape
from bot.store.feedback import Feedback, Verdict

NOT_AN_AGENT = "Only support agents can use these controls."
AGENTS_UNKNOWN = (
    "Slack cannot say right now who is in the agents' group, so these controls wait until it can: try "
    "again in a minute."
)
NOT_FOUND = "I can't find the routing decision for that message any more."


def where(direct: bool) -> str:
    """What the customer's conversation is called to an agent: a DM is no thread they can see (its
    controls are pressed under its notice in the agents' channel, a thread of its own)."""
    return "conversation" if direct else "thread"


def nothing_to_hand_back(direct: bool = False) -> str:
    """Told when the conversation (a DM's, ``direct``) is the bot's already."""
    return f"The bot is already answering in this {where(direct)}: there is nothing to hand back."


def handed_back_untold(direct: bool = False) -> str:
    """Told when the conversation was handed back but Slack would not take the note saying so: without a
    word, the agent would think the click did nothing, press again, and be told there is nothing to hand
    back."""
    return (
        "Handed back: the bot will answer the customer's next message. Slack would not take the note "
        f"saying so in the {where(direct)}, so the other agents have not been told there."
    )


def stays_with_agents(direct: bool = False) -> str:
    """Told with the re-route of an older message in a conversation that went to a person after it
    (escalated, or taken over): the customer has written since, and that is still a person's to
    answer."""
    return (
        f" The {where(direct)} stays with the agents: the customer wrote again after that message, and is "
        "in a person's hands. The bot answers there again once someone presses *Hand back to the bot*."
    )


def handled_by(agent: str, category: str, direct: bool = False) -> str:
    """Told when a re-route is recorded in a conversation another agent, ``agent``, is handling."""
    return (
        f"Recorded *{escape(category)}* as the right route. <@{agent}> is handling this {where(direct)}, "
        "so the bot does not answer in it; hand it back first if the customer should have the bot's "
        "answer."
    )


NOTHING_TO_HAND_BACK = nothing_to_hand_back()
HANDED_BACK_UNTOLD = handed_back_untold()


def still_waiting(category: str) -> str:
    """Added to the thanks for confirming an escalation's guess, ``category``, while nobody has taken
    its thread up: the verdict answered no one."""
    return (
        " The customer still waits for a person: answer them yourself, or choose "
        f"*{escape(category)}* in *Re-route to…* to have the bot answer as it."
    )


def reroute_failed(category: str, error: Exception) -> str:
    """What the agent is told when the re-routed answer could not be given (the verdict is kept)."""
    return (
        f"The re-route to *{escape(category)}* is recorded, but its answer could not be posted "
        f"({escape(type(error).__name__)}). Choose *{escape(category)}* again to retry, or answer the "
        "customer yourself."
    )


def already_confirmed(agent: str, category: str) -> str:
    """What an agent is told who confirms a route another agent confirmed already (theirs stays)."""
    return f"<@{agent}> already confirmed *{escape(category)}* as the right route."


def in_place_of(earlier: Feedback | None, user: str) -> str:
    """Added to ``user``'s thanks for confirming a route: the re-route of another agent it replaces (one
    never answered), if any."""
    if earlier is None or earlier.agent_id == user or earlier.verdict is not Verdict.REROUTED:
        return ""
    return f", in place of <@{earlier.agent_id}>'s re-route to *{escape(earlier.category or '')}*"


def overtaken(who: str, answered_as: str, category: str) -> str:
    """What an agent is told when another agent's re-route (by ``who``) answered while their choice
    waited."""
    return (
        f"{who} re-routed this message to *{escape(answered_as)}* while you chose, and its answer is in "
        f"the thread: nothing was recorded or posted for *{escape(category)}*. Choose it again if the "
        "customer should have that answer too."
    )
