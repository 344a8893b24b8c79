"""From raw measurements to the table's figures, with the issue's targets."""

from __future__ import annotations

import asyncio
import importlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.burst_bot import ROOT
from benchmarks.burst_load import ANSWER_TOKENS, customer_messages
from benchmarks.burst_report import Figure, Target, percentile
from tests.fakes import FakeAnthropic

ACK_P99 = Target(0.050 * 1000)  # ms
MAKESPAN_RATIO = Target(1.25, or_equal=True)
FIRST_WORDS_AFTER_TOKEN = Target(150.0)  # ms
ROUTER_CPU_MS = Target(2.0)
PEAK_MEMORY_MB = Target(250.0)
TIMED_PREDICTIONS = 2000
ROUTER_CPU_MESSAGES = 40


def _ms(seconds: list[float]) -> list[float]:
    return [s * 1000 for s in seconds]


def _single_reference(bot: dict[str, Any]) -> tuple[float, float | None]:
    """Median end-to-end seconds of the singles classified by Claude, and of those classified locally."""
    claude = [e2e for sent, e2e in bot["singles"] if sent.reference in bot["classified"]]
    local = [e2e for sent, e2e in bot["singles"] if sent.reference not in bot["classified"]]
    full = statistics.median(claude) if claude else statistics.median(local)
    return full, (statistics.median(local) if local and claude else None)


def bot_figures(bot: dict[str, Any], count: int) -> list[Figure]:
    """Section 1 (the burst) and section 3 (first words against the whole answer)."""
    sent = bot["sent"]
    acks = _ms([s.ack_seconds for s in sent])
    refused = sum(1 for s in sent if s.status != 200)
    delivered = bot["deliveries"]
    done = [d.complete for d in delivered.values() if d.complete is not None]
    makespan = max(done) - bot["started"]
    single, single_local = _single_reference(bot)
    warm = bot["warm_delivery"].complete - bot["warm"].sent
    skipped = sum(1 for s in sent if s.reference not in bot["classified"])
    s1 = "1 burst"
    figures = [
        Figure(s1, f"ack latency p50 ({count} at once)", percentile(acks, 50), " ms"),
        Figure(s1, "ack latency p99", percentile(acks, 99), " ms", ACK_P99),
        Figure(s1, "ack latency max", max(acks), " ms", note=f"{refused} not 200" if refused else ""),
        Figure(s1, "first message after start, end to end", warm, " s"),
        Figure(s1, "single message alone, end to end", single, " s", note="Claude classifies, then answers"),
    ]
    if single_local is not None:
        figures.append(Figure(s1, "single message alone, local classification", single_local, " s"))
    figures += [
        Figure(s1, "burst makespan (every answer posted)", makespan, " s"),
        Figure(s1, "makespan / single message", makespan / single, "×", MAKESPAN_RATIO),
        Figure(s1, "answers complete", float(len(done)), f"/{count}"),
        Figure(s1, "Claude classification skipped (local stage)", float(skipped), f"/{count}"),
        Figure(s1, "peak memory of the bot process (VmHWM)", bot["peak_rss_mb"], " MB", PEAK_MEMORY_MB),
        Figure(s1, "bot start-up until /healthz", bot["startup_s"], " s"),
        Figure(
            s1,
            "CPU of the fakes and the load (this process)",
            bot["fakes_cpu_s"],
            " s",
            note=f"over a {makespan:.1f} s burst",
        ),
    ]
    return figures + _streaming_figures(bot)


def _streaming_figures(bot: dict[str, Any]) -> list[Figure]:
    s3 = "3 first words"
    sent_at = {s.reference: s.sent for s in bot["sent"]}
    delivered = bot["deliveries"].values()
    first = [d.first_words - sent_at[d.reference] for d in delivered if d.first_words is not None]
    whole = [d.complete - sent_at[d.reference] for d in delivered if d.complete is not None]
    tokens = bot["first_token_at"]
    lag = _ms(
        [d.first_words - tokens[d.reference] for d in delivered if d.streamed and d.reference in tokens]
    )
    streamed = sum(1 for d in delivered if d.streamed)
    figures = [
        Figure(s3, "first words in Slack, p50 (from the event)", percentile(first, 50), " s"),
        Figure(s3, "whole answer in Slack, p50 (from the event)", percentile(whole, 50), " s"),
        Figure(s3, "answers streamed", float(streamed), f"/{len(whole)}"),
    ]
    if lag:
        figures += [
            Figure(s3, "first words after Claude's first token, p50", percentile(lag, 50), " ms"),
            Figure(
                s3,
                "first words after Claude's first token, p99",
                percentile(lag, 99),
                " ms",
                FIRST_WORDS_AFTER_TOKEN,
            ),
            Figure(s3, "first words after Claude's first token, max", max(lag), " ms"),
        ]
    return figures


def seed_figures(seed: dict[str, Any] | None, count: int, figures: list[Figure]) -> list[Figure]:
    """Section 2: the seed loop's makespan (extrapolated if it ran fewer queries) and the ratio."""
    s2 = "2 seed loop"
    if seed is None:
        return [Figure(s2, "seed loop makespan", None, " s", note="the seed loop failed")]
    ran = seed["messages"]
    makespan = seed["makespan_s"] * count / ran
    note = "" if ran == count else f"extrapolated from {ran} queries"
    bot_makespan = next(f.value for f in figures if f.name.startswith("burst makespan"))
    assert bot_makespan is not None
    return [
        Figure(s2, f"seed loop makespan ({count} queries, one by one)", makespan, " s", note=note),
        Figure(s2, "seed loop per query, mean", statistics.fmean(seed["per_query_s"]), " s"),
        Figure(s2, "seed makespan / bot makespan", makespan / bot_makespan, "×"),
    ]


