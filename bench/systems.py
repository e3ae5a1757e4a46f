"""The systems under test, each behind one small interface: fed 100 ms chunks of 16 kHz audio as a
microphone delivers them, each says when it would answer, and with which intent.

- skill-default: the skill as shipped: Vosk small model, knowledge-base grammar, and the real
  hands-free loop (voice_skill.listen.HandsFree) with its early endpointing and its start rule.
- skill-no-early-endpoint: the same loop, but utterances end only when Vosk's own endpointer says.
- vosk-naive: the same model with its full vocabulary; Vosk's endpointer, transcript, matcher.
- pocketsphinx-kws / pocketsphinx-jsgf: PocketSphinx 5 (its bundled US-English model) with its
  voice-activity endpointer, spotting the knowledge base's keywords or decoding against a grammar
  of its example phrasings; what it heard goes through the same matcher.
The skill systems answer (or not) by HandsFree's own rules. A peer answers an utterance whose match
is not `unknown` and has confidence >= START_CONFIDENCE from idle (the matcher's threshold
mid-conversation, as HandsFree does for "next" or "stop").
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from voice_skill import knowledge
from voice_skill.audio_in import SAMPLE_RATE
from voice_skill.conversation import Conversation
from voice_skill.endpoint import QuietDetector
from voice_skill.knowledge import KnowledgeBase
from voice_skill.listen import HandsFree, PrintOnly
from voice_skill.matcher import UNKNOWN, Match, Matcher
from voice_skill.recognizer import Heard, Recognizer, find_model, grammar_phrases, load_model
from voice_skill.tuning import START_CONFIDENCE

SYSTEMS = ("skill-default", "skill-no-early-endpoint", "vosk-naive", "pocketsphinx-kws", "pocketsphinx-jsgf")
PS_MODES = ("pocketsphinx-kws", "pocketsphinx-jsgf")
CONTROL_INTENTS = ("next", "repeat", "stop", "help")  # tested mid-conversation, where they belong
START_LINE = "my calf is cramping"  # what puts the conversation mid-relief before a control is heard
BYTES_PER_S = SAMPLE_RATE * 2
# PocketSphinx's default of up to 30,000 HMMs a frame ran the grammar at 0.9x real time here;
# 3,000 halves that for about the same accuracy (37% and 36% on a third of the clean set).
PS_MAX_HMM_PER_FRAME = 3000
# Keyword spotting, tried on a third of the clean set: thresholds 1e-(k x phones) for k from 0.25 to
# 3 and minimum lengths of 4 to 6 phones all scored 22-28%; shorter keywords ("ow", "eh") fire on
# almost any speech. Threshold 1e-(phones): a longer phrase may match more loosely.
PS_KWS_MIN_PHONES = 4
PS_KWS_EXPONENT_PER_PHONE = 1.0


@dataclass(frozen=True)
class Answer:
    intent: str
    confidence: float
    heard: str
    note: dict | None = None  # what the recogniser measured of the utterance answered, for digging


class System(Protocol):
    heard: list[str]  # what the recogniser made of each utterance in this trial (for the report)

    def reset(self, active: bool) -> None:
        """A new trial: idle, or (active) mid-way through the relief steps."""

    def feed(self, chunk: bytes) -> Answer | None:
        """Hear one chunk; an Answer when the system would now speak."""


def would_answer(match: Match, matcher: Matcher, active: bool) -> bool:
    """The peers' rule: from idle a weaker match is likelier overheard talk than a request."""
    needed = matcher.threshold if active else START_CONFIDENCE
    return match.intent != UNKNOWN and match.confidence >= needed


class VoskEndpointOnly(QuietDetector):
    """Never declares the speaker quiet, so HandsFree waits for Vosk's own endpoint."""

    @property
    def speech_ended(self) -> bool:
        return False


