"""What a change to the rules from idle (voice_skill/for_us.py) does, in minutes instead of an hour:
the utterances a live loop weighed from idle, logged by bench.rooms, replayed through the rules as
they are now.

    nice -n 5 .venv/bin/python -m bench.rooms --split dev --split dev2 --no-answer --log-idle bench/work/idle
    (change the rules)
    .venv/bin/python -m bench.replay_idle bench/work/idle

Each utterance is labelled by where it was heard: "talk" (the false-accept talk), "TV alone" (a
recording before its request began) or the request's intent. Printed: every utterance whose outcome
differs from the logged one, then per condition the replies to talk and to the TV alone, and the
relief requests taken, as logged and as replayed. Each utterance is weighed as it was heard: what the
loop would have heard after a reply it now gives or no longer gives is not replayed (its reply ends
an utterance early; it listens on), so a change worth keeping is confirmed by bench.rooms itself.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from voice_skill import knowledge
from voice_skill.for_us import understand
from voice_skill.matcher import RELIEF, Matcher

from bench.rooms import ROOMS
from bench.run import read_tsv

TALK, TV_ALONE = "talk", "TV alone"
Outcome = tuple[str | None, str | None]  # the words taken and their intent; (None, None): nothing


def label(record: dict, manifests: dict[str, dict[str, dict]]) -> str:
    """Where the utterance was heard: in the talk, during the TV alone, or the request's intent."""
    if not record["recording"]:
        return TALK
    row = manifests[record["split"]][record["recording"]]
    return row["intent"] if record["at_s"] > float(row["start_s"]) else TV_ALONE


def replayed(record: dict, matcher: Matcher) -> Outcome:
    understood = understand(record["text"], matcher, False, record["prominences_db"], record["confidences"])
    return (None, None) if understood is None else (understood[0], understood[1].intent)


def read_log(folder: Path) -> list[dict]:
    records = []
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                print(f"replay_idle: {path.name}:{number}: not a JSON line, skipped", file=sys.stderr)
    return records


def summary(records: list[dict], labels: list[str], outcomes: list[Outcome]) -> list[str]:
    """Per condition: replies to talk, to the TV alone, and relief requests taken, of the relief
    recordings in which anything was weighed (in the others no rule has anything to change)."""
    counts: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for index, (record, where, (_, intent)) in enumerate(zip(records, labels, outcomes)):
        tally = counts[record["condition"]]
        recording = (record["split"], record["recording"])
        if where == RELIEF:
            tally["heard"].add(recording)
        if intent is None:
            continue
        if where in (TALK, TV_ALONE):
            tally[where].add(index)
        elif where == RELIEF and intent == RELIEF:
            tally[RELIEF].add(recording)
    return [f"{condition}: replies to talk {len(c[TALK])}, to the TV alone {len(c[TV_ALONE])}, relief requests "
            f"taken {len(c[RELIEF])} of {len(c['heard'])}" for condition, c in sorted(counts.items())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path, help="the folder bench.rooms --log-idle wrote")
    args = parser.parse_args()
    records = read_log(args.log)
    if not records:
        sys.exit(f"replay_idle: no logged utterances in {args.log} (bench.rooms --log-idle {args.log})")
    splits = {record["split"] for record in records}
    manifests = {split: {row["name"]: row for row in read_tsv(ROOMS / split / "manifest.tsv")} for split in splits}
    matcher = Matcher(knowledge.load())
    labels = [label(record, manifests) for record in records]
    logged = [(record["took"], record["intent"]) for record in records]
    now = [replayed(record, matcher) for record in records]
    for record, where, before, after in zip(records, labels, logged, now):
        if before != after:
            print(f"{record['split']} {record['condition']} {where}: {record['text']!r}  {before} -> {after}")
    print("logged:   " + "\n          ".join(summary(records, labels, logged)))
    print("replayed: " + "\n          ".join(summary(records, labels, now)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
