"""Text to intent: which answer does what the person said ask for?

Three kinds of evidence, all from the knowledge base except the short word lists below:
- Example phrasings: the query is compared word by word with every example of every intent. Words
  are matched fuzzily with rapidfuzz (so "cramps", "cramping" and a recogniser's near-miss line up)
  and the match is scored as a weighted F-measure of how much of the query the example explains and
  how much of the example the query covers. A word weighs by how few intents use it: "pregnant"
  fully, "calf" and "cramp" (in nearly every example) little, filler words least.
- Keywords: a keyword of an intent ("statins", "why", "prevent", or a phrase like "what is") names
  the topic or the kind of question outright, so each one named adds a large bonus. The overview
  `causes` lends its question words to every `cause_*` entry, so "why do pregnant women cramp"
  scores "why" and "pregnant" for cause_pregnancy but only "why" for the overview.
- Topic: an utterance is about calf cramps if it names the calf, a cramp, pain or a health keyword.
  About another body part ("my stomach cramps") it is `unknown`. About calf cramps but like no
  example, it goes to `cramp_relief`: most likely someone in pain right now. The controls (next,
  repeat, stop, help) only compete when the utterance is not about calf cramps, so "how do i stop a
  calf cramp" is never the command "stop".
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from voice_skill.knowledge import CONTROL_INTENTS, KnowledgeBase

UNKNOWN = "unknown"
RELIEF = "cramp_relief"
DOCTOR = "see_doctor"
CAUSES = "causes"
CAUSE_PREFIX = "cause_"
CONTROLS = frozenset(CONTROL_INTENTS) - {UNKNOWN}

ACCEPT_THRESHOLD = 0.62
RELIEF_FLOOR = 0.62  # about calf cramps but scoring below this for everything: the relief steps
KEYWORD_BONUS = 0.3
BORROWED_SHARE = 0.5
CONTROL_KEYWORD_WORDS = 3  # a control keyword counts only in an utterance this short ("stop talking")
WORD_MATCH_CUTOFF = 82  # rapidfuzz ratio (0-100) below which two words count as different
KEYWORD_CUTOFF = 0.88  # keywords decide a lot, so they must match closer ("sudah" is not "sesudah")
SHORT_WORD = 5  # words this short must match exactly: one letter turns "old" into "cold", "light" into "flight"
LONGEST_PHRASE = 3  # words in the longest keyword or body-part phrase

# Words that make an utterance about calf cramps even when it is like no example. Pain words count:
# someone saying "it hurts" to a calf-cramp skill most likely has a cramp right now.
DOMAIN_WORDS = """
    calf calves cramp leg charley spasm spasming knot knotted seize seized muscle
    hurt hurting pain painful ache aching ouch ow
    betis kram kejang kaki otot ketarik sakit nyeri aduh
""".split()
# The calf and leg: naming them keeps an utterance in the domain whatever else it mentions.
LEG_WORDS = "calf calves leg legs shin betis kaki".split()
# Other body parts: a cramp or pain there is not this skill's business (unless a leg is named too).
# "back" only with a possessive, so that "stop cramps coming back" stays in the domain.
OTHER_BODY_PARTS = """
    head headache stomach stomachache tummy belly abdomen period hand finger thumb wrist arm elbow
    shoulder backache neck throat chest tooth toothache teeth jaw eye ear nose knee ankle hip thigh
    groin kepala pusing perut haid tangan jari pergelangan lengan siku bahu pundak punggung pinggang
    leher tenggorokan dada gigi rahang mata telinga hidung lutut paha
