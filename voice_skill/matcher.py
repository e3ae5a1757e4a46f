"""Text to intent: which answer does what the person said ask for?

Three kinds of evidence, all from the knowledge base except the short word lists below:
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
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from voice_skill.knowledge import CONTROL_INTENTS, KnowledgeBase

UNKNOWN = "unknown"
RELIEF = "cramp_relief"
DOCTOR = "see_doctor"
PREVENTION = "prevention"
CAUSES = "causes"
CAUSE_PREFIX = "cause_"
CONTROLS = frozenset(CONTROL_INTENTS) - {UNKNOWN}

ACCEPT_THRESHOLD = 0.65  # off topic, an answer scoring below this is `unknown`
RELIEF_FLOOR = 0.5  # on topic, when every answer scores below this: the relief steps
KEYWORD_BONUS = 0.4  # added to an intent's score per keyword said
BORROWED_SHARE = 0.5  # of a `causes` keyword, for each cause_* entry
CONTROL_KEYWORD_WORDS = 3  # a control word counts fully only in an utterance this short ("stop talking")
LONG_CONTROL_SHARE = 0.5  # and this much in a longer one
WORD_MATCH_CUTOFF = 82  # rapidfuzz ratio (0-100) below which two words count as different
KEYWORD_CUTOFF = 0.88  # keywords decide a lot, so they must match closer ("sudah" is not "sesudah")
SHORT_WORD = 5  # words this short must match exactly: one letter makes "old" "cold", "light" "flight"

# Words that make an utterance about calf cramps even when it is like no example. Pain words count:
# someone saying "it hurts" to a calf-cramp skill most likely has a cramp right now.
DOMAIN_WORDS = """
    calf calves cramp leg charley spasm spasming knot knotted seize seized muscle
    hurt hurting pain painful ache aching ouch ow
    betis kram kejang kaki otot ketarik sakit nyeri aduh
""".split()
# The calf and leg: naming them keeps an utterance in the domain whatever else it mentions.
LEG_WORDS = "calf calves leg legs shin betis kaki".split()
# What a request must name to start the hands-free skill from idle: with no wake word, the cramp
# request itself is the trigger, and a cause word alone ("overuse") is too easily overheard.
# "Leg" alone is not enough: overheard talk came out as "long walks leg when i today" (soak test).
TRIGGER_WORDS = "calf calves cramp cramps cramping cramped charley spasm betis kram keram".split()

# A leg word and one of these, said together, state the complaint outright ("my calf just seized
# up"), however unlike any example the rest of the sentence is.
CRAMP_WORDS = "cramp charley spasm seize seized knot knotted kram keram kejang".split()

# Other body parts and other cramps: not this skill's business (unless a leg is named too).
# "back" only with a possessive, so that "stop cramps coming back" stays in the domain.
OTHER_BODY_PARTS = """
    head headache stomach stomachache tummy belly abdomen period menstrual menstruation pms hand
    finger thumb wrist arm elbow shoulder backache neck throat chest tooth toothache teeth toe toes
    jaw eye ear nose knee ankle hip thigh groin
    kepala pusing perut haid menstruasi tangan jari pergelangan lengan siku bahu pundak punggung
    pinggang leher tenggorokan dada gigi rahang mata telinga hidung lutut paha
""".split() + ["my back", "the back", "lower back", "back pain", "my side", "datang bulan"]

# Keywords that are everyday words: "how old are you", "i need a drink of water", "play music while i
# exercise" are not about cramps, so without a calf or cramp word these need a "why" to count.
EVERYDAY_WORDS = """
    run running jog jogging exercise exercising workout gym training trained sport sports tired
    exhausted hike hiking cycling cycled marathon overworking football soccer tennis basketball
    weights swimming dancing sit sitting stand standing desk computer seated hours flight plane drive
    driving water drink drinking fluid fluids sweat sweating sweated hydrated hydration age older old
    elderly aging ageing senior seniors sixty seventy eighty ninety grandmother grandfather grandma
    grandpa retired medicine medicines medication medications pills drugs tablets prescription
    prescribed diet dieting banana bananas salt supplement supplements vitamin expecting
    lari olahraga berolahraga latihan capek capai kecapekan lelah sepeda bola fitness renang futsal
    badminton duduk berdiri kantor meja seharian pesawat perjalanan minum air cairan haus keringat tua
    umur usia nenek kakek manula obat pil resep pisang garam suplemen
