"""Comparing by ear (matcher.ByEar): what it places, and the score distributions that chose its cut-offs.

    nice -n 19 .venv/bin/python -m bench.by_ear [--sets dev,dev2] [--english clean,talk10,tv10]
        [--transcripts FILE] [--from FILE]

Whisper (steered as the skill steers it) hears the Indonesian tuning recordings, the negatives and the
project's English recordings (English talk and English requests, as someone might speak near the
device); each transcript the words alone place nowhere (Matcher.unplaced) is then scored by ear:
- unknown text: its likeness to the closest command (next, repeat, stop), and the margin over the
  next command (BY_EAR_COMMAND_MIN, BY_EAR_MARGIN);
- words about cramps like no answer (the relief steps): its likeness to the closest question, and
  the margin over the relief request's phrasings (BY_EAR_QUESTION_MIN, BY_EAR_MARGIN).
It prints both distributions, for the Indonesian requests (with the intent meant) and for the sound
not meant for the skill, and what the matcher answers with and without the ear. --transcripts writes
what Whisper heard (JSON lines), --from reads it back instead of decoding (seconds, not minutes).
Never run it on the check set while tuning.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

from voice_skill import knowledge
from voice_skill.audio_in import file_chunks
from voice_skill.matcher import COMMANDS, RELIEF, UNKNOWN, Matcher

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "tests" / "recordings"


def sources(sets: list[str], english: list[str]) -> list[dict]:
    """Recordings to hear: {path, intent, group}; group is the set, or english_talk / english_request."""
    with open(RECORDINGS / "id" / "manifest.tsv", encoding="utf-8") as handle:
        found = [{"path": str(RECORDINGS / "id" / r["path"]), "intent": r["intent"], "group": r["set"]}
                 for r in csv.DictReader(handle, delimiter="\t") if r["set"] in sets]
    with open(RECORDINGS / "manifest.tsv", encoding="utf-8") as handle:
        found += [{"path": str(RECORDINGS / r["path"]), "intent": UNKNOWN,
                   "group": "english_talk" if r["intent"] == UNKNOWN else "english_request"}
                  for r in csv.DictReader(handle, delimiter="\t") if r["condition"] in english]
    return found


def hear_all(heard: list[dict], kb) -> None:
    from voice_skill.whisper_engine import open_whisper

    recognizer = open_whisper(kb)
    for item in heard:
        item["text"] = recognizer.transcribe(file_chunks(item["path"]))


def scored(matcher: Matcher, text: str) -> tuple[str, str, float, float] | None:
    """(kind, closest, likeness, margin) by ear for text the words place nowhere, else None."""
    if not text or not matcher.unplaced(text):
        return None
    found = matcher.by_words(text)
    return ("command" if found.intent == UNKNOWN else "question", *matcher.by_ear.closest(found, text))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="dev,dev2,negatives", help="Indonesian sets (never check while tuning)")
    parser.add_argument("--english", default="clean,talk10,tv10", help="conditions of the English recordings")
    parser.add_argument("--transcripts", type=Path, help="write what Whisper heard here (JSON lines)")
    parser.add_argument("--from", dest="read_from", type=Path, help="read what Whisper heard from here")
    args = parser.parse_args()
    kb = knowledge.load()
    if args.read_from:
        heard = [json.loads(line) for line in args.read_from.read_text(encoding="utf-8").splitlines()]
    else:
        heard = sources(args.sets.split(","), [c for c in args.english.split(",") if c])
        hear_all(heard, kb)
    if args.transcripts:
        args.transcripts.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in heard),
                                    encoding="utf-8")
    words, ear = Matcher(kb), Matcher(kb, by_ear="id")
    print("by ear, for text the words place nowhere: likeness to the closest command / question, margin, "
          "(meant) transcript")
    for kind in ("command", "question"):
        for side in ("meant for the skill", "not meant for it"):
            rows = set()
            for item in heard:
                meant = not item["group"].startswith("english") and item["group"] != "negatives"
                found = scored(ear, item["text"]) if meant == (side == "meant for the skill") else None
                if found and found[0] == kind:
                    rows.add((round(found[2], 3), round(found[3], 3), found[1], item["intent"] if meant else "",
                              item["text"][:60]))
            print(f"\n{kind}s, {side}:")
            for likeness, margin, closest, intent, text in sorted(rows, reverse=True):
                mark = "" if not intent else " right" if closest == intent else " WRONG"
                print(f"  {likeness:.3f}  {margin:+.3f}  {closest:26}{mark:7} ({intent}) {text!r}")
    print()
    for name, matcher in (("words only", words), ("words, then by ear", ear)):
        right: dict[str, list[bool]] = defaultdict(list)
        for item in heard:
            got = matcher.match(item["text"]).intent if item["text"] else UNKNOWN
            if item["group"].startswith("english") or item["group"] == "negatives":
                right[f"{item['group']}: answered"].append(got != UNKNOWN)
                right[f"{item['group']}: a command"].append(got in COMMANDS)
            else:
                right[f"{item['group']}: right"].append(got == item["intent"])
                if item["intent"] == RELIEF:
                    right[f"{item['group']}: relief"].append(got == RELIEF)
        print(f"{name}: " + ", ".join(f"{k} {sum(v)}/{len(v)}" for k, v in right.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
