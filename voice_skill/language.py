"""Which of the skill's languages a text is in, from the words alone: for a turn that names none.

Plain code, no I/O. The evidence is the knowledge base itself (responses/): every word a language's
answers, example phrasings, keywords, dialogue lines and vocabulary use. A word only one language
uses is a vote for it; a word both use ("ok", "paracetamol") or neither uses is no vote. Words are
compared as they are written and by the light stemmer the matcher uses ("cramping" -> "cramp"), so a
form the examples lack still counts. No vote either way, or a tie, is no answer: the caller keeps the
dialogue's language or its default.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from voice_skill.knowledge import KnowledgeBase
from voice_skill.matcher import Stemmer, normalize
from voice_skill.vocabulary import WORD_LISTS

# Votes a language needs over the other before the words outweigh an ongoing dialogue's language:
# one word ("next", "lanjut", a loanword in the other language's talk) keeps the dialogue's, a
# request said in the other language ("betis saya kram": three words) moves the dialogue to it.
OUTWEIGHS_DIALOGUE = 2


def texts_of(kb: KnowledgeBase, lang: str) -> list[str]:
    """Everything the knowledge base holds in `lang`: lines, phrasings, keywords, word lists."""
    texts: list[str] = []
    for entry in kb.entries.values():
        texts += [*entry.lines[lang], *entry.examples[lang], *entry.keywords[lang], *entry.clipped.get(lang, ())]
    texts += kb.dialogue[lang].values()
    words = kb.vocabularies[lang]
    for name in WORD_LISTS:
        texts += getattr(words, name)
    texts += [*words.word_forms, *words.word_forms.values()]
    return texts


class LanguageGuesser:
    """Guesses a text's language among the knowledge base's languages, by words only one of them uses."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.stemmers = {lang: Stemmer(words) for lang, words in kb.vocabularies.items()}
        self.words = {lang: self._forms(texts_of(kb, lang), lang) for lang in kb.vocabularies}

    def _forms(self, texts: Iterable[str], lang: str) -> frozenset[str]:
        forms: set[str] = set()
        for text in texts:
            for word in normalize(text):
                forms |= {word, self.stemmers[lang].stem(word)}
        return frozenset(forms)

    def votes(self, text: str) -> dict[str, int]:
        """Per language, how many of the text's words only that language uses."""
        votes = dict.fromkeys(self.words, 0)
        for word in normalize(text):
            users = [lang for lang, forms in self.words.items()
                     if word in forms or self.stemmers[lang].stem(word) in forms]
            if len(users) == 1:
                votes[users[0]] += 1
        return votes

    def guess(self, text: str) -> Guess:
        """The language with the most votes and its lead over the next, or no language on a tie."""
        ranked = sorted(self.votes(text).items(), key=lambda item: item[1], reverse=True) + [("", 0)]
        lead = ranked[0][1] - ranked[1][1]
        return Guess(ranked[0][0] if lead > 0 else None, lead)


@dataclass(frozen=True)
class Guess:
    lang: str | None  # None: the words do not tell
    lead: int  # how many more words the language has than the next

    @property
    def outweighs_dialogue(self) -> bool:
        return self.lang is not None and self.lead >= OUTWEIGHS_DIALOGUE
