"""The bot under a burst, beside the seed system's way of working (issue 5), in one run.

    python -m benchmarks.burst [--messages 100] [--seed-messages 100] [--out benchmarks/results/burst.json]

The fake Slack and fake Anthropic servers get the issue's latency (classification 400 ms; an answer's first
token after 600 ms, then 60 tokens/s for 150 tokens). The bot runs as ``python -m bot serve`` in its own
process with SQLite in a temporary folder, fed signed Events API requests over HTTP. Meanwhile a second
process runs the seed system's loop (blocking classify, then blocking answer, one query after another) on
its own copy of the same fake; its 100 queries take about six minutes, which is the whole run's length.
Prints one table (every figure, its target, met or missed by how much) and writes the same as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.burst_bot import BotProcess, Customers, Sent, cpu_seconds, peak_rss_mb
from benchmarks.burst_figures import (
    bot_figures,
    classifier_figures,
    measure_router_cpu,
    seed_figures,
    stats_figures,
    time_classifier,
)
from benchmarks.burst_load import customer_messages, deliveries, realistic_anthropic
from benchmarks.burst_report import Figure, markdown_table, table
from bot.cli import configure_logging
from tests.fakes import FakeSlack

ROOT = Path(__file__).resolve().parent
DEFAULT_OUT = ROOT / "results" / "burst.json"
SINGLES = 5  # messages measured alone, one after another (the seed queries' first five)


async def single_messages(customers: Customers, count: int) -> list[tuple[Sent, float]]:
    """Each message alone: (its delivery, seconds from sending it until its whole answer was in Slack)."""
    results = []
    for text in customer_messages(count, start=9000):
        (sent,) = await customers.deliver(customers.prepare([text]))
        await customers.until_answered(len(customers.refs_by_ts), limit_seconds=60)
        done = deliveries(customers._bot.slack, {sent.ts: sent.reference})[sent.reference].complete
        assert done is not None
        results.append((sent, done - sent.sent))
    return results


async def measure_bot(count: int, workdir: Path, profile: Path | None = None) -> dict[str, Any]:
    """Start the bot, warm it with one message, time single messages alone, then the burst."""
    async with FakeSlack() as slack, realistic_anthropic() as anthropic:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        bot = BotProcess(slack, anthropic, workdir)
        try:
            startup_s = await bot.start(session)
            customers = Customers(bot, session)
            startup_cpu = cpu_seconds(bot.pid)
            (warm,) = await customers.deliver(customers.prepare(customer_messages(1, start=8000)))
            await customers.until_answered(1, limit_seconds=60)
            singles = await single_messages(customers, SINGLES)
            burst = customers.prepare(customer_messages(count))
            spy = bot.sample(profile) if profile else None
            cpu_before, own_before = cpu_seconds(bot.pid), time.process_time()
            sent = await customers.deliver_at_once(burst)
            await customers.until_answered(len(customers.refs_by_ts), limit_seconds=120)
            cpu_burst = cpu_seconds(bot.pid) - cpu_before
            own_cpu = time.process_time() - own_before
            peak = peak_rss_mb(bot.pid)
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=30)
        finally:
            bot.stop()
            await session.close()
        return {
            "startup_s": startup_s,
            "startup_cpu_s": startup_cpu,
            "warm": warm,
            "warm_delivery": deliveries(slack, {warm.ts: warm.reference})[warm.reference],
            "singles": singles,
            "started": min(s.sent for s in sent),
            "sent": sent,
            "deliveries": deliveries(slack, {s.ts: s.reference for s in sent}),
            "first_token_at": dict(anthropic.first_token_at),
            "classified": set(anthropic.classified),
            "cpu_burst_s": cpu_burst,
            "fakes_cpu_s": own_cpu,
            "peak_rss_mb": peak,
            "max_in_flight_anthropic": anthropic.max_in_flight,
        }


def start_seed(count: int, workdir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    out = workdir / "seed.json"
    cmd = [sys.executable, "-m", "benchmarks.burst_seed", "--messages", str(count), "--out", str(out)]
    return subprocess.Popen(cmd, cwd=ROOT.parent), out


def finish_seed(process: subprocess.Popen[bytes], out: Path) -> dict[str, Any] | None:
    if process.wait() != 0 or not out.exists():
        print(f"the seed loop failed (exit {process.returncode})", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.burst", description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100, help="messages in the burst")
    parser.add_argument(
        "--seed-messages",
        type=int,
        default=None,
        help="queries the seed loop runs (default: the burst's count); fewer are extrapolated, and say so",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--profile", type=Path, help="sample the bot with py-spy during the burst (collapsed stacks)"
    )
    parser.add_argument("--markdown", action="store_true", help="also print the table in Markdown")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging("WARNING")  # the table, not the migrations' and libraries' INFO lines
    seed_count = args.seed_messages or args.messages
    with tempfile.TemporaryDirectory(prefix="bench-burst-") as tmp:
        workdir = Path(tmp)
        seed, seed_out = start_seed(seed_count, workdir)
        print(
            f"seed loop: {seed_count} queries one after another, in the background "
            f"(~{seed_count * 3.5:.0f} s)"
        )
        print(f"bot: {args.messages} messages at once, against python -m bot serve ...", flush=True)
        bot = asyncio.run(measure_bot(args.messages, workdir, args.profile))
        print("local classifier: timing predict ...", flush=True)
        classifier = time_classifier()
        print("router alone: CPU per message ...", flush=True)
        router = asyncio.run(measure_router_cpu())
        print("routing stats ...", flush=True)
        stats = stats_figures()
        print("waiting for the seed loop ...", flush=True)
        seed_result = finish_seed(seed, seed_out)
    figures: list[Figure] = bot_figures(bot, args.messages)
    figures += seed_figures(seed_result, args.messages, figures)
    figures += classifier_figures(classifier, bot, args.messages, router)
    figures += stats
    print()
    print(table(figures))
    if args.markdown:
        print()
        print(markdown_table(figures))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "figures": [f.as_json() for f in figures],
        "seed": seed_result,
        "classifier": classifier,
        "router": router,
    }
    args.out.write_text(json.dumps(payload, indent=2, default=str))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
