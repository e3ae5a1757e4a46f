"""The language of a text from its words (voice_skill.language): plain code, the knowledge base's own
words as evidence. The held-out text sets in both languages (tests/data) are the measure: every text
placed is placed right, and nearly every one is placed (bench/language.py gives the figures)."""

from __future__ import annotations

import csv

import pytest

from conftest import ROOT
from voice_skill.language import LanguageGuesser


@pytest.fixture(scope="module")
def guesser(kb) -> LanguageGuesser:
    return LanguageGuesser(kb)


def phrases() -> list[dict]:
    rows = []
    for name in ("dev_phrases.tsv", "check_phrases.tsv"):
        with open(ROOT / "tests" / "data" / name, newline="", encoding="utf-8") as file:
            rows += list(csv.DictReader(file, delimiter="\t"))
    return rows


def test_the_text_sets_in_both_languages_are_placed_right(guesser):
    for lang, floor in (("en", 0.98), ("id", 0.93)):
        rows = [row for row in phrases() if row["lang"] == lang]
        guesses = [guesser.guess(row["text"]).lang for row in rows]
        wrong = [row["text"] for row, guess in zip(rows, guesses) if guess not in (lang, None)]
        assert wrong == []  # undecided is allowed (the dialogue or the default decides), wrong is not
        assert sum(guess == lang for guess in guesses) / len(rows) >= floor


def test_words_both_or_neither_language_use_decide_nothing(guesser):
    assert guesser.guess("").lang is None
    assert guesser.guess("zzzz qqqq").lang is None
    assert guesser.guess("betis saya kram").lang == "id" and guesser.guess("betis saya kram").outweighs_dialogue
    assert guesser.guess("my calf is cramping").lang == "en"
    assert not guesser.guess("lanjut").outweighs_dialogue
