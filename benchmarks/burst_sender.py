"""Slack's side of a burst: every event POSTed at once from a process of its own, over raw sockets.

    python -m benchmarks.burst_sender < job.json > result.json

Slack delivers events from many machines; a load generator that shares an event loop (and a CPU) with the
fake servers, and builds each request through an HTTP client library, delays its own sends by a
millisecond or more each, and that delay would be counted as the bot's. Here each connection is opened
before the clock starts (Slack keeps connections alive too), each request is signed and written with one
``send`` the moment its turn comes, and the answers are read with a selector. All times are
``time.monotonic()``, which is the same clock in every process of the machine.

Input (stdin, JSON): ``{"host", "port", "path", "secret", "bodies": [str, ...]}``.
Output (stdout, JSON): ``[{"sent", "acked", "status"}, ...]`` in the order of ``bodies``.
"""

from __future__ import annotations

import json
import selectors
import socket
import sys
import time
from typing import Any

from tests.fakes.slack_signing import sign

LIMIT_SECONDS = 60.0
SETTLE_SECONDS = 0.5


def request_bytes(host: str, port: int, path: str, body: bytes, secret: str) -> bytes:
    """One signed Events API request, as Slack sends it."""
    headers = {
        "Host": f"{host}:{port}",
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        **sign(body, secret),
    }
    head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode() + body


def response_complete(buffer: bytes) -> int | None:
    """The status of a complete HTTP response in ``buffer``, or None while it is still arriving."""
    head, sep, rest = buffer.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if "content-length" in fields:
        return status if len(rest) >= int(fields["content-length"]) else None
    if fields.get("transfer-encoding", "").lower() == "chunked":
        return status if rest.endswith(b"0\r\n\r\n") else None
    return status


def burst(job: dict[str, Any]) -> list[dict[str, Any]]:
    host, port, path, secret = job["host"], int(job["port"]), job["path"], job["secret"]
    bodies = [b.encode() for b in job["bodies"]]
    sockets = [socket.create_connection((host, port)) for _ in bodies]
    for s in sockets:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    time.sleep(SETTLE_SECONDS)  # the bot accepts the connections before the clock starts
    results: list[dict[str, Any]] = [{} for _ in bodies]
    for i, (s, body) in enumerate(zip(sockets, bodies, strict=True)):
        data = request_bytes(host, port, path, body, secret)
        results[i]["sent"] = time.monotonic()
        s.sendall(data)
    selector = selectors.DefaultSelector()
    buffers = {}
    for i, s in enumerate(sockets):
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ, i)
        buffers[i] = b""
    deadline = time.monotonic() + LIMIT_SECONDS
    while buffers and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1.0):
            i = key.data
            chunk = sockets[i].recv(65536)
            now = time.monotonic()
            buffers[i] += chunk
            status = response_complete(buffers[i]) if chunk else 0
            if status is not None:
                results[i] |= {"acked": now, "status": status}
                selector.unregister(key.fileobj)
                del buffers[i]
    for i in buffers:
        results[i] |= {"acked": None, "status": 0}
    for s in sockets:
        s.close()
    return results


def main() -> None:
    json.dump(burst(json.load(sys.stdin)), sys.stdout)


if __name__ == "__main__":
    main()
