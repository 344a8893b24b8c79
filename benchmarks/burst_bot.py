"""The bot in its own process (``python -m bot serve``), fed signed Events API requests over real HTTP.

The fakes and the load generator run in the benchmark's process, so the bot process's CPU time and memory
high-water mark (from /proc) are the bot's alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from benchmarks.burst_load import CHANNEL, TimedAnthropic, answered, reference_of
from tests.fakes import FakeSlack, event_callback, message_event, sign
from tests.fakes.slack_state import SIGNING_SECRET

ROOT = Path(__file__).resolve().parent.parent  # the repository: benchmarks/ is a package in it
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Variables of the parent's environment that would change the bot's settings; the bot gets only ours.
_OURS = ("SLACK_", "ANTHROPIC_", "DATABASE_URL", "ROUTES_FILE", "HOST", "PORT", "MAX_CONCURRENCY")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (its threads included), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_mb(pid: int) -> float:
    """The process's resident-memory high-water mark (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


@dataclass
class BotProcess:
    """``python -m bot serve`` pointed at the fakes, with SQLite in ``workdir``."""

    slack: FakeSlack
    anthropic: TimedAnthropic
    workdir: Path
    settings: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
        env |= {
            "SLACK_BOT_TOKEN": self.slack.token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack.base_url,
            "ANTHROPIC_API_KEY": "bench-key",
            "ANTHROPIC_BASE_URL": self.anthropic.base_url,
            "DATABASE_URL": f"sqlite:///{self.workdir / 'routing.db'}",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "LOG_LEVEL": "WARNING",
            **self.settings,
        }
        return env

    def spawn(self) -> None:
        """Start ``python -m bot serve`` on a free port, its output in ``workdir/bot.log``."""
        self.port = free_port()
        with (self.workdir / "bot.log").open("wb") as log:
            # cwd: the work folder, so no .env of the developer's is read.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve"],
                cwd=self.workdir,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def start(self, session: aiohttp.ClientSession, limit_seconds: float = 60.0) -> float:
        """Start the bot and wait until /healthz answers; returns the seconds it took."""
        started = time.monotonic()
        self.spawn()
        assert self.process is not None
        while time.monotonic() - started < limit_seconds:
            if self.process.poll() is not None:
                raise RuntimeError(f"the bot exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                async with session.get(f"{self.url}/healthz") as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        raise TimeoutError(f"the bot did not come up in {limit_seconds:.0f} s:\n{self.log_tail()}")

    def sample(self, output: Path) -> subprocess.Popen[bytes]:
        """py-spy sampling the bot into ``output`` (collapsed stacks) until sent SIGINT."""
        spy = Path(sys.executable).with_name("py-spy")
        cmd = [str(spy), "record", "-p", str(self.pid), "-o", str(output), "--format", "raw", "-r", "250"]
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def log_tail(self, lines: int = 30) -> str:
        path = self.workdir / "bot.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Sent:
    """One delivered event: its reference, the thread ts, when it was sent and when Slack got its ack."""

    reference: str
    ts: str
    sent: float
    acked: float
    status: int

    @property
    def ack_seconds(self) -> float:
        return self.acked - self.sent


class Customers:
    """Builds customer messages as Slack delivers them and posts them, signed, to the bot."""

    def __init__(self, bot: BotProcess, session: aiohttp.ClientSession) -> None:
        self._bot = bot
        self._session = session
        self._ts = time.time()
        self.refs_by_ts: dict[str, str] = {}

    def prepare(self, texts: Sequence[str]) -> list[tuple[str, str, bytes]]:
        """(reference, ts, body) per message, built before the clock starts."""
        prepared = []
        for index, text in enumerate(texts):
            self._ts += 0.001
            ts = f"{self._ts:.6f}"
            user = f"U0CUST{index:04d}"
            self._bot.slack.add_message(CHANNEL, ts, user, text)
            event = message_event(text, CHANNEL, user, ts)
            ref = reference_of(text) or ts
            self.refs_by_ts[ts] = ref
            prepared.append((ref, ts, json.dumps(event_callback(event)).encode()))
        return prepared

    async def deliver(self, prepared: Sequence[tuple[str, str, bytes]]) -> list[Sent]:
        """POST every message at once; each is signed as Slack signs it, at the moment it is sent."""

        async def one(ref: str, ts: str, body: bytes) -> Sent:
            headers = {"Content-Type": "application/json", **sign(body, SIGNING_SECRET)}
            sent = time.monotonic()
            async with self._session.post(f"{self._bot.url}/slack/events", data=body, headers=headers) as r:
                await r.read()
                return Sent(ref, ts, sent, time.monotonic(), r.status)

        return list(await asyncio.gather(*(one(*p) for p in prepared)))

    async def deliver_at_once(self, prepared: Sequence[tuple[str, str, bytes]]) -> list[Sent]:
        """POST every message at once from a lean sender process (``benchmarks.burst_sender``): its own
        CPU, connections opened before the clock starts, one ``send`` per request."""
        job = {
            "host": "127.0.0.1",
            "port": self._bot.port,
            "path": "/slack/events",
            "secret": SIGNING_SECRET,
            "bodies": [body.decode() for _, _, body in prepared],
        }
        sender = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.burst_sender",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        out, _ = await sender.communicate(json.dumps(job).encode())
        if sender.returncode != 0:
            raise RuntimeError(f"the burst sender failed (exit {sender.returncode})")
        results = json.loads(out)
        return [
            Sent(ref, ts, r["sent"], r["acked"] if r["acked"] is not None else float("inf"), r["status"])
            for (ref, ts, _), r in zip(prepared, results, strict=True)
        ]

    async def until_answered(self, count: int, limit_seconds: float) -> None:
        """Wait until ``count`` of the messages sent so far have a complete answer in Slack."""
        deadline = time.monotonic() + limit_seconds
        while answered(self._bot.slack, self.refs_by_ts) < count:
            if time.monotonic() > deadline:
                done = answered(self._bot.slack, self.refs_by_ts)
                raise TimeoutError(f"only {done} of {count} answers after {limit_seconds:.0f} s")
            await asyncio.sleep(0.005)