""".split() + ["all day", "long time", "on my feet", "warm up", "warming up", "working out", "air putih",
               "long walk", "long walks", "jalan jauh", "years old", "sixties", "seventies", "eighties"]

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
DOMAIN_WEIGHT = 0.3  # the most a domain word weighs (see word_weight)

# Irregular and colloquial forms the fuzzy ratio alone would miss, mapped to one spelling.
WORD_FORMS = {
    "calves": "calf", "legs": "leg", "arms": "arm", "eyes": "eye", "ears": "ear", "hips": "hip",
    "feet": "foot", "crampy": "cramp", "ran": "run", "stood": "stand", "sat": "sit", "drank": "drink",
    "drunk": "drink", "meds": "medication", "keram": "kram", "betisku": "betis", "nggak": "tidak",
    "gak": "tidak", "ga": "tidak", "enggak": "tidak", "tak": "tidak", "gimana": "bagaimana",
    "habis": "setelah", "abis": "setelah", "sesudah": "setelah", "gara": "karena", "keringetan": "keringat",
    "berkeringat": "keringat",
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


@functools.lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """A light stemmer for English and Indonesian endings, enough to line up word forms."""
    for _ in range(2):  # twice, so "sesudahnya" -> "sesudah" -> "setelah" ends where "setelah" does
        word = WORD_FORMS.get(word, word)
        for suffix in SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                word = word[: -len(suffix)]
                break
    return word[:-1] if word.endswith("e") and len(word) >= 5 else word  # "cause" like "caus-ing"


def phrases(stems: list[str], longest: int) -> set[str]:
    """Every run of up to `longest` stems, space-joined: what word and phrase lists are checked against."""
    return {" ".join(stems[i:i + n]) for n in range(1, longest + 1) for i in range(len(stems) - n + 1)}


def _stemmed(words: list[str]) -> frozenset[str]:
    return frozenset(" ".join(stem(w) for w in normalize(phrase)) for phrase in words)


DOMAIN = _stemmed(DOMAIN_WORDS)
LEGS = _stemmed(LEG_WORDS)
ELSEWHERE = _stemmed(OTHER_BODY_PARTS)
FILLER = _stemmed(FILLER_WORDS)
EVERYDAY = _stemmed(EVERYDAY_WORDS)


TRIGGERS = _stemmed(TRIGGER_WORDS)
# "Why does this happen?": said to a calf-cramp skill, "this" is the cramp.
THIS = _stemmed(["this", "these", "ini"])
CRAMPS = _stemmed(CRAMP_WORDS)


@dataclass(frozen=True)
class Mentions:
    """What an utterance names, as the hands-free loop's start rule needs it."""

    complaint: bool  # a calf or a cramp: enough to wake the skill
    leg: bool  # the calf or the leg
    cramp: bool  # a cramp, spasm, knot or seizing up


def mentions(text: str) -> Mentions:
    stems = {stem(w) for w in normalize(text)}
    return Mentions(complaint=bool(stems & TRIGGERS), leg=bool(stems & LEGS), cramp=bool(stems & CRAMPS))


def is_cause(intent: str) -> bool:
    return intent.startswith(CAUSE_PREFIX)


