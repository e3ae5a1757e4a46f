"""How well `serve` tells the language from the words alone (voice_skill.language), on the text sets
in both languages: tests/data/dev_phrases.tsv and check_phrases.tsv (held out from responses/).

    .venv/bin/python bench/language.py [--errors]
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path

from voice_skill import knowledge
from voice_skill.language import LanguageGuesser

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--errors", action="store_true", help="list every text guessed wrong")
    args = parser.parse_args()
    guesser = LanguageGuesser(knowledge.load())
    for name in ("dev_phrases.tsv", "check_phrases.tsv"):
        right, total, none = Counter(), Counter(), Counter()
        with open(DATA / name, newline="", encoding="utf-8") as file:
            for row in csv.DictReader(file, delimiter="\t"):
                guess = guesser.guess(row["text"]).lang
                total[row["lang"]] += 1
                right[row["lang"]] += guess == row["lang"]
                none[row["lang"]] += guess is None
                if guess != row["lang"] and args.errors:
                    print(f"  {name} {row['lang']} -> {guess}: {row['text']}")
        for lang in sorted(total):
            print(f"{name} {lang}: {right[lang]}/{total[lang]} = {right[lang] / total[lang]:.1%} "
                  f"(undecided {none[lang]})")


if __name__ == "__main__":
    main()