""".split() + ["my back", "the back", "lower back"]

# Words that carry little meaning on their own: they still count, but lightly.
FILLER_WORDS = (
    """
    a an the i im me my mine is am are was were be been being do does did doing to of in on at for
    it its this that these those and or so um uh er ah oh hey hi okay ok please just like really very
    can could would should will shall you your yours we our us he she they them his her their have
    has had get got with about from by as if then than there here some any all also now right well
    yeah yes no not dont cant ive id ill
    saya aku ku kamu anda yang di ke dari ini itu dan atau ada untuk dengan kok sih ya nih dong deh
    tolong bisa kalau jika apa kah lah pun juga sudah udah lagi mau akan sedang sangat banget nya
    """.split()
)
FILLER_WEIGHT = 0.15

# Irregular and colloquial forms the fuzzy ratio alone would miss, mapped to one spelling.
WORD_FORMS = {
    "calves": "calf", "feet": "foot", "crampy": "cramp", "ran": "run", "stood": "stand", "sat": "sit",
    "drank": "drink", "drunk": "drink", "meds": "medication", "keram": "kram", "betisku": "betis",
    "nggak": "tidak", "gak": "tidak", "ga": "tidak", "enggak": "tidak", "tak": "tidak",
    "gimana": "bagaimana", "habis": "setelah", "abis": "setelah", "sesudah": "setelah",
    "gara": "karena", "keringetan": "keringat", "berkeringat": "keringat",
}
# English, then Indonesian; not "-kan", which would make "meredakan" (relieve) "mereda" (it eased).
SUFFIXES = ("ing", "es", "ed", "s", "nya", "ku", "mu", "lah", "kah")


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


def stem(word: str) -> str:
    """A light stemmer for English and Indonesian endings, enough to line up word forms."""
    for _ in range(2):  # twice, so "sesudahnya" -> "sesudah" -> "setelah" ends where "setelah" does
        word = WORD_FORMS.get(word, word)
        for suffix in SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                word = word[: -len(suffix)]
                break
    return word[:-1] if word.endswith("e") and len(word) >= 5 else word  # "cause" like "caus-ing"


def phrases(stems: list[str]) -> set[str]:
    """Every run of up to LONGEST_PHRASE stems, space-joined: what phrase lists are checked against."""
    return {" ".join(stems[i:i + n]) for n in range(1, LONGEST_PHRASE + 1) for i in range(len(stems) - n + 1)}


def _stemmed(words: list[str]) -> frozenset[str]:
    return frozenset(" ".join(stem(w) for w in normalize(phrase)) for phrase in words)


DOMAIN = _stemmed(DOMAIN_WORDS)
LEGS = _stemmed(LEG_WORDS)
ELSEWHERE = _stemmed(OTHER_BODY_PARTS)
FILLER = _stemmed(FILLER_WORDS)


def word_weight(stem_: str, weights: dict[str, float]) -> float:
    """Filler words weigh little; others by how few intents use them; unfamiliar words fully."""
    return FILLER_WEIGHT if stem_ in FILLER else weights.get(stem_, 1.0)


class Matcher:
    """Matches text to an intent of a knowledge base; build once, call `match` many times."""

    def __init__(self, kb: KnowledgeBase, threshold: float = ACCEPT_THRESHOLD,
                 relief_floor: float = RELIEF_FLOOR, keyword_bonus: float = KEYWORD_BONUS) -> None:
        self.threshold = threshold
        self.relief_floor = relief_floor
        self.keyword_bonus = keyword_bonus
        self.intents = sorted(intent for intent in kb.entries if intent != UNKNOWN)
        keywords = {intent: [" ".join(stem(w) for w in normalize(k)) for lang in entry.keywords
                             for k in entry.keywords[lang]] for intent, entry in kb.entries.items()}
        examples = [(entry.intent, [stem(w) for w in normalize(text)]) for entry in kb.entries.values()
                    for lang in entry.examples for text in entry.examples[lang]]
        # A control keyword said on its own ("hentikan", "never mind") is also an example.
        examples += [(intent, k.split()) for intent in CONTROLS for k in keywords[intent]]
        examples = [(intent, stems) for intent, stems in examples if stems]
        self.vocabulary = sorted({s for _, stems in examples for s in stems} | {
            k for ks in keywords.values() for k in ks if " " not in k})
        index = {word: i for i, word in enumerate(self.vocabulary)}
        self.vocabulary_lengths = np.array([len(w) for w in self.vocabulary])
        # A word weighs by how few intents use it (inverse document frequency over intents).
        users: dict[str, set[str]] = defaultdict(set)
        for intent, stems in examples:
            for s in stems:
                users[s].add(intent)
        self.weight = {s: self._idf(len(users[s]), len(self.intents)) for s in self.vocabulary}
        self.example_rows = np.array([self.intents.index(intent) for intent, _ in examples])
        # example_weights[e, v]: weight of vocabulary word v in example e (0 where absent)
        self.example_weights = np.zeros((len(examples), len(self.vocabulary)), dtype=np.float32)
        for row, (_, stems) in enumerate(examples):
            for s in stems:
                self.example_weights[row, index[s]] = word_weight(s, self.weight)
        self.example_totals = self.example_weights.sum(axis=1)
        # word_keywords[i, v]: v is a one-word keyword of intent i; phrase_keywords: the longer ones.
        # A keyword several intents claim ("drink") is shared out among them, so it decides less.
        # Controls and health intents never compete on keywords, so each group shares out its own.
        claims: dict[tuple[str, bool], set[str]] = defaultdict(set)
        for intent in self.intents:
            for k in keywords[intent]:
                claims[k, intent in CONTROLS].add(intent)
        self.word_keywords = np.zeros((len(self.intents), len(self.vocabulary)), dtype=np.float32)
        self.phrase_keywords: dict[str, np.ndarray] = {}
        for row, intent in enumerate(self.intents):
            for k in keywords[intent]:
                share = 1.0 / len(claims[k, intent in CONTROLS])
                if " " in k:
                    self.phrase_keywords.setdefault(k, np.zeros(len(self.intents), dtype=np.float32))[row] = share
                else:
                    self.word_keywords[row, index[k]] = share
        # lends[i, j]: how much a keyword of intent j counts for intent i; each cause_* borrows the
        # overview's question words, at half weight so a bare "why" still picks the overview.
        self.lends = np.eye(len(self.intents), dtype=np.float32)
        for row, intent in enumerate(self.intents):
            if intent.startswith(CAUSE_PREFIX):
                self.lends[row, self.intents.index(CAUSES)] = BORROWED_SHARE
        self.control_rows = np.array([intent in CONTROLS for intent in self.intents])
        self.standalone_rows = np.array([intent.startswith(CAUSE_PREFIX) or intent == DOCTOR for intent in self.intents])

    @staticmethod
    def _idf(users: int, intents: int) -> float:
        return math.log(1 + intents / max(users, 1)) / math.log(1 + intents)

    def match(self, text: str) -> Match:
        words = normalize(text)
        if not words:
            return Match(UNKNOWN, 0.0)
        stems = [stem(w) for w in words]
        said = phrases(stems)
        if said & ELSEWHERE and not said & LEGS:
            return Match(UNKNOWN, 1.0)
        examples, word_keywords, phrase_keywords = self._evidence(stems, said)
        if len(words) > CONTROL_KEYWORD_WORDS:  # a lone "stop" in "how do i stop hiccups" is no command
            word_keywords = np.where(self.control_rows, 0.0, word_keywords)
        own = word_keywords + phrase_keywords
        scores = examples + self.keyword_bonus * (self.lends @ own)
        in_domain = bool(said & DOMAIN)
        on_topic = in_domain or bool((own * self.standalone_rows).any())
        scores = np.where(self.control_rows == on_topic, -1.0, scores)
        best = int(scores.argmax())
        confidence = float(min(1.0, scores[best]))
        if in_domain and confidence < self.relief_floor:
            return Match(RELIEF, round(self.relief_floor, 3))  # about calf cramps, like nothing else
        if not in_domain and confidence < self.threshold:
            return Match(UNKNOWN, round(1.0 - max(confidence, 0.0), 3))
        return Match(self.intents[best], round(confidence, 3))

    def _evidence(self, stems: list[str], said: set[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per intent: the best example's F-measure, and how many of its keywords (words, phrases) are said."""
        none = np.zeros(len(self.intents), dtype=np.float32)
        phrase_keywords = sum((self.phrase_keywords[p] for p in said if p in self.phrase_keywords), none)
        similarity = self._word_similarity(stems)  # (query words, vocabulary)
        columns = np.flatnonzero(similarity.any(axis=0))  # the few vocabulary words the query touches
        if columns.size == 0:
            return none, none, phrase_keywords
        sim = similarity[:, columns]  # (query words, touched words)
        # precision: each query word's best match within the example, weighted by the query word
        query_weights = np.array([word_weight(s, self.weight) for s in stems], dtype=np.float32)
        present = self.example_weights[:, columns] > 0  # (examples, touched words)
        per_word = np.where(present[:, None, :], sim[None, :, :], 0.0).max(axis=2)  # (examples, query words)
        precision = per_word @ query_weights / query_weights.sum()
        # recall: each example word's best match in the query, weighted by the example word
        recall = self.example_weights[:, columns] @ sim.max(axis=0) / self.example_totals
        f_scores = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall + 1e-9), 0.0)
        examples = none.copy()
        np.maximum.at(examples, self.example_rows, f_scores)
        # one-word keywords: each query word counts once per intent, for its best keyword match
        close = np.where(sim >= KEYWORD_CUTOFF, sim, 0.0)
        word_keywords = (self.word_keywords[:, None, columns] * close[None, :, :]).max(axis=2).sum(axis=1)
        return examples, word_keywords, phrase_keywords

    def _word_similarity(self, stems: list[str]) -> np.ndarray:
        raw = process.cdist(stems, self.vocabulary, scorer=fuzz.ratio, score_cutoff=WORD_MATCH_CUTOFF,
                            dtype=np.uint8).astype(np.float32) / 100.0
        lengths = np.array([len(s) for s in stems])
        short = np.minimum(lengths[:, None], self.vocabulary_lengths[None, :]) <= SHORT_WORD
        return np.where(short & (raw < 1.0), 0.0, raw)
