"""Soak: an hour (or --minutes) of audio through the hands-free loop, faster than real time.

    .venv/bin/python bench/soak.py [--minutes 60]

The stream cycles through silence, speech babble, out-of-domain speech, and every so often a real
request ("my calf is cramping", then "next" and "stop"). It reports how many requests were
answered (and anything else that made the skill speak), and resident memory at the start and end.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

from voice_skill import knowledge
from voice_skill.audio_in import CHUNK_FRAMES, SAMPLE_RATE, read_file
from voice_skill.conversation import Conversation
from voice_skill.listen import HandsFree, PrintOnly
from voice_skill.recognizer import Recognizer, find_model, grammar_phrases, load_model

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "tests" / "recordings"
ANSWER_WINDOW_S = 2.0
FOLLOW_UP_WINDOW_S = 12.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def segments(rng: np.random.Generator):
    """An endless, varied stream: (kind, samples) pieces; kind 'request' marks a cramp request."""
    with open(RECORDINGS / "manifest.tsv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    ordinary = [read_file(RECORDINGS / r["path"]) for r in rows if r["intent"] == "unknown" and r["condition"] == "clean"]
    babble = (read_file(RECORDINGS / "babble.wav") * 0.3).astype(np.int16)
    request = read_file(RECORDINGS / "demo" / "my-calf-is-cramping.wav")
    follow_ups = [read_file(RECORDINGS / "demo" / name) for name in ("next.wav", "stop.wav")]
    silence = np.zeros(SAMPLE_RATE * 3, dtype=np.int16)
    while True:
        for _ in range(6):
            choice = rng.integers(3)
            if choice == 0:
                yield "other", silence
            elif choice == 1:
                yield "other", babble
            else:
                yield "other", ordinary[rng.integers(len(ordinary))]
                yield "other", silence[: SAMPLE_RATE]
        yield "request", request
        for follow_up in follow_ups:
            yield "other", silence[: SAMPLE_RATE * 2]
            yield "other", follow_up
        yield "other", silence


def soak(minutes: float, seed: int = 7) -> dict:
    kb = knowledge.load()
    model = load_model(find_model())
    clock = [0.0]
    heard: list[tuple[float, str]] = []  # (when, line) for every line the loop printed
    loop = HandsFree(Recognizer(model, grammar_phrases(kb, model)), Conversation(kb, hands_free=True), PrintOnly(),
                     emit=lambda line: heard.append((clock[0], line)), clock=lambda: clock[0])
    request_ends: list[float] = []
    start_rss = None
    started = time.perf_counter()
    total = int(minutes * 60 * SAMPLE_RATE)
    fed = 0
    for kind, samples in segments(np.random.default_rng(seed)):
        for offset in range(0, len(samples), CHUNK_FRAMES):
            loop.run([samples[offset:offset + CHUNK_FRAMES].tobytes()])
            clock[0] += CHUNK_FRAMES / SAMPLE_RATE
        fed += len(samples)
        if kind == "request":
            request_ends.append(clock[0])
        if start_rss is None and fed > SAMPLE_RATE * 60:
            start_rss = rss_mb()  # after the first minute: the model and decoder are warm
        if fed >= total:
            break
    turns = [(at, line) for at, line in heard if line.startswith("heard:")]
    # A request counts as answered if relief starts within ANSWER_WINDOW_S of its end; every other
    # turn that isn't one of the follow-ups ("next", "stop") after a request is a false trigger.
    answered = [end for end in request_ends
                if any(end - 1 <= at <= end + ANSWER_WINDOW_S and "[cramp_relief" in line for at, line in turns)]
    follow_up = lambda at: any(0 < at - end <= FOLLOW_UP_WINDOW_S for end in request_ends)  # noqa: E731
    false = [f"{at:.0f}s {line}" for at, line in turns
             if not (any(end - 1 <= at <= end + ANSWER_WINDOW_S for end in request_ends) or
                     (follow_up(at) and ("[next" in line or "[stop" in line)))]
    return {"audio_minutes": round(fed / SAMPLE_RATE / 60, 1), "seconds": round(time.perf_counter() - started, 1),
            "requests": len(request_ends), "answered": len(answered), "false_triggers": false,
            "rss_start_mb": round(start_rss or rss_mb(), 1), "rss_end_mb": round(rss_mb(), 1)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=60)
    print(json.dumps(soak(parser.parse_args().minutes), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
