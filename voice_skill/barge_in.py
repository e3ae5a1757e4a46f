"""Hearing a command while the skill speaks ("stop", "next", "repeat" said over its voice).

The microphone's audio has been through the echo canceller (voice_skill.echo), but some of the
skill's voice always survives it, and its own lines say "next", "repeat" and "stop". So while it
speaks, a second decoder listens with a narrow grammar (only the phrasings of the intents that may
interrupt, from the knowledge base), and only what voice_skill.for_us.interrupts accepts is acted on.

AEC3's suppressor cuts the quiet unvoiced start of a word said over loud echo: "stop" comes out "top",
"op" or "up". Those forms (the knowledge base's `clipped_en`) are in the narrow grammar, and a whole
utterance of one is read as its command (voice_skill.for_us.as_command). While someone is heard
(hearing_someone), the loop lowers the speaker's voice (Speaker.duck), so the rest of their words
come through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from voice_skill.audio_in import SAMPLE_RATE, level
from voice_skill.endpoint import LEVEL_FLOOR, QuietDetector
from voice_skill.for_us import as_command, interrupts
from voice_skill.matcher import Match, Matcher
from voice_skill.recognizer import Recognizer
from voice_skill.tuning import (COMMAND_QUIET_BEFORE_S, COMMAND_WORD_CONFIDENCE, ECHO_LIKENESS_MAX, ECHO_REMOVED_MAX_DB,
                                MIN_LOUD_S)


def persons_sound(chunk_level: float, echo_likeness: float, removed_db: float = 0.0) -> bool:
    """Is this chunk of the cleaned microphone's audio sound a person may have made? Loud enough to
    count (LEVEL_FLOOR), and not looking like the skill's own echo: where the canceller lets its voice
    through, what comes out still correlates with what was played; and what is left after it took out
    most of what the microphone heard (over ECHO_REMOVED_MAX_DB) is what is left of the echo, whatever
    it correlates with: a person's voice over the echo is sound the canceller cannot take out."""
    return chunk_level > LEVEL_FLOOR and echo_likeness < ECHO_LIKENESS_MAX and removed_db < ECHO_REMOVED_MAX_DB


class Canceller(Protocol):
    """What the listener needs of the echo canceller (voice_skill.echo.EchoCanceller)."""

    echo_likeness: float  # how much the last chunk it gave looks like the echo of what was played (0-1)
    removed_db: float  # how far it brought the last chunk down (dB: its level in over its level out)


@dataclass
class Command:
    text: str
    match: Match


class CommandListener:
    """Feeds echo-cancelled audio to the narrow-grammar decoder; gives a Command once one is heard.

    It acts on Vosk's own endpoint, or sooner: once the level has been quiet for a moment and the
    words so far already make a command. Only an utterance with MIN_LOUD_S of a person's sound in it
    (persons_sound) can be one: given the canceller's near-silence, Vosk will still make out a "what"
    now and then, and where the canceller lets the skill's voice through, words of its own. An empty
    result while the voice still sounds does not end the utterance: over loud echo Vosk often gives one
    for a word's cut start, then the rest ("up" of "stop") as a new one, which alone was too short to count.

    A command is said on its own, into the skill's voice: an utterance whose person's sound began within
    COMMAND_QUIET_BEFORE_S of another's is someone talking on (a TV, a conversation across the room),
    whose "next" or "stop" in passing is not meant for it."""

    def __init__(self, recognizer: Recognizer, matcher: Matcher, canceller: Canceller | None = None,
                 clipped: dict[str, str] | None = None) -> None:
        self.recognizer = recognizer
        recognizer.min_word_confidence = COMMAND_WORD_CONFIDENCE  # its grammar is narrow (tuning)
        self.matcher = matcher
        self.clipped = clipped or {}  # what the canceller leaves of a command -> the command (for_us.as_command)
        self.canceller = canceller
        self.quiet = QuietDetector()
        self.loud_s = 0.0
        self._since_person_s = float("inf")  # since the last chunk of a person's sound
        self.quiet_before_s = float("inf")  # how long no person was heard before this utterance's sound began
        self.judged: str | None = None  # the words of the last utterance judged, command or not (for diagnosis)
        self.judged_loud_s = 0.0  # and how much of a person's sound it had (MIN_LOUD_S)
        self.judged_quiet_before_s = float("inf")  # and how long no one was heard before it (COMMAND_QUIET_BEFORE_S)
        self.judged_words = ""  # and Vosk's words in it with their confidences ("stop 0.42")
        self.partial = ""  # the words so far of the utterance under way (for diagnosis)

    def feed(self, chunk: bytes) -> Command | None:
        self.quiet.update(chunk)
        self._count_persons_sound(chunk)
        heard = self.recognizer.accept(chunk)
        self.partial = "" if heard.final else heard.text
        if heard.final and not heard.text and not self.quiet.speech_ended:
            return None  # no words yet from a voice still sounding: its sound counts towards what follows
        if heard.final:
            return self._judge(heard.text)
        if heard.text and self.quiet.speech_ended and interrupts(heard.text, self._match(heard.text), self.matcher):
            return self._judge(self.recognizer.finish() or heard.text)
        return None

    def _count_persons_sound(self, chunk: bytes) -> None:
        likeness, removed = (0.0, 0.0) if self.canceller is None else (self.canceller.echo_likeness,
                                                                         self.canceller.removed_db)
        seconds = len(chunk) / 2 / SAMPLE_RATE
        if not persons_sound(level(chunk), likeness, removed):
            self._since_person_s += seconds
            return
        if self.loud_s == 0:  # this utterance's first sound of a person
            self.quiet_before_s = self._since_person_s
        self.loud_s += seconds
        self._since_person_s = 0.0

    @property
    def hearing_someone(self) -> bool:
        """A person began to speak in this utterance and has not stopped."""
        return self.loud_s > 0 and not self.quiet.speech_ended

    def reset(self) -> None:
        self.recognizer.reset()
        self._utterance_over()
        self._since_person_s = float("inf")

    def _utterance_over(self) -> None:
        self.quiet.reset()
        self.loud_s = 0.0

    def _match(self, text: str) -> Match:
        return as_command(text, self.matcher, self.clipped)

    def _judge(self, text: str) -> Command | None:
        self.judged, self.judged_loud_s, self.judged_quiet_before_s = text, self.loud_s, self.quiet_before_s
        self.judged_words = " ".join(f"{w['word']} {w.get('conf', 1.0):.2f}" for w in self.recognizer.last_words)
        match = self._match(text)
        loud_enough = self.loud_s >= MIN_LOUD_S
        isolated = self.quiet_before_s >= COMMAND_QUIET_BEFORE_S
        self._utterance_over()
        return Command(text, match) if loud_enough and isolated and interrupts(text, match, self.matcher) else None
