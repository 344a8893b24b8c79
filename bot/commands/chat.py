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
from bot.terminal import final_category
from router.models import Turn
from router.router import Router

PROMPT = "you> "
ESCALATED_END = (
    "In Slack the bot now stays silent in this conversation and the agents take it from here, so the chat "
    "ends. Run it again to start another."
)


async def chat(settings: Settings, console: Console, read: Callable[[str], str] = input) -> None:
    """Talk to the router until end of input; every decision is recorded like the bot's."""
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
        while True:
            try:
                text = read(PROMPT).strip()
            except EOFError:
                break
            if not text:
                break

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
            await store.record(decision, channel_id="console", user_id="console")
            if decision.escalated:
                console.print(f"bot> {router.routes.escalation.customer_message.strip()}", markup=False)
            # Category names and Claude's reasoning are text: escaped, a "[/INST]" in them is no markup.
            console.print(
                f"[dim]→ {escape(final_category(decision))} · {escape(decision.category)} "
                f"{decision.confidence:.2f} · {decision.source} · {decision.total_ms:.0f} ms[/dim]"
            )
            if decision.escalated:
                console.print(
                    f"[dim](escalated: {decision.escalation_reason}; {escape(decision.reasoning)})\n"
                    f"{ESCALATED_END}[/dim]"
                )
                break
            history += [Turn(role="customer", text=text), Turn(role="assistant", text=decision.answer or "")]
    finally:
        await store.close()
