"""One at a time, each of the matcher's tuned numbers (voice_skill/tuning.py) set to nearby values:
how many of the text sets, and of the test recordings' transcripts, reach the right intent.

    .venv/bin/python bench/sweep.py [--recordings]

--recordings first transcribes every test recording once against the grammar (a few minutes; run it
with nice), then matches those transcripts at each value. The figures in tuning.py's notes are this
script's output.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

import voice_skill.matcher as matcher_module
from voice_skill import knowledge
from voice_skill.matcher import Matcher

ROOT = Path(__file__).resolve().parent.parent
TEXT_SETS = ("dev_phrases.tsv", "check_phrases.tsv")
CONDITIONS = ("clean", "babble10", "babble5")
GRID = {
    "ACCEPT_THRESHOLD": [0.55, 0.6, 0.65, 0.7, 0.75],
    "RELIEF_FLOOR": [0.4, 0.45, 0.5, 0.55, 0.6],
    "KEYWORD_BONUS": [0.2, 0.3, 0.4, 0.5, 0.6],
    "BORROWED_SHARE": [0.25, 0.5, 0.75, 1.0],
    "CONTROL_KEYWORD_WORDS": [2, 3, 4, 5],
    "LONG_CONTROL_SHARE": [0.0, 0.25, 0.5, 0.75, 1.0],
    "WORD_MATCH_CUTOFF": [75, 78, 82, 86, 90],
    "KEYWORD_CUTOFF": [0.82, 0.85, 0.88, 0.91, 0.95],
    "SHORT_WORD": [3, 4, 5, 6, 7],
    "FILLER_WEIGHT": [0.05, 0.1, 0.15, 0.25, 0.4],
    "DOMAIN_WEIGHT": [0.15, 0.2, 0.3, 0.5, 1.0],
    "MIN_STEM": [3, 4, 5],
    "MIN_FINAL_LETTER_WORD": [4, 5, 6, 99],
}


def text_sets() -> dict[str, list[tuple[str, str]]]:
    sets = {}
    for name in TEXT_SETS:
        with open(ROOT / "tests" / "data" / name, encoding="utf-8") as handle:
            sets[name.split("_")[0]] = [(row["intent"], row["text"]) for row in csv.DictReader(handle, delimiter="\t")]
    return sets


def transcripts(kb: knowledge.KnowledgeBase) -> dict[str, list[tuple[str, str]]]:
    from voice_skill.hearing import FileListener

    base = ROOT / "tests" / "recordings"
    with open(base / "manifest.tsv", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter="\t") if row["condition"] in CONDITIONS]
    listener = FileListener.open(None, kb)
    heard: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        heard[row["condition"]].append((row["intent"], listener.transcribe(base / row["path"])))
    return {condition: heard[condition] for condition in CONDITIONS}


def score(kb: knowledge.KnowledgeBase, sets: dict[str, list[tuple[str, str]]]) -> str:
    matcher = Matcher(kb, threshold=matcher_module.ACCEPT_THRESHOLD)
    return ", ".join(f"{name} {sum(matcher.match(text).intent == intent for intent, text in rows)}/{len(rows)}"
                     for name, rows in sets.items())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recordings", action="store_true", help="also the test recordings' transcripts")
    args = parser.parse_args()
    kb = knowledge.load()
    sets = text_sets()
    if args.recordings:
        sets |= transcripts(kb)
    print("as shipped:", score(kb, sets), flush=True)
    for name, values in GRID.items():
        shipped = getattr(matcher_module, name)  # the matcher reads these names at match time
        results = []
        for value in values:
            setattr(matcher_module, name, value)
            results.append(f"{value}{'*' if value == shipped else ''}: {score(kb, sets)}")
        setattr(matcher_module, name, shipped)
        print(f"{name}  " + " | ".join(results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
