"""Hands-free latency in a virtual room: from the end of a spoken request to the first sound of the answer.

    .venv/bin/python bench/latency.py [--runs 20] [--pause 0.5] [--loopback] [-- LISTEN ARGS...]

Starts a private PulseAudio server with a virtual microphone and speaker (tests/room.py), runs
`voice-skill listen` in it, and then, N times: plays "my calf is cramping" into the microphone,
waits for the whole answer, says "stop", pauses. Each request is also played onto the speaker
recording, so request and answer share one timeline; the latency is measured there, from the end
of the request's speech to the first sound after it. Needs pulseaudio and pulseaudio-utils.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from room import RoomError, VirtualRoom  # noqa: E402

DEMO = ROOT / "tests" / "recordings" / "demo"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="request/answer rounds (default 20)")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds of quiet after each 'stop' (default 0.5)")
    parser.add_argument("--request", type=Path, default=DEMO / "my-calf-is-cramping.wav")
    parser.add_argument("--stop", type=Path, default=DEMO / "stop.wav")
    parser.add_argument("--loopback", action="store_true", help="feed the speaker back into the microphone")
    parser.add_argument("listen_args", nargs="*", help="extra arguments for `voice-skill listen` (after --)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    print("command:", shlex.join([sys.executable, *sys.argv]))
    try:
        with VirtualRoom() as room:
            room.start_skill(*args.listen_args)
            print("skill:", shlex.join([sys.executable, "-m", "voice_skill", "listen", *args.listen_args]))
            print(f"start to `Listening`: {room.ready_after_s:.2f} s")
            if args.loopback:
                room.loopback(True)
            latencies, misses = run_rounds(room, args)
            code = room.stop_skill()
    except RoomError as error:
        print(f"latency: {error}", file=sys.stderr)
        return 1
    report(latencies, misses, args.runs)
    print(f"exit status on SIGINT: {code}")
    return 0 if not misses else 1


def run_rounds(room: VirtualRoom, args) -> tuple[list[float], list[int]]:
    latencies: list[float] = []
    misses: list[int] = []
    for run in range(1, args.runs + 1):
        # The whole answer is awaited: the skill doesn't listen while it speaks, so a "stop"
        # said over it would not be heard. settle 0.6 s > the skill's echo tail (0.35 s).
        done = room.converse(args.request, sink="both", settle_s=0.6)
        answered = any(line.startswith("say:") for line in done.lines)
        if done.latency is None or not answered:
            misses.append(run)
            print(f"run {run:3}: no answer ({done.timing}; printed {done.lines})", flush=True)
        else:
            latencies.append(done.latency)
            print(f"run {run:3}: {done.latency * 1000:6.0f} ms", flush=True)
        printed = len(room.lines())
        room.converse(args.stop, sink="micfeed", answer_timeout=0.5)
        time.sleep(args.pause)
        after_stop = room.lines()[printed:]
        if not any("[stop " in line for line in after_stop):
            print(f"         'stop' was not taken: {after_stop}", flush=True)
    return latencies, misses


def report(latencies: list[float], misses: list[int], runs: int) -> None:
    print(f"answered {len(latencies)}/{runs}" + (f" (no answer in runs {misses})" if misses else ""))
    if not latencies:
        return
    ms = np.array(latencies) * 1000
    p50, p95 = np.percentile(ms, [50, 95])
    print(f"request end -> first sound: p50 {p50:.0f} ms  p95 {p95:.0f} ms  "
          f"min {ms.min():.0f} ms  max {ms.max():.0f} ms  (n={len(ms)})")


if __name__ == "__main__":
    sys.exit(main())