def word_weight(stem_: str, weights: dict[str, float]) -> float:
    """Filler words weigh little, domain words ("seized", "knot") at most a little more: they say the
    utterance is about cramps, not which answer it wants. Others weigh by how few intents use them;
    unfamiliar words fully."""
    if stem_ in FILLER:
        return FILLER_WEIGHT
    return min(weights.get(stem_, 1.0), DOMAIN_WEIGHT) if stem_ in DOMAIN else weights.get(stem_, 1.0)


class Matcher:
    """Matches text to an intent of a knowledge base; build once, call `match` many times."""

    def __init__(self, kb: KnowledgeBase, threshold: float = ACCEPT_THRESHOLD) -> None:
        self.threshold = threshold
        self.intents = sorted(intent for intent in kb.entries if intent != UNKNOWN)
        keywords = {intent: [" ".join(stem(w) for w in normalize(k)) for lang in entry.keywords
                             for k in entry.keywords[lang]] for intent, entry in kb.entries.items()}
        # Examples, grouped by intent. A keyword said on its own ("hentikan", "statins") is one too.
        examples = [(intent, [stem(w) for w in normalize(text)]) for intent in self.intents
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
                self.word_examples[index[s], column] = word_weight(s, self.weight)
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
                                     if is_cause(intent) or intent == DOCTOR) - EVERYDAY
        self.why_terms = frozenset(keywords[CAUSES])
        self.longest_phrase = max(len(k.split()) for k in [*ELSEWHERE, *self.phrase_keywords])

    def mentions(self, text: str) -> Mentions:
        """What the utterance names (the calf, the leg, a cramp), for the hands-free start rule."""
        return mentions(text)

    def match(self, text: str) -> Match:
        words = normalize(text)
        if not words:
            return Match(UNKNOWN, 0.0)
        stems = [stem(w) for w in words]
        said = phrases(stems, self.longest_phrase)
        if said & ELSEWHERE and not said & LEGS:
            return Match(UNKNOWN, 1.0)
        examples, word_keywords, phrase_keywords = self._evidence(stems, said)
        if len(words) > CONTROL_KEYWORD_WORDS:  # a lone "stop" in "how do i stop hiccups" is no command
            word_keywords = np.where(self.control_rows, LONG_CONTROL_SHARE * word_keywords, word_keywords)
        keywords = word_keywords + phrase_keywords
        keywords = np.where(self.yields @ (keywords > 0) > 0, 0.0, keywords)
        in_domain = bool(said & DOMAIN)
        on_topic = (in_domain or bool(said & self.topic_terms)
                    or bool(said & self.why_terms and keywords[self.cause_rows].any())
                    or bool(said & THIS and (said & self.why_terms or keywords[self.intents.index("prevention")] > 0)))
        candidates = ~self.control_rows if on_topic else self.control_rows
        scores = np.where(candidates, examples + KEYWORD_BONUS * (self.lends @ keywords), -1.0)
        best = int(scores.argmax())
        confidence = float(min(1.0, scores[best]))
        if in_domain and confidence < RELIEF_FLOOR:
            return Match(RELIEF, RELIEF_FLOOR)  # about calf cramps, but like no answer in particular
        if not in_domain and confidence < self.threshold:
            return Match(UNKNOWN, round(1.0 - max(confidence, 0.0), 3))
        return Match(self.intents[best], round(confidence, 3))

    def _evidence(self, stems: list[str], said: set[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per intent: its best example's F-measure, and its keywords said (words, phrases)."""
        none = np.zeros(len(self.intents), dtype=np.float32)
        phrase_keywords = sum((self.phrase_keywords[p] for p in said if p in self.phrase_keywords), none)
        columns, sim = self._word_similarity(stems)  # the vocabulary words touched, and how closely
        if columns.size == 0:
            return none, none, phrase_keywords
        # precision: each query word's match within the example (its best, as a word rarely has two
        # neighbours in one example), weighted by the query word
        query_weights = np.array([word_weight(s, self.weight) for s in stems], dtype=np.float32)
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
