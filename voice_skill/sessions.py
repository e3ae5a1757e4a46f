"""Many conversations at once, for the server: one dialogue per conversation id, kept in bounded
memory, and an echo guard. Plain code, no I/O and no clock of its own: every call is told the time.

Each turn arriving here was addressed to the skill (after a wake word), so the dialogues are not
hands-free. A conversation idle for longer than the longest hands-free timeout is dropped; within
it, the dialogue applies the shorter timeouts itself.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz import fuzz

from voice_skill.conversation import Conversation
from voice_skill.dialogue import Dialogue
from voice_skill.language import Guess
from voice_skill.matcher import normalize
# Echo guard: a reply may still be playing for a while after it was given, and a transcript is the
# device hearing itself only if it says enough of the reply closely enough (the numbers: tuning.py).
from voice_skill.tuning import (CONVERSATION_TIMEOUT_S, ECHO_LEAD_S, ECHO_MIN_SIMILARITY, ECHO_MIN_WORDS,
                                ECHO_WORDS_PER_S, FOLLOW_UP_TIMEOUT_S)

MAX_SESSIONS = 1000  # a household has a few satellites; ids beyond this push out the least recent
IDLE_S = max(CONVERSATION_TIMEOUT_S, FOLLOW_UP_TIMEOUT_S)


@dataclass
class Session:
    conversation: Conversation
    last_seen: float
    reply: str = ""  # the last reply given, normalised
    playing_until: float = float("-inf")  # when that reply has surely finished playing

    def spoke(self, text: str, now: float, listening: bool = True) -> None:
        """Remember a reply. `listening`: the reply asked the satellite to listen again at once
        (continue_conversation). Only then can it hear itself; otherwise the next transcript came
        after a wake word, and is the person, even saying what the reply told them to say ("Say: my
        calf is cramping, to start")."""
        words = normalize(text)
        self.reply = " ".join(words)
        playing = words and listening
        self.playing_until = now + ECHO_LEAD_S + len(words) / ECHO_WORDS_PER_S if playing else float("-inf")

    def is_echo(self, text: str, now: float) -> bool:
        """Is this transcript the reply just given, heard back while it still plays?"""
        return now <= self.playing_until and echoes(text, self.reply)


def echoes(text: str, reply: str) -> bool:
    """Does `text` closely repeat a stretch of `reply` (both any case and punctuation)?"""
    words = normalize(text)
    if len(words) < ECHO_MIN_WORDS:
        return False
    return fuzz.partial_ratio(" ".join(words), " ".join(normalize(reply))) >= ECHO_MIN_SIMILARITY


def ongoing(dialogue: Dialogue, now: float) -> bool:
    """Is a dialogue under way at `now`: something said, and not yet past the dialogue's own
    timeout (the one its next turn would reset it by)?"""
    if not dialogue.active or dialogue.last_turn_at is None:
        return False
    limit = dialogue.timeout_s if dialogue.walking else dialogue.follow_up_s
    return now - dialogue.last_turn_at <= limit


def choose_language(*, named: str | None, dialogue: str | None, words: Guess, default: str) -> tuple[str, str]:
    """The language to answer a turn in, and what decided it: a language the turn names; else a
    request plainly in one language; else the ongoing dialogue's (a dialogue keeps its language
    through "stop", both languages' word, and a one-word "next" in the other); else the one its
    words lean to; else the server's default."""
    if named:
        return named, "named"
    if words.outweighs_dialogue or (words.lang and not dialogue):
        return words.lang, "words"
    if dialogue:
        return dialogue, "dialogue"
    return default, "default"


class SessionStore:
    """Sessions by key, least recently used first; a key of None gets a fresh session each time."""

    def __init__(self, new_conversation: Callable[[], Conversation], max_sessions: int = MAX_SESSIONS,
                 idle_s: float = IDLE_S) -> None:
        self.new_conversation = new_conversation
        self.max_sessions = max_sessions
        self.idle_s = idle_s
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, key: str | None, now: float) -> Session:
        self._expire(now)
        if key is None:
            return Session(self.new_conversation(), now)
        session = self._sessions.pop(key, None) or Session(self.new_conversation(), now)
        session.last_seen = now
        self._sessions[key] = session  # now the most recent
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)
        return session

    def _expire(self, now: float) -> None:
        while self._sessions:
            oldest = next(iter(self._sessions.values()))
            if now - oldest.last_seen <= self.idle_s:
                return
            self._sessions.popitem(last=False)
