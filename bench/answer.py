"""`voice-skill answer` as the issue measures it: requests right per condition, the relief request on
its own, and how often 4-second pieces of ordinary speech get an answer other than `unknown`.

    .venv/bin/python -m bench.answer [--sets tests,bench] [--errors]

Sets: `tests` = tests/recordings (the project's own, tuned on); `bench` = bench/work/audio's clean
and talk/babble recordings (held-out phrasings and voices; `make bench` renders them). Ordinary
speech: bench/work/audio/ordinary/*.wav (over an hour, six voices) cut into 4-second pieces. Each
file goes through what the CLI does: the grammar transcript, then voice_skill.for_us.answer (with
the free decoding's second opinion; each figure is also given without it).
"""

from __future__ import annotations

import argparse
import csv
import functools
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from voice_skill import knowledge
from voice_skill.audio_in import SAMPLE_RATE, file_chunks, read_file
from voice_skill.for_us import answer
from voice_skill.hearing import FileListener
from voice_skill.matcher import RELIEF, UNKNOWN, Matcher

ROOT = Path(__file__).resolve().parent.parent
SETS = {"tests": ROOT / "tests/recordings/manifest.tsv", "bench": ROOT / "bench/work/audio/manifest.tsv"}
BENCH_CONDITIONS = ("clean", "babble10", "talk10", "talk5")
PIECE_S = 4.0
CHUNK = 1600  # 100 ms, as the CLI reads files


def requests(name: str) -> list[dict]:
    with SETS[name].open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [row for row in rows if name == "tests" or row["condition"] in BENCH_CONDITIONS]


def pieces() -> list[np.ndarray]:
    """Ordinary speech back to back, cut into 4-second pieces (the last, shorter one dropped)."""
    talk = np.concatenate([read_file(path) for path in sorted((ROOT / "bench/work/audio/ordinary").glob("*.wav"))])
    size = int(PIECE_S * SAMPLE_RATE)
    return [talk[start:start + size] for start in range(0, len(talk) - size + 1, size)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="tests,bench")
    parser.add_argument("--errors", action="store_true", help="print every wrong answer")
    args = parser.parse_args()
    kb = knowledge.load()
    matcher = Matcher(kb)
    listener = FileListener.open(None, kb)
    busy_s = audio_s = 0.0
    for name in args.sets.split(","):
        right: dict[str, list[bool]] = defaultdict(list)
        relief: dict[str, list[bool]] = defaultdict(list)
        plain: dict[str, list[bool]] = defaultdict(list)  # the transcript's bare match, as before issue 10's rules
        unchecked: dict[str, list[bool]] = defaultdict(list)  # answer() with no second opinion (free decoding)
        unchecked_relief: dict[str, list[bool]] = defaultdict(list)
        for row in requests(name):
            path = SETS[name].parent / row["path"]
            started = time.process_time()
            transcript = listener.transcribe(path)
            reread = functools.cache(lambda: listener.reread(path))
            text, match = answer(transcript, matcher, reread, lambda: listener.hear_freely(path), listener.spoken_s())
            busy_s += time.process_time() - started
            alone = answer(transcript, matcher, reread)[1].intent
            unchecked[row["condition"]].append(alone == row["intent"])
            audio_s += len(read_file(path)) / SAMPLE_RATE
            right[row["condition"]].append(match.intent == row["intent"])
            plain[row["condition"]].append(matcher.match(transcript).intent == row["intent"])
            if row["intent"] == RELIEF:
                relief[row["condition"]].append(match.intent == RELIEF)
                unchecked_relief[row["condition"]].append(alone == RELIEF)
            if args.errors and match.intent != row["intent"]:
                print(f"  {name} {row['condition']:8} {row['intent']:24} -> {match.intent:24} '{text}' ({row['text']})")
        for condition in sorted(right):
            ok, rel = right[condition], relief[condition]
            print(f"{name:6} {condition:9} all {100 * np.mean(ok):5.1f}% ({sum(ok)}/{len(ok)})  "
                  f"relief {sum(rel)}/{len(rel)}  (bare match: {100 * np.mean(plain[condition]):5.1f}%; no second "
                  f"opinion: {100 * np.mean(unchecked[condition]):5.1f}%, relief {sum(unchecked_relief[condition])})",
                  flush=True)
    answered, bare, alone = [], 0, 0
    talk = pieces()
    for piece in talk:
        chunks = [piece[i:i + CHUNK].tobytes() for i in range(0, len(piece), CHUNK)]
        started = time.process_time()
        transcript = listener.recognizer.transcribe(chunks)
        reread = functools.cache(lambda: listener.recognizer.reread(chunks))
        text, match = answer(transcript, matcher, reread, lambda: listener.recognizer.hear_freely(chunks),
                             listener.spoken_s())
        busy_s += time.process_time() - started
        audio_s += PIECE_S
        bare += matcher.match(transcript).intent != UNKNOWN
        alone += answer(transcript, matcher, reread)[1].intent != UNKNOWN
        if match.intent != UNKNOWN:
            answered.append(f"{match.intent} <- '{text}'")
    print(f"ordinary speech: {len(answered)}/{len(talk)} four-second pieces answered "
          f"({100 * len(answered) / len(talk):.1f}%; bare match {bare}; no second opinion {alone}), "
          f"{len(talk) * PIECE_S / 60:.0f} min")
    if args.errors:
        print("\n".join(f"  {line}" for line in answered))
    print(f"real-time factor (decoding and answering, CPU time): {busy_s / audio_s:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
