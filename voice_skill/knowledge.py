"""The knowledge base: what the skill can say, loaded from the TOML files in `responses/`.

Every health statement carries the article sentences it rests on (`source_quotes`); loading checks
that each quote stands verbatim in the article, so an edit can't drift from the source unnoticed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from voice_skill import vocabulary
from voice_skill.errors import SkillError
from voice_skill.vocabulary import Vocabulary

LANGUAGES = ("en", "id")

CONTROL_INTENTS = ("next", "repeat", "stop", "help", "unknown")
HEALTH_INTENTS = (
    "cramp_relief",
    "what_is",
    "aftercare",
    "causes",
    "cause_muscle_fatigue",
    "cause_prolonged_posture",
    "cause_electrolytes",
    "cause_dehydration",
    "cause_pregnancy",
    "cause_aging",
    "cause_nerve_disorders",
    "cause_peripheral_artery_disease",
    "cause_varicose_veins",
    "cause_medication",
    "cause_medical_conditions",
    "prevention",
    "see_doctor",
)
REQUIRED_INTENTS = HEALTH_INTENTS + CONTROL_INTENTS
DIALOGUE_KEYS = ("relief_hint", "relief_done", "relief_after", "nothing_to_repeat", "ready")

ARTICLE_NAME = "source/kram-betis-alodokter.txt"
DIALOGUE_FILE = "dialogue.toml"
DEFAULT_RESPONSES_DIR = Path(__file__).resolve().parent.parent / "responses"


@dataclass(frozen=True)
class Entry:
    """One intent's answer, in both languages, with its sources and example phrasings."""

    intent: str
    lines: dict[str, tuple[str, ...]]
    source_quotes: tuple[str, ...]
    examples: dict[str, tuple[str, ...]]
    keywords: dict[str, tuple[str, ...]]
    steps: bool = False
    # what the echo canceller leaves of a phrasing said over the skill's voice: its unvoiced start cut
    # ("stop" -> "top", "op", "up"); heard as this intent only while the skill speaks, and only alone
    clipped: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "intent": self.intent,
            "steps": self.steps,
            "en": list(self.lines["en"]),
            "id": list(self.lines["id"]),
            "source_quotes": list(self.source_quotes),
            "examples_en": list(self.examples["en"]),
            "examples_id": list(self.examples["id"]),
            "keywords_en": list(self.keywords["en"]),
            "keywords_id": list(self.keywords["id"]),
            **{f"clipped_{lang}": list(forms) for lang, forms in self.clipped.items() if forms},
        }


@dataclass(frozen=True)
class KnowledgeBase:
    entries: dict[str, Entry]
    dialogue: dict[str, dict[str, str]]  # language -> key -> line
    article: str
    vocabularies: dict[str, Vocabulary]  # language -> the words it is understood by
    words: Vocabulary  # every language's words together: the skill understands them all at once

    def lines(self, intent: str, lang: str) -> tuple[str, ...]:
        return self.entries[intent].lines[lang]

    def say(self, key: str, lang: str) -> str:
        return self.dialogue[lang][key]

    def clipped(self, lang: str, intents: Iterable[str]) -> dict[str, str]:
        """What is left of these intents' phrasings said over the skill's voice -> the intent."""
        return {form: intent for intent in intents for form in self.entries[intent].clipped.get(lang, ())}

    def all_lines(self, lang: str) -> list[str]:
        """Every line the skill can speak in `lang`, for preparing speech before anyone asks."""
        spoken = [line for entry in self.entries.values() for line in entry.lines[lang]]
        return spoken + list(self.dialogue[lang].values())


