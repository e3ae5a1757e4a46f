"""Text to intent: which answer does what the person said ask for?

Three kinds of evidence, all from the knowledge base: the answers' example phrasings and keywords,
and each language's vocabulary (responses/<lang>/vocabulary.toml, voice_skill/vocabulary.py):
- Example phrasings: the query is compared word by word with every example of every intent. Words
  are matched fuzzily with rapidfuzz (so "cramps", "cramping" and a recogniser's near-miss line up)
  and the match is scored as a weighted F-measure of how much of the query the example explains and
  how much of the example the query covers. A word weighs by how few intents use it: "pregnant"
  fully, "calf" and "cramp" (in nearly every example) little, filler words least.
- Keywords: a keyword of an intent ("statins", "why", "prevent", or a phrase like "what is a") names
  the topic or the kind of question outright, so each one said adds a large bonus. The overview
  `causes` lends its question words to every `cause_*` entry at half weight, so "why do pregnant
  women cramp" picks cause_pregnancy but a bare "why do i cramp" the overview. A question outranks
  the relief steps' words ("ouch, why does it cramp"), and prevention a cause ("how do i prevent
  cramps when i run").
- Topic: an utterance is about calf cramps if it names the calf, a cramp or pain; or a cause
  ("statins") or a doctor; or asks why and names an everyday cause ("is it because i ran too far").
  About another body part ("my stomach cramps") it is `unknown`. About calf cramps but like no
  answer, it goes to `cramp_relief`: most likely someone in pain right now. The controls (next,
  repeat, stop, help) only compete when the utterance is not about calf cramps, so "how do i stop a
  calf cramp" is never the command "stop".
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from voice_skill.knowledge import CONTROL_INTENTS, KnowledgeBase
from voice_skill.tuning import (ACCEPT_THRESHOLD, BORROWED_SHARE, BY_EAR_COMMAND_MIN, BY_EAR_MARGIN, BY_EAR_QUESTION_MIN,
                                CONTROL_KEYWORD_WORDS, DOMAIN_WEIGHT, FILLER_WEIGHT, KEYWORD_BONUS, KEYWORD_CUTOFF,
                                LONG_CONTROL_SHARE, MIN_FINAL_LETTER_WORD, MIN_STEM, RELIEF_FLOOR, SHORT_WORD,
                                STRAY_WORDS, WORD_MATCH_CUTOFF)
from voice_skill.vocabulary import Vocabulary

UNKNOWN = "unknown"
RELIEF = "cramp_relief"
DOCTOR = "see_doctor"
PREVENTION = "prevention"
CAUSES = "causes"
CAUSE_PREFIX = "cause_"
CONTROLS = frozenset(CONTROL_INTENTS) - {UNKNOWN}
COMMANDS = CONTROLS - {"help"}  # the controls that move the steps


@dataclass(frozen=True)
class Match:
    intent: str
    confidence: float


def normalize(text: str) -> list[str]:
    """Lowercase words without punctuation or accents, apostrophes dropped ("what's" -> "whats")."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"['\u2019]", "", text)
    return re.findall(r"[a-z0-9]+", text)


class Stemmer:
    """A light stemmer from a vocabulary's word forms, suffixes and final letters: enough to line up
    word forms ("cramping", "cramps", "cramp") in every language the vocabulary holds."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.forms = vocabulary.word_forms
        self.suffixes = vocabulary.suffixes
        self.final_letters = vocabulary.final_letters
        self.stem = functools.lru_cache(maxsize=8192)(self._stem)

    def _stem(self, word: str) -> str:
        for _ in range(2):  # twice, so "sesudahnya" -> "sesudah" -> "setelah" ends where "setelah" does
            word = self.forms.get(word, word)
            for suffix in self.suffixes:
                if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
                    word = word[: -len(suffix)]
                    break
        for letter in self.final_letters:  # "cause" like "caus-ing"
            if word.endswith(letter) and len(word) >= MIN_FINAL_LETTER_WORD:
                return word[: -len(letter)]
        return word

    def stems(self, text: str) -> list[str]:
        return [self.stem(w) for w in normalize(text)]

    def phrase_set(self, phrases: Iterable[str]) -> frozenset[str]:
        """Word and phrase lists as the matcher compares them: each phrase's stems, space-joined."""
        return frozenset(" ".join(self.stems(phrase)) for phrase in phrases)


def phrases(stems: list[str], longest: int) -> set[str]:
    """Every run of up to `longest` stems, space-joined: what word and phrase lists are checked against."""
    return {" ".join(stems[i:i + n]) for n in range(1, longest + 1) for i in range(len(stems) - n + 1)}


@dataclass(frozen=True)
class Mentions:
    """What an utterance names, as the hands-free loop's start rule needs it."""

    complaint: bool  # a calf or a cramp: enough to wake the skill
    leg: bool  # the calf or the leg
    cramp: bool  # a cramp, spasm, knot or seizing up


@dataclass(frozen=True)
class WordSets:
    """The vocabulary's lists, stemmed, as the matcher looks them up."""

    domain: frozenset[str]
    legs: frozenset[str]
    complaint: frozenset[str]
    cramps: frozenset[str]
    asking: frozenset[str]
    elsewhere: frozenset[str]
    everyday: frozenset[str]
    filler: frozenset[str]
    this: frozenset[str]

    @classmethod
    def of(cls, words: Vocabulary, stemmer: Stemmer) -> WordSets:
        stemmed = stemmer.phrase_set
        return cls(domain=stemmed(words.about_cramps), legs=stemmed(words.calf_or_leg),
                   complaint=stemmed(words.complaint), cramps=stemmed(words.cramp_itself),
                   asking=stemmed(words.asking),
                   elsewhere=stemmed(words.other_body_parts), everyday=stemmed(words.everyday),
                   filler=stemmed(words.filler), this=stemmed(words.this_cramp))


def is_cause(intent: str) -> bool:
    return intent.startswith(CAUSE_PREFIX)


def sounds_like(text: str, sounds: Mapping[str, str]) -> str:
    """The letters said, run together and spelled as they sound (`sounds`: spelling -> sound, the longest
    spelling replaced first), a doubled letter once: where the words were split, and how, no longer matters."""
    letters = "".join(normalize(text))
    if sounds:
        spellings = "|".join(re.escape(spelling) for spelling in sorted(sounds, key=len, reverse=True))
        letters = re.sub(spellings, lambda found: sounds[found.group()], letters)
    return re.sub(r"(.)\1+", r"\1", letters)


class ByEar:
    """One language's phrasings (examples and keywords) compared with a transcript by sound: both as
    letters run together (sounds_like), scored with rapidfuzz's ratio (Indel distance). A recogniser
    writing a language it half-heard gives near-homophones and run-together words ("Gua ini." for
    "ulangi", "Kena pamatis saya misak kram." for "kenapa betis saya sering kram") that match no word
    but sound like the phrasing. Only for text the words placed nowhere (Matcher.match)."""

    def __init__(self, kb: KnowledgeBase, lang: str) -> None:
        self.sounds = kb.vocabularies[lang].sounds
        self.rows = [(intent, sounds_like(phrase, self.sounds)) for intent in sorted(kb.entries) if intent != UNKNOWN
                     for phrase in dict.fromkeys((*kb.entries[intent].examples[lang], *kb.entries[intent].keywords[lang]))]
        self.spoken = [row for _, row in self.rows]

    def likeness(self, text: str) -> dict[str, float]:
        """Per intent, in [0, 1]: how like its closest phrasing the text sounds."""
        scores = process.cdist([sounds_like(text, self.sounds)], self.spoken, scorer=fuzz.ratio)[0]
        best: dict[str, float] = defaultdict(float)
        for (intent, _), score in zip(self.rows, scores):
            best[intent] = max(best[intent], float(score) / 100)
        return best

    def place(self, found: Match, text: str) -> Match | None:
        """A better answer for text the words placed nowhere (`found`), or None. Unknown words may be a
        command (they move the steps, so they must sound close, BY_EAR_COMMAND_MIN); words about calf
        cramps like no answer (the relief steps by default) may be a question (BY_EAR_QUESTION_MIN). Either
        must sound clearly more like it than like its rival (BY_EAR_MARGIN; see `closest`)."""
        if len(sounds_like(text, self.sounds)) <= SHORT_WORD:  # too few sounds to tell apart ("sip", "siap")
            return None
        intent, likeness, margin = self.closest(found, text)
        needed = BY_EAR_COMMAND_MIN if found.intent == UNKNOWN else BY_EAR_QUESTION_MIN
        return Match(intent, round(likeness, 3)) if likeness >= needed and margin >= BY_EAR_MARGIN else None

    def closest(self, found: Match, text: str) -> tuple[str, float, float]:
        """(intent, likeness, margin over its rival): of the commands for unknown words, the closest and
        the next command its rival ("sudah apa": stop or next?); of the questions for words about calf
        cramps, the closest and the relief request its rival (a person in pain keeps the steps).
        Controls compete only off topic, as in Matcher.match."""
        likeness = self.likeness(text)
        if found.intent == UNKNOWN:
            candidates, rivals = COMMANDS, COMMANDS
        else:
            candidates, rivals = [i for i in likeness if i not in CONTROLS and i != RELIEF], frozenset({RELIEF})
        intent = max(candidates, key=likeness.__getitem__)
        rival = max(likeness[other] for other in rivals if other != intent)
        return intent, likeness[intent], likeness[intent] - rival


class Matcher:
    """Matches text to an intent of a knowledge base; build once, call `match` many times. With
    `by_ear` (a language), text the words place nowhere is also compared by sound with that language's
    phrasings (ByEar), if its vocabulary says how its letters sound."""

    def __init__(self, kb: KnowledgeBase, threshold: float = ACCEPT_THRESHOLD, by_ear: str | None = None) -> None:
        self.threshold = threshold
        self.by_ear = ByEar(kb, by_ear) if by_ear and kb.vocabularies[by_ear].sounds else None
        self.stemmer = stemmer = Stemmer(kb.words)
        self.words = words = WordSets.of(kb.words, stemmer)
        self.intents = sorted(intent for intent in kb.entries if intent != UNKNOWN)
        keywords = {intent: [" ".join(stemmer.stems(k)) for lang in entry.keywords
                             for k in entry.keywords[lang]] for intent, entry in kb.entries.items()}
        # Examples, grouped by intent. A keyword said on its own ("hentikan", "statins") is one too.
        examples = [(intent, stemmer.stems(text)) for intent in self.intents
                    for texts in kb.entries[intent].examples.values() for text in texts]
        examples += [(intent, k.split()) for intent in self.intents for k in keywords[intent]]
        examples = sorted(((intent, stems) for intent, stems in examples if stems), key=lambda e: e[0])
        rows_of = [self.intents.index(intent) for intent, _ in examples]
        self.intent_starts = np.searchsorted(rows_of, np.arange(len(self.intents)))
        self.vocabulary = sorted({s for _, stems in examples for s in stems})
        self.index = index = {word: i for i, word in enumerate(self.vocabulary)}
        self.vocabulary_lengths = np.array([len(w) for w in self.vocabulary])
        # Each known word's fuzzy neighbours, found once here rather than on every query.
        self.neighbours = dict(zip(self.vocabulary, self._find_neighbours(self.vocabulary)))
        # A word weighs by how few intents use it (inverse document frequency over intents).
        users: dict[str, set[str]] = defaultdict(set)
        for intent, stems in examples:
            for s in stems:
                users[s].add(intent)
        self.weight = {s: math.log(1 + len(self.intents) / len(users[s])) / math.log(1 + len(self.intents))
                       for s in self.vocabulary}
        # word_examples[v, e]: weight of vocabulary word v in example e (0 where absent)
        self.word_examples = np.zeros((len(self.vocabulary), len(examples)), dtype=np.float32)
        for column, (_, stems) in enumerate(examples):
            for s in stems:
                self.word_examples[index[s], column] = self.word_weight(s)
        self.example_totals = self.word_examples.sum(axis=0)
        self.word_present = (self.word_examples > 0).astype(np.float32)
        # word_keywords[v, i]: v is a one-word keyword of intent i; phrase_keywords: the longer ones.
        # A keyword several intents claim ("drink") is shared out among them, so it decides less.
        # Controls and health intents never compete on keywords, so each group shares out its own.
        claims: dict[tuple[str, bool], set[str]] = defaultdict(set)
        for intent in self.intents:
            for k in keywords[intent]:
                claims[k, intent in CONTROLS].add(intent)
        self.word_keywords = np.zeros((len(self.vocabulary), len(self.intents)), dtype=np.float32)
        self.phrase_keywords: dict[str, np.ndarray] = {}
        for row, intent in enumerate(self.intents):
            for k in keywords[intent]:
                share = 1.0 / len(claims[k, intent in CONTROLS])
                if " " in k:
                    self.phrase_keywords.setdefault(k, np.zeros(len(self.intents), np.float32))[row] = share
                else:
                    self.word_keywords[index[k], row] = share
        # lends[i, j]: how much a keyword of intent j counts for intent i; each cause_* borrows the
        # overview's question words, at half weight so a bare "why" still picks the overview.
        self.lends = np.eye(len(self.intents), dtype=np.float32)
        for row, intent in enumerate(self.intents):
            if is_cause(intent):
                self.lends[row, self.intents.index(CAUSES)] = BORROWED_SHARE
        self.control_rows = np.array([intent in CONTROLS for intent in self.intents])
        # yields[i, j]: intent i's keywords don't count when one of intent j's is said. "Ouch, why does my
        # calf cramp" asks why, so the relief steps yield to every question; "how do i prevent cramps
        # when i run" asks how to prevent them, so the causes yield to prevention.
        questions = {i for i in self.intents if i not in CONTROLS and i != RELIEF and not is_cause(i)}
        self.yields = np.array([[j in questions if i == RELIEF else is_cause(i) and j == PREVENTION
                                 for j in self.intents] for i in self.intents], dtype=np.float32)
        # Without a calf or cramp word, an utterance is still ours if it names a cause ("statins") or a
        # doctor, or asks why and names even an everyday cause ("is it because i ran too far").
        self.cause_rows = np.array([is_cause(intent) for intent in self.intents])
        self.topic_terms = frozenset(k for intent in self.intents for k in keywords[intent]
                                     if is_cause(intent) or intent == DOCTOR) - words.everyday
        self.why_terms = frozenset(keywords[CAUSES])
        self.longest_phrase = max(len(k.split()) for k in [*words.elsewhere, *self.phrase_keywords])

    def mentions(self, text: str) -> Mentions:
        """What the utterance names (the calf, the leg, a cramp), for the hands-free start rule."""
        stems = set(self.stemmer.stems(text))
        return Mentions(complaint=bool(stems & self.words.complaint), leg=bool(stems & self.words.legs),
                        cramp=bool(stems & self.words.cramps))

    def fit(self, text: str, intent: str) -> float:
        """How closely the words follow one of the intent's phrasings: its best example's F-measure,
        keywords aside (0 for `unknown` or no words). A grammar forces other people's talk onto the
        skill's words as a salad that names a topic but follows no phrasing; a request follows one."""
        stems = self.stemmer.stems(text)
        if intent not in self.intents or not stems:
            return 0.0
        examples, _, _ = self._evidence(stems, phrases(stems, self.longest_phrase))
        return float(examples[self.intents.index(intent)])

    def word_weight(self, stem_: str) -> float:
        """Filler words weigh little, domain words ("seized", "knot") at most a little more: they say the
        utterance is about cramps, not which answer it wants. Others weigh by how few intents use them;
        unfamiliar words fully."""
        if stem_ in self.words.filler:
            return FILLER_WEIGHT
        weight = self.weight.get(stem_, 1.0)
        return min(weight, DOMAIN_WEIGHT) if stem_ in self.words.domain else weight

    def match(self, text: str) -> Match:
        found = self.by_words(text)
        if self.by_ear is not None and self._unplaced(found):
            return self.by_ear.place(found, text) or found
        return found

    def by_words(self, text: str) -> Match:
        """The match by the words alone (never by ear). A cause matched on the complaint stated outright
        and a word or two more that neither ask nor tie it to a when or a why (_stated_before_stray_words)
        is the relief request, if the statement alone is: "my calf is cramping ninety" is a request the
        recogniser added a word to, not a question about age."""
        words = normalize(text)
        if not words:
            return Match(UNKNOWN, 0.0)
        stems = [self.stemmer.stem(w) for w in words]
        found = self._by_stems(stems)
        if not is_cause(found.intent):  # only a cause: a word like "serious" asks what a cramp is
            return found
        stated = self._stated_before_stray_words(stems)
        if stated is not None and (statement := self._by_stems(stated)).intent == RELIEF:
            return statement
        return found

    def _stated_before_stray_words(self, stems: list[str]) -> list[str] | None:
        """The words up to where the complaint is first stated outright (a calf or leg word and a cramp
        word), if one to STRAY_WORDS words follow it, none of them `asking`, and it does not start with
        one ("do calves cramp ..."); else None."""
        if not stems or stems[0] in self.words.asking:
            return None
        leg = cramp = False
        for end, stem_ in enumerate(stems, 1):
            leg, cramp = leg or stem_ in self.words.legs, cramp or stem_ in self.words.cramps
            if leg and cramp:
                rest = stems[end:]
                return stems[:end] if 0 < len(rest) <= STRAY_WORDS and not set(rest) & self.words.asking else None
        return None

    def _by_stems(self, stems: list[str]) -> Match:
        said = phrases(stems, self.longest_phrase)
        if said & self.words.elsewhere and not said & self.words.legs:
            return Match(UNKNOWN, 1.0)
        examples, word_keywords, phrase_keywords = self._evidence(stems, said)
        if len(stems) > CONTROL_KEYWORD_WORDS:  # a lone "stop" in "how do i stop hiccups" is no command
            word_keywords = np.where(self.control_rows, LONG_CONTROL_SHARE * word_keywords, word_keywords)
        keywords = word_keywords + phrase_keywords
        keywords = np.where(self.yields @ (keywords > 0) > 0, 0.0, keywords)
        in_domain = bool(said & self.words.domain)
        on_topic = (in_domain or bool(said & self.topic_terms)
                    or bool(said & self.why_terms and keywords[self.cause_rows].any())
                    or bool(said & self.words.this and (said & self.why_terms or keywords[self.intents.index(PREVENTION)] > 0)))
        candidates = ~self.control_rows if on_topic else self.control_rows
        scores = np.where(candidates, examples + KEYWORD_BONUS * (self.lends @ keywords), -1.0)
        best = int(scores.argmax())
        confidence = float(min(1.0, scores[best]))
        if in_domain and confidence < RELIEF_FLOOR:
            return Match(RELIEF, RELIEF_FLOOR)  # about calf cramps, but like no answer in particular
        if not in_domain and confidence < self.threshold:
            return Match(UNKNOWN, round(1.0 - max(confidence, 0.0), 3))
        return Match(self.intents[best], round(confidence, 3))

    def unplaced(self, text: str) -> bool:
        """The words name no answer by their phrasing: `unknown`, or about calf cramps but like no answer
        (the relief steps by default). A recogniser may listen again for something better."""
        return self._unplaced(self.by_words(text))

    @staticmethod
    def _unplaced(match: Match) -> bool:
        return match.intent == UNKNOWN or (match.intent == RELIEF and match.confidence <= RELIEF_FLOOR)

    def _evidence(self, stems: list[str], said: set[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per intent: its best example's F-measure, and its keywords said (words, phrases)."""
        none = np.zeros(len(self.intents), dtype=np.float32)
        phrase_keywords = sum((self.phrase_keywords[p] for p in said if p in self.phrase_keywords), none)
        columns, sim = self._word_similarity(stems)  # the vocabulary words touched, and how closely
        if columns.size == 0:
            return none, none, phrase_keywords
        # precision: each query word's match within the example (its best, as a word rarely has two
        # neighbours in one example), weighted by the query word
        query_weights = np.array([self.word_weight(s) for s in stems], dtype=np.float32)
        per_word = np.minimum(sim @ self.word_present[columns], 1.0)  # (query words, examples)
        precision = query_weights @ per_word / query_weights.sum()
        # recall: each example word's best match in the query, weighted by the example word
        recall = sim.max(axis=0) @ self.word_examples[columns] / self.example_totals
        f_scores = 2 * precision * recall / (precision + recall + 1e-9)
        examples = np.maximum.reduceat(f_scores, self.intent_starts)  # examples are sorted by intent
        # one-word keywords: each query word counts once per intent, for its best keyword match
        close = np.where(sim >= KEYWORD_CUTOFF, sim, 0.0)
        hits = self.word_keywords[columns].T[:, None, :] * close[None, :, :]  # (intents, query, touched)
        word_keywords = hits.max(axis=2).sum(axis=1)
        return examples, word_keywords, phrase_keywords

    def _word_similarity(self, stems: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The vocabulary words like the query's words, and (query words, those words) similarity."""
        unknown = [s for s in stems if s not in self.neighbours]
        fresh = dict(zip(unknown, self._find_neighbours(unknown))) if unknown else {}
        matches = [self.neighbours.get(s) or fresh[s] for s in stems]
        columns = np.unique(np.concatenate([cols for cols, _ in matches]))
        sim = np.zeros((len(stems), len(columns)), dtype=np.float32)
        for row, (cols, values) in enumerate(matches):
            sim[row, np.searchsorted(columns, cols)] = values
        return columns, sim

    def _find_neighbours(self, stems: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per stem, the vocabulary words like it (indices) and how alike, in (0, 1]: rapidfuzz's
        ratio, but exact for short words."""
        found = []
        for stem_, row in zip(stems, process.cdist(stems, self.vocabulary, scorer=fuzz.ratio,
                                                   score_cutoff=WORD_MATCH_CUTOFF, dtype=np.uint8)):
            cols = np.flatnonzero(row)
            exact = row[cols] == 100
            keep = exact | ((len(stem_) > SHORT_WORD) & (self.vocabulary_lengths[cols] > SHORT_WORD))
            found.append((cols[keep], row[cols[keep]].astype(np.float32) / 100.0))
        return found
