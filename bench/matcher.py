"""Matcher accuracy on a phrase set, and matching speed over 1,000 queries.

    .venv/bin/python bench/matcher.py [tests/data/dev_phrases.tsv ...] [--errors] [--by-ear]

--by-ear: each language's rows as that language's conversation matches them (Indonesian also by ear).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from pathlib import Path

from voice_skill import knowledge
from voice_skill.matcher import Matcher

ROOT = Path(__file__).resolve().parent.parent


def read_phrases(path: Path) -> list[tuple[str, str, str]]:
    with open(path, encoding="utf-8") as handle:
        return [(row["lang"], row["intent"], row["text"]) for row in csv.DictReader(handle, delimiter="\t")]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="*", type=Path, default=[ROOT / "tests/data/dev_phrases.tsv"])
    parser.add_argument("--errors", action="store_true", help="list every miss")
    parser.add_argument("--by-ear", action="store_true", help="compare by ear where the language's vocabulary says how")
    args = parser.parse_args()
    kb = knowledge.load()
    matcher = Matcher(kb)
    matchers = {lang: Matcher(kb, by_ear=lang) if args.by_ear else matcher for lang in knowledge.LANGUAGES}
    for path in args.sets:
        rows = read_phrases(path)
        right: dict[str, list[bool]] = defaultdict(list)
        for lang, intent, text in rows:
            got = matchers[lang].match(text)
            right[lang].append(got.intent == intent)
            if args.errors and got.intent != intent:
                print(f"  MISS {lang} {intent:32} -> {got.intent:32} {got.confidence:.2f}  {text}")
        summary = ", ".join(f"{lang} {sum(v)}/{len(v)} = {sum(v) / len(v):.1%}" for lang, v in sorted(right.items()))
        print(f"{path.name}: {summary}")
    queries = [text for _, _, text in read_phrases(args.sets[0])]
    queries = (queries * (1000 // len(queries) + 1))[:1000]
    start = time.perf_counter()
    for text in queries:
        matcher.match(text)
    elapsed = time.perf_counter() - start
    print(f"matching 1000 queries: {elapsed * 1000:.0f} ms ({elapsed:.3f} ms per query)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
