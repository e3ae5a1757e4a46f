"""The words a language is understood by, loaded from `responses/<lang>/vocabulary.toml`.

The answers' own example phrasings and keywords live with the answers; these lists say what the
matcher and the hands-free rules need besides: which words put an utterance about calf cramps, which
name the complaint, which are filler, how word forms line up. The code names the lists; the words
are all here, per language, so fixing a word or adding a language touches no code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from voice_skill.errors import SkillError

VOCABULARY_FILE = "vocabulary.toml"  # in responses/<lang>/


@dataclass(frozen=True)
class Vocabulary:
    """One language's word lists (or several languages' merged); see responses/en/vocabulary.toml."""

    about_cramps: tuple[str, ...]  # an utterance naming one is about calf cramps
    calf_or_leg: tuple[str, ...]  # the calf and the leg
    complaint: tuple[str, ...]  # what a request must name to start the skill from idle
    cramp_itself: tuple[str, ...]  # a cramp, a spasm, seizing up
    asking: tuple[str, ...]  # words that ask, or tie the complaint to a when or a why
    other_body_parts: tuple[str, ...]  # not this skill's business, unless a leg is named too
    everyday: tuple[str, ...]  # keywords that are everyday words: they count only with a "why"
    filler: tuple[str, ...]  # words that weigh little
    this_cramp: tuple[str, ...]  # "this" in "why does this happen?"
    accept: tuple[str, ...]  # accepting the offer of prevention advice
    request_words: tuple[str, ...]  # wrapped around requests; for the recogniser's grammar
    suffixes: tuple[str, ...]  # endings the stemmer strips, in order
    final_letters: tuple[str, ...]  # a last letter dropped from longer words
    word_forms: dict[str, str]  # irregular form -> the spelling used elsewhere
    # spelling -> sound, for comparing a transcript with the phrasings by ear (matcher.ByEar); a language
    # with none is not compared by ear
    sounds: dict[str, str] = field(default_factory=dict)

    @classmethod
    def merged(cls, vocabularies: list[Vocabulary]) -> Vocabulary:
        """Every language's lists together, in the order given: the matcher understands them all."""
        lists = {name: tuple(dict.fromkeys(w for v in vocabularies for w in getattr(v, name))) for name in WORD_LISTS}
        forms = {form: word for v in vocabularies for form, word in v.word_forms.items()}
        return cls(**lists, word_forms=forms)  # no sounds: a language is compared by ear on its own


TABLES = ("word_forms", "sounds")
WORD_LISTS = tuple(f.name for f in fields(Vocabulary) if f.name not in TABLES)


def from_toml(data: dict, path: Path) -> Vocabulary:
    """Check one language's vocabulary file, as parsed; raises SkillError naming the file and the problem."""
    known = (*WORD_LISTS, *TABLES)
    unknown = [key for key in data if key not in known]
    if unknown:
        raise SkillError(f"{path}: unknown list {unknown[0]!r} (known: {', '.join(known)})")
    missing = [key for key in known if key not in data]
    if missing:
        raise SkillError(f"{path}: missing {', '.join(missing)} (an empty list is allowed)")
    lists = {key: _words(data[key], key, path) for key in WORD_LISTS}
    return Vocabulary(**lists, word_forms=_forms(data["word_forms"], path), sounds=_sounds(data["sounds"], path))


def _words(value: object, key: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise SkillError(f"{path}: '{key}' must be a list of words or short phrases, like [\"calf\", \"my back\"]")
    bad = [item for item in value if not (isinstance(item, str) and _has_a_word(item))]
    if bad:
        raise SkillError(f"{path}: '{key}' must be a list of words or short phrases; {bad[0]!r} is not one")
    words = tuple(item.strip().lower() for item in value)
    twice = sorted({word for word in words if words.count(word) > 1})
    if twice:
        raise SkillError(f"{path}: '{key}' lists {twice[0]!r} twice")
    return words


def _forms(value: object, path: Path) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
            isinstance(word, str) and _has_a_word(form) and _has_a_word(word) for form, word in value.items()):
        raise SkillError(f"{path}: [word_forms] must map each form to a word, like: calves = \"calf\"")
    forms = {form.strip().lower(): word.strip().lower() for form, word in value.items()}
    chained = [form for form, word in forms.items() if word in forms]
    if chained:
        raise SkillError(f"{path}: [word_forms] maps {chained[0]!r} to a word that is itself mapped")
    return forms


def _sounds(value: object, path: Path) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(spelling, str) and re.fullmatch(r"[a-z]+", spelling)
                                              and isinstance(sound, str) and re.fullmatch(r"[a-z]*", sound)
                                              for spelling, sound in value.items()):
        raise SkillError(f"{path}: [sounds] must map letters to the letters they sound as (or to \"\"), like: ph = \"f\"")
    return dict(value)


def _has_a_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text)
