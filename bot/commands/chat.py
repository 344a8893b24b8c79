"""``chat``: a console conversation as a customer, through the same router and store as the bot."""

from __future__ import annotations

import sys
from collections.abc import Callable

from rich.console import Console
from rich.markup import escape

from bot.clients import open_router, routes_from
from bot.commands.claude_check import check_claude_at_start
from bot.commands.evaluation import mode_line
from bot.commands.serving import open_store
from bot.settings import Settings
from bot.store.migrate import WhenBehind
from bot.terminal import escalation_words, final_category
from router.models import RoutingDecision, Turn
from router.router import Router

PROMPT = "you> "
ESCALATED_END = (
    "In Slack the bot now stays silent in this conversation and the agents take it from here, so the chat "
    "ends. Run it again to start another."
)


async def chat(settings: Settings, console: Console, read: Callable[[str], str] | None = None) -> None:
    """Talk to the router until end of input; every decision is recorded like the bot's. ``read`` gives
    the customer's next line after a prompt (default: the terminal's, or :func:`read_piped`)."""
    read = read or (input if sys.stdin.isatty() else read_piped)
    routes = routes_from(settings)
    await check_claude_at_start(settings, routes)
    async with open_router(settings, routes) as router:
        await _converse(settings, router, console, read)


async def _converse(settings: Settings, router: Router, console: Console, read: Callable[[str], str]) -> None:
    store = await open_store(settings, behind=WhenBehind.WARN, command="chat")
    history: list[Turn] = []
    console.print(mode_line(settings))
    console.print("Write as a customer would. An empty line or Ctrl-D ends the conversation.")
    try:
        while text := _next_message(read):
            decision = await _reply(router, text, history, console)
            await store.record(decision, channel_id="console", user_id="console")
            _describe(decision, router, console)
            if decision.escalated:
                break
            history += [Turn(role="customer", text=text), Turn(role="assistant", text=decision.answer or "")]
    finally:
        await store.close()


def read_piped(prompt: str) -> str:
    """The next line of a stdin that is no terminal (``printf 'hi\\nthanks\\n' | support-router chat``),
    written after its prompt as a terminal would show it typed: ``input`` echoes nothing there, and the
    transcript read "you> bot> …" with the customer's words missing. At the end of input, no prompt.

    Raises:
        EOFError: at the end of input.
    """
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    text = line.removesuffix("\n").removesuffix("\r")
    sys.stdout.write(f"{prompt}{text}\n")
    sys.stdout.flush()
    return text


def _next_message(read: Callable[[str], str]) -> str:
    """The customer's next words; empty at the end of input."""
    try:
        return read(PROMPT).strip()
    except EOFError:
        return ""


async def _reply(router: Router, text: str, history: list[Turn], console: Console) -> RoutingDecision:
    """Route ``text``, its answer shown as Claude writes it (whole, when no handler wrote it)."""
    started = False

    async def show(chunk: str) -> None:
        nonlocal started
        sys.stdout.write(chunk if started else f"bot> {chunk}")
        sys.stdout.flush()
        started = True

    decision = await router.route(text, history, on_text=show)
    if started:
        sys.stdout.write("\n")
        sys.stdout.flush()
    elif decision.answer and not decision.escalated:
        # Not streamed: the reply to a thank-you, written by no handler.
        console.print(f"bot> {decision.answer}", markup=False)
    return decision


def _describe(decision: RoutingDecision, router: Router, console: Console) -> None:
    """What the customer is told of an escalation, then how the message was routed and why."""
    if decision.escalated:
        console.print(f"bot> {router.routes.escalation.customer_message.strip()}", markup=False)
    # Category names and Claude's reasoning are text: escaped, a "[/INST]" in them is no markup.
    console.print(
        f"[dim]→ {escape(final_category(decision))} · {escape(decision.category)} "
        f"{decision.confidence:.2f} · {decision.source} · {decision.total_ms:.0f} ms[/dim]"
    )
    if decision.escalated:
        console.print(
            f"[dim](escalated: {escape(escalation_words(decision))}; {escape(decision.reasoning)})\n"
            f"{ESCALATED_END}[/dim]"
        )