class NotingRecognizer(Recognizer):
    """The skill's recogniser, noting each utterance it finishes, so a miss can be explained."""

    def __init__(self, model, grammar: list[str] | None) -> None:
        super().__init__(model, grammar)
        self.heard: list[str] = []

    def accept(self, chunk: bytes) -> Heard:
        heard = super().accept(chunk)
        if heard.final and heard.text:
            self.heard.append(heard.text)
        return heard

    def finish(self) -> str:
        text = super().finish()
        if text:
            self.heard.append(text)
        return text

    def note(self) -> dict:
        """The last finished utterance's words (start, end, confidence, level in dB) and how far each
        word on stood out from what came before it (Recognizer.prominences_db), for digging."""
        prominences = self.prominences_db() or []
        return {"words": [[w["word"], round(w["start"], 2), round(w["end"], 2), round(w.get("conf", 1.0), 2),
                           round(w["level"], 1)] for w in self.last_words],
                "prominences": [round(p, 1) for p in prominences]}


class Skill:
    """The real hands-free loop over the grammar recogniser, with a virtual clock (audio time)."""

    def __init__(self, kb: KnowledgeBase, matcher: Matcher, early_endpoint: bool) -> None:
        model = load_model(find_model())
        self.kb, self.matcher, self.early = kb, matcher, early_endpoint
        self.recognizer = NotingRecognizer(model, grammar_phrases(kb, model))
        self.heard = self.recognizer.heard
        self.now = 1000.0  # well past PrintOnly's last sound, so the loop is never deaf to its echo
        self.reset(False)

    def reset(self, active: bool) -> None:
        self.recognizer.reset()
        self.heard.clear()
        conversation = Conversation(self.kb, hands_free=True, matcher=self.matcher)
        self.loop = HandsFree(self.recognizer, conversation, PrintOnly(), emit=lambda _: None, clock=lambda: self.now)
        if not self.early:
            self.loop.quiet = VoskEndpointOnly()
        if active:
            conversation.hear(START_LINE, at=self.now)

    def feed(self, chunk: bytes) -> Answer | None:
        self.now += len(chunk) / BYTES_PER_S
        exchange = self.loop.feed(chunk)
        if exchange is None:
            return None
        return Answer(exchange.match.intent, exchange.match.confidence, exchange.text, self.recognizer.note())