def load(directory: Path | str | None = None) -> KnowledgeBase:
    """Load and validate a knowledge base; raises SkillError naming the file and the problem."""
    directory = Path(directory) if directory is not None else DEFAULT_RESPONSES_DIR
    if not directory.is_dir():
        raise SkillError(f"responses directory not found: {directory}")
    article = _read_article(directory)
    entries: dict[str, Entry] = {}
    for path in sorted(directory.glob("*.toml")):
        if path.name == DIALOGUE_FILE:
            continue
        for raw in _parse(path).get("entry", []):
            entry = _entry_from(raw, path, article)
            if entry.intent in entries:
                raise SkillError(f"{path}: intent '{entry.intent}' is defined twice")
            entries[entry.intent] = entry
    missing = [intent for intent in REQUIRED_INTENTS if intent not in entries]
    if missing:
        raise SkillError(f"{directory}: missing intents: {', '.join(missing)}")
    vocabularies = {lang: _vocabulary_from(directory / lang / vocabulary.VOCABULARY_FILE) for lang in LANGUAGES}
    return KnowledgeBase(entries, _dialogue_from(directory / DIALOGUE_FILE), article, vocabularies,
                         Vocabulary.merged(list(vocabularies.values())))


def _read_article(directory: Path) -> str:
    path = directory / ARTICLE_NAME
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise SkillError(f"{path}: cannot read the source article ({error.strerror})") from None


def _parse(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise SkillError(f"{path}: not valid TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SkillError(f"{path}: cannot read: {error}") from None


def _entry_from(raw: object, path: Path, article: str) -> Entry:
    if not isinstance(raw, dict):
        raise SkillError(f"{path}: each [[entry]] must be a table")
    intent = raw.get("intent")
    if intent not in REQUIRED_INTENTS:
        raise SkillError(f"{path}: unknown intent {intent!r} (known: {', '.join(REQUIRED_INTENTS)})")
    where = f"{path}: intent '{intent}'"
    lines = {lang: _strings(raw, lang, where, required=True) for lang in LANGUAGES}
    if len(lines["en"]) != len(lines["id"]):
        raise SkillError(f"{where}: 'en' and 'id' must have the same number of lines")
    quotes = _strings(raw, "source_quotes", where, required=intent in HEALTH_INTENTS)
    for quote in quotes:
        if quote not in article:
            raise SkillError(f"{where}: source quote not found verbatim in the article: {quote[:60]!r}")
    examples = {
        lang: _strings(raw, f"examples_{lang}", where, required=intent != "unknown") for lang in LANGUAGES
    }
    keywords = {lang: _strings(raw, f"keywords_{lang}", where, required=False) for lang in LANGUAGES}
    clipped = {lang: _strings(raw, f"clipped_{lang}", where, required=False) for lang in LANGUAGES}
    steps = raw.get("steps", False)
    if not isinstance(steps, bool):
        raise SkillError(f"{where}: 'steps' must be true or false")
    return Entry(intent, lines, quotes, examples, keywords, steps, clipped)


def _strings(raw: dict, key: str, where: str, *, required: bool) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise SkillError(f"{where}: '{key}' must be a list of non-empty strings")
    if required and not value:
        raise SkillError(f"{where}: '{key}' must not be empty")
    return tuple(item.strip() for item in value)


def _dialogue_from(path: Path) -> dict[str, dict[str, str]]:
    if not path.is_file():
        raise SkillError(f"{path}: missing (it holds the conversation's steering lines)")
    data = _parse(path)
    dialogue: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        table = data.get(lang)
        if not isinstance(table, dict):
            raise SkillError(f"{path}: missing table [{lang}]")
        missing = [key for key in DIALOGUE_KEYS if not isinstance(table.get(key), str) or not table[key].strip()]
        if missing:
            raise SkillError(f"{path}: [{lang}] is missing lines: {', '.join(missing)}")
        dialogue[lang] = {key: table[key].strip() for key in DIALOGUE_KEYS}
    return dialogue


def _vocabulary_from(path: Path) -> Vocabulary:
    if not path.is_file():
        raise SkillError(f"{path}: missing (it holds the words this language is understood by)")
    return vocabulary.from_toml(_parse(path), path)
