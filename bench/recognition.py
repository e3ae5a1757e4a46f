"""Recognition on the test recordings: intent accuracy per condition, grammar vs free decoding.

    .venv/bin/python bench/recognition.py [--manifest tests/recordings/manifest.tsv] [--errors]
        [--modes grammar,free] [--conditions clean,babble10]

Prints, for each decoding mode, the share of recordings whose transcript reaches the right intent,
per condition (clean, babble at 10 and 5 dB), and the real-time factor of decoding.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from pathlib import Path

import soundfile

from voice_skill import knowledge
from voice_skill.hearing import FileListener
from voice_skill.matcher import Matcher

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--manifest", type=Path, default=ROOT / "tests/recordings/manifest.tsv")
    parser.add_argument("--errors", action="store_true")
    parser.add_argument("--modes", default="grammar,free", help="comma-separated: grammar, free")
    parser.add_argument("--conditions", default="", help="comma-separated conditions to keep (default: all)")
    args = parser.parse_args()
    base = args.manifest.parent
    with open(args.manifest, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if args.conditions:
        rows = [row for row in rows if row["condition"] in args.conditions.split(",")]
    kb = knowledge.load()
    matcher = Matcher(kb)
    for mode in args.modes.split(","):
        listener = FileListener.open(None, kb if mode == "grammar" else None)
        right: dict[str, list[bool]] = defaultdict(list)
        audio_s = busy_s = 0.0
        for row in rows:
            path = base / row["path"]
            audio_s += soundfile.info(str(path)).duration
            start = time.perf_counter()
            transcript = listener.transcribe(path)
            got = matcher.match(transcript).intent
            busy_s += time.perf_counter() - start
            right[row["condition"]].append(got == row["intent"])
            if args.errors and got != row["intent"]:
                print(f"  {mode} {row['condition']:9} {row['intent']:30} -> {got:30} '{transcript}' ({row['text']})")
        summary = "  ".join(f"{c} {sum(v) / len(v):.1%} ({sum(v)}/{len(v)})" for c, v in sorted(right.items()))
        print(f"{mode:8} {summary}  rtf {busy_s / audio_s:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