class VoskNaive:
    """Full-vocabulary Vosk; each utterance Vosk finalises is matched."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self.recognizer = Recognizer(load_model(find_model()), None)
        self.active = False
        self.heard: list[str] = []

    def reset(self, active: bool) -> None:
        self.recognizer.reset()
        self.active = active
        self.heard = []

    def feed(self, chunk: bytes) -> Answer | None:
        heard = self.recognizer.accept(chunk)
        if not (heard.final and heard.text):
            return None
        self.heard.append(heard.text)
        match = self.matcher.match(heard.text)
        return Answer(match.intent, match.confidence, heard.text) if would_answer(match, self.matcher, self.active) else None


class PocketSphinx:
    """PocketSphinx's endpointer cuts utterances out of the stream; each one is decoded whole (kws:
    every keyphrase spotted in it, in order) and matched."""

    def __init__(self, kb: KnowledgeBase, matcher: Matcher, mode: str) -> None:
        from pocketsphinx import Decoder

        self.matcher = matcher
        self.decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL", maxhmmpf=PS_MAX_HMM_PER_FRAME)
        self.kws = mode == "pocketsphinx-kws"
        if self.kws:
            with tempfile.TemporaryDirectory() as tmp:  # add_kws reads its list from a file
                path = Path(tmp) / "keyphrases.txt"
                path.write_text("".join(f"{p} /1e-{round(PS_KWS_EXPONENT_PER_PHONE * n)}/\n"
                                        for p, n in self._keyphrases(kb).items()))
                self.decoder.add_kws("skill", str(path))
        else:
            self.decoder.add_jsgf_string("skill", self._jsgf(kb))
        self.decoder.activate_search("skill")
        self.active, self.in_utterance = False, False
        self.reset(False)

    def _spell(self, word: str) -> str | None:
        """The dictionary's spelling of a knowledge-base word ("dont" is "don't" there), or None."""
        candidates = [word, word.replace("\u2019", "'")]
        if word.endswith("nt"):
            candidates.append(word[:-2] + "n't")
        if word.endswith(("s", "m")):
            candidates.append(f"{word[:-1]}'{word[-1]}")
        return next((c for c in candidates if self.decoder.lookup_word(c)), None)

    def _phrase(self, text: str) -> list[str] | None:
        words = [self._spell(w) for w in text.lower().split()]
        return None if not words or None in words else words  # type: ignore[return-value]

    def _keyphrases(self, kb: KnowledgeBase) -> dict[str, int]:
        """Every English keyword the dictionary can spell, with its length in phones."""
        found: dict[str, int] = {}
        for entry in kb.entries.values():
            for keyword in entry.keywords["en"]:
                words = self._phrase(keyword)
                if words:
                    phones = sum(len(self.decoder.lookup_word(w).split()) for w in words)
                    if phones >= PS_KWS_MIN_PHONES:
                        found[" ".join(words)] = phones
        return dict(sorted(found.items()))

    def _jsgf(self, kb: KnowledgeBase) -> str:
        """One alternative per example phrasing or keyword, skipping the few with unspellable words."""
        phrases = {" ".join(words) for entry in kb.entries.values()
                   for text in (*entry.examples["en"], *entry.keywords["en"]) if (words := self._phrase(text))}
        body = " | ".join(f"( {p} )" for p in sorted(phrases))
        return f"#JSGF V1.0;\ngrammar skill;\npublic <request> = {body};\n"

    def reset(self, active: bool) -> None:
        from pocketsphinx import Endpointer

        if self.in_utterance:
            self.decoder.end_utt()
        self.endpointer = Endpointer(sample_rate=SAMPLE_RATE)
        self.pending = b""
        self.active, self.in_utterance = active, False
        self.heard: list[str] = []

    def feed(self, chunk: bytes) -> Answer | None:
        self.pending += chunk
        size = self.endpointer.frame_bytes
        answer = None
        while len(self.pending) >= size:
            frame, self.pending = self.pending[:size], self.pending[size:]
            speech = self.endpointer.process(frame)
            if speech is None:
                continue
            if not self.in_utterance:
                self.decoder.start_utt()
                self.in_utterance = True
            self.decoder.process_raw(speech)
            if not self.endpointer.in_speech:  # the endpointer has closed the utterance
                self.decoder.end_utt()
                self.in_utterance = False
                answer = answer or self._answer()
        return answer

    def _answer(self) -> Answer | None:
        if self.kws:
            heard = " ".join(segment.word for segment in (self.decoder.seg() or []))
        else:
            hypothesis = self.decoder.hyp()
            heard = hypothesis.hypstr if hypothesis else ""
        if heard:
            self.heard.append(heard)
        match = self.matcher.match(heard)
        return Answer(match.intent, match.confidence, heard) if heard and would_answer(match, self.matcher, self.active) else None


def build(name: str) -> System:
    """Everything a system needs to be ready: the knowledge base, matcher, model and grammar."""
    kb = knowledge.load()
    matcher = Matcher(kb)
    makers: dict[str, Callable[[], System]] = {
        "skill-default": lambda: Skill(kb, matcher, early_endpoint=True),
        "skill-no-early-endpoint": lambda: Skill(kb, matcher, early_endpoint=False),
        "vosk-naive": lambda: VoskNaive(matcher),
        "pocketsphinx-kws": lambda: PocketSphinx(kb, matcher, "pocketsphinx-kws"),
        "pocketsphinx-jsgf": lambda: PocketSphinx(kb, matcher, "pocketsphinx-jsgf"),
    }
    return makers[name]()
