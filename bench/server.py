"""`voice-skill serve` under load: requests per second and p50/p95 latency at 1, 10 and 100
concurrent clients, on the loopback address only.

Each client walks its own conversation (relief, next, next, a question, stop) as Home Assistant
does: a new connection per turn with wyoming's AsyncTcpClient, timed from connecting to the reply.
The clients run in this process, so on a small machine they share the CPU with the server: the
figures are what one machine serving itself achieves, a floor for a server with a core of its own.

    nice -n 10 .venv/bin/python bench/server.py [--levels 1 10 100] [--requests 2000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from wyoming.asr import Transcript
from wyoming.client import AsyncTcpClient

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SCRIPT = ("my calf is cramping", "next", "next", "why does this happen", "stop")
TURN_TIMEOUT_S = 30.0


async def one_turn(port: int, text: str, conversation: str) -> float:
    started = time.perf_counter()
    async with AsyncTcpClient(HOST, port, connect_timeout=TURN_TIMEOUT_S, read_timeout=TURN_TIMEOUT_S) as client:
        await client.write_event(Transcript(text, context={"conversation_id": conversation}).event())
        event = await client.read_event()
    if event is None or event.type not in ("handled", "not-handled"):
        raise RuntimeError(f"no answer to {text!r}: {event}")
    return time.perf_counter() - started


async def load(port: int, clients: int, requests: int, seconds: float) -> dict:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    started_requests = 0

    async def client() -> None:
        nonlocal started_requests
        conversation = uuid.uuid4().hex
        turn = 0
        while started_requests < requests and time.perf_counter() < deadline:
            started_requests += 1
            latencies.append(await one_turn(port, SCRIPT[turn % len(SCRIPT)], conversation))
            turn += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=20)  # cuts[9]: the median, cuts[18]: the 95th percentile
    return {"clients": clients, "requests": len(latencies), "seconds": round(elapsed, 2),
            "requests_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": round(cuts[9] * 1000, 2), "p95_ms": round(cuts[18] * 1000, 2)}


def start_server() -> tuple[subprocess.Popen, int]:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "voice_skill", "serve", "--uri", f"tcp://{HOST}:{port}"],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    ready = server.stdout.readline()
    if not ready.startswith("Serving on"):
        server.kill()
        raise SystemExit(f"the server did not start: {ready!r}")
    return server, port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 10, 100], help="concurrent clients")
    parser.add_argument("--requests", type=int, default=2000, help="at most this many requests per level")
    parser.add_argument("--seconds", type=float, default=20.0, help="at most this long per level")
    parser.add_argument("--json", action="store_true", help="one JSON object per level")
    args = parser.parse_args()
    server, port = start_server()
    try:
        asyncio.run(load(port, 1, 20, 5.0))  # warm up: first-use costs are not what a household waits on
        for clients in args.levels:
            result = asyncio.run(load(port, clients, args.requests, args.seconds))
            print(json.dumps(result) if args.json else
                  f"{clients:4d} clients: {result['requests']:5d} requests in {result['seconds']:6.2f} s = "
                  f"{result['requests_per_s']:7.1f}/s  p50 {result['p50_ms']:7.2f} ms  p95 {result['p95_ms']:7.2f} ms",
                  flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