def time_classifier(count: int = TIMED_PREDICTIONS) -> dict[str, Any]:
    """LocalClassifier.predict timed one message at a time, after its fit (which is timed on its own)."""
    from router.classifiers.local import LocalClassifier
    from router.routes_file import load_routes

    texts = customer_messages(count, start=20000)
    started = time.perf_counter()
    classifier = LocalClassifier.from_routes(load_routes(None))
    loaded = time.perf_counter()
    classifier.predict(texts[0])
    fitted = time.perf_counter()
    durations = []
    cpu_started = time.process_time()
    for text in texts:
        t = time.perf_counter()
        classifier.predict(text)
        durations.append(time.perf_counter() - t)
    cpu = time.process_time() - cpu_started
    return {
        "load_s": loaded - started,
        "fit_s": fitted - loaded,
        "predict_ms": _ms(durations),
        "predict_cpu_ms_mean": cpu * 1000 / count,
    }


async def measure_router_cpu(count: int = ROUTER_CPU_MESSAGES) -> dict[str, Any] | None:
    """``benchmarks.router_cpu`` in its own process against a fake Anthropic API that streams each of an
    answer's 150 tokens as its own event (fast: its waits cost the router no CPU)."""
    async with FakeAnthropic(answer_tokens=ANSWER_TOKENS, tokens_per_second=3000.0) as anthropic:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.router_cpu",
            anthropic.base_url,
            str(count),
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        out, _ = await child.communicate()
    if child.returncode != 0:
        return None
    result: dict[str, Any] = json.loads(out)
    return result


def classifier_figures(
    classifier: dict[str, Any], bot: dict[str, Any], count: int, router: dict[str, Any] | None
) -> list[Figure]:
    """Section 4: the router's own cost per message."""
    s4 = "4 router cost"
    predict = classifier["predict_ms"]
    if router is None:
        alone = [
            Figure(s4, "router alone, CPU per message", None, " ms", note="benchmarks.router_cpu failed")
        ]
    else:
        alone = [
            Figure(
                s4,
                "router's own work, CPU per message",
                router["own_cpu_ms_per_message"],
                " ms",
                ROUTER_CPU_MS,
                note="local model, policy, prompts, decision; Claude's replies handed over in memory",
            ),
            Figure(
                s4,
                "router with the Anthropic SDK, CPU per message",
                router["cpu_ms_per_message"],
                " ms",
                ROUTER_CPU_MS,
                note=(
                    f"{router['classified_by_claude']}/{router['messages']} classified by Claude; "
                    "the SDK's requests and 150 streamed events included"
                ),
            ),
        ]
    return [
        *alone,
        Figure(
            s4,
            "bot process CPU per message (burst)",
            bot["cpu_burst_s"] * 1000 / count,
            " ms",
            note="whole process: HTTP, SQLite, Slack streaming, SDKs, router",
        ),
        Figure(
            s4, "local classifier predict, CPU mean", classifier["predict_cpu_ms_mean"], " ms", ROUTER_CPU_MS
        ),
        Figure(s4, "local classifier predict, p50", percentile(predict, 50), " ms"),
        Figure(s4, "local classifier predict, p99", percentile(predict, 99), " ms"),
        Figure(s4, "local classifier fit (first message)", classifier["fit_s"] * 1000, " ms"),
    ]


STATS_ROWS = 1_000_000


def _stats_report(module: Any) -> dict[str, tuple[float, float, int]]:
    """Seed 1,000,000 decisions, migrate, and time /routing-stats with the stats benchmark's own steps."""
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as folder:
        path = Path(folder) / "stats.db"
        module.seed(path, STATS_ROWS)
        asyncio.run(module._finish(path))
        result: dict[str, tuple[float, float, int]] = asyncio.run(
            module.time_reports(path, ["24h", "7d", "30d", "all"], 3)
        )
        return result


def stats_figures() -> list[Figure]:
    """Section 5: /routing-stats on 1,000,000 decisions, with benchmarks/stats_bench.py when it exists."""
    s5 = "5 /routing-stats"
    try:
        module = importlib.import_module("benchmarks.stats_bench")
    except ImportError:
        return [
            Figure(s5, "report on 1,000,000 decisions", None, " ms", note="benchmarks.stats_bench absent")
        ]
    try:
        results = _stats_report(module)
    except Exception as e:  # its API is another issue's; say what went wrong instead of failing the run
        note = f"stats_bench failed: {type(e).__name__}: {e}"[:120]
        return [Figure(s5, "report on 1,000,000 decisions", None, " ms", note=note)]
    target = Target(float(getattr(module, "TARGET_MS", 300.0)))
    figures = []
    for period, (first, median, messages) in results.items():
        figures.append(
            Figure(s5, f"report over {period} ({messages:,} decisions), first run", first, " ms", target)
        )
        figures.append(Figure(s5, f"report over {period}, median of the next runs", median, " ms", target))
    return figures
