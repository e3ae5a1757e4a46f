"""What to say next: a plain state machine, no audio and no clock of its own.

The conversation is either idle or walking through the relief steps. Each turn takes what the
person said (already matched to an intent) and gives back a Reply: the lines to speak, and whether
to cut off whatever is still being spoken. The same machine serves the typed `ask` command and the
hands-free loop; in hands-free mode it stays silent on speech that isn't for it, because with no
wake word it overhears everything said in the room.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voice_skill.knowledge import KnowledgeBase
from voice_skill.matcher import UNKNOWN, normalize
from voice_skill.tuning import ACCEPT_REPLY_WORDS, CONVERSATION_TIMEOUT_S, FOLLOW_UP_TIMEOUT_S

RELIEF = "cramp_relief"
CONTROLS = ("next", "repeat", "stop", "help")


@dataclass(frozen=True)
class Turn:
    intent: str
    text: str = ""
    at: float = 0.0  # seconds on any monotonic clock; only differences matter


@dataclass(frozen=True)
class Reply:
    lines: tuple[str, ...] = ()  # spoken (and printed), each its own utterance
    interrupt: bool = False  # cut off anything still being spoken before saying `lines`
    notice: str = ""  # printed only: e.g. the acknowledgement of "stop", which stays silent
    ignored: bool = False  # hands-free: the speech was not for the skill
    unmatched: bool = False  # the request was not for the skill (answered with the polite fallback)

    @property
    def text(self) -> str:
        return " ".join(self.lines) or self.notice


@dataclass
class Dialogue:
    kb: KnowledgeBase
    lang: str = "en"
    hands_free: bool = False
    step: int | None = None  # index of the relief step last spoken, None when no steps are under way
    offered_prevention: bool = False
    last_lines: tuple[str, ...] = ()
    last_turn_at: float | None = None
    timeout_s: float = CONVERSATION_TIMEOUT_S
    follow_up_s: float = FOLLOW_UP_TIMEOUT_S
    _handlers: dict = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._handlers = {"next": self._next, "repeat": self._repeat, "stop": self._stop, "help": self._help}

    @property
    def walking(self) -> bool:
        """The relief steps (or the offer that follows them) are under way."""
        return self.step is not None or self.offered_prevention

    @property
    def steps_to_come(self) -> bool:
        """Relief steps are under way and more are to come (the last step ends them, though it offers
        the prevention advice, which a "yes" still takes)."""
        return self.step is not None and not self.offered_prevention

    @property
    def active(self) -> bool:
        """A conversation is under way: controls like "next" are meant for the skill."""
        return self.walking or bool(self.last_lines)

    def handle(self, turn: Turn) -> Reply:
        limit = self.timeout_s if self.walking else self.follow_up_s
        if self.last_turn_at is not None and turn.at - self.last_turn_at > limit:
            self.reset()
        if self.offered_prevention and self._accepts(turn.text):
            return self._remember(self._answer("prevention"), turn)
        if turn.intent == UNKNOWN or (self.hands_free and turn.intent in ("next", "repeat", "stop") and not self.active):
            return self._unmatched()
        handler = self._handlers.get(turn.intent)
        reply = handler() if handler else self._start(turn.intent)
        return self._remember(reply, turn)

    def reset(self) -> None:
        self.step = None
        self.offered_prevention = False
        self.last_lines = ()
        self.last_turn_at = None

    # --- intents -------------------------------------------------------------------------------

    def _start(self, intent: str) -> Reply:
        if intent == RELIEF:
            self.step = 0
            self.offered_prevention = False
            return Reply((self._steps()[0], self._say("relief_hint")), interrupt=True)
        return self._answer(intent)

    def _answer(self, intent: str) -> Reply:
        self.offered_prevention = False
        if intent != "help":
            self.step = None  # a new topic ends the walk through the steps
        return Reply(self.kb.lines(intent, self.lang), interrupt=True)

    def _next(self) -> Reply:
        if self.offered_prevention:
            return self._answer("prevention")
        if self.step is None:
            return Reply(self.kb.lines("next", self.lang), interrupt=True)
        steps = self._steps()
        if self.step + 1 >= len(steps):
            return Reply((self._say("relief_after"),), interrupt=True)
        self.step += 1
        if self.step == len(steps) - 1:
            self.offered_prevention = True
            return Reply((steps[self.step], self._say("relief_done")), interrupt=True)
        return Reply((steps[self.step],), interrupt=True)

    def _repeat(self) -> Reply:
        if self.step is not None:
            return Reply((self._steps()[self.step],), interrupt=True)
        if self.last_lines:
            return Reply(self.last_lines, interrupt=True)
        return Reply((self._say("nothing_to_repeat"),), interrupt=True)

    def _stop(self) -> Reply:
        self.reset()
        return Reply((), interrupt=True, notice=self.kb.lines("stop", self.lang)[0])

    def _help(self) -> Reply:
        return Reply(self.kb.lines("help", self.lang), interrupt=True)

    def _unmatched(self) -> Reply:
        if self.hands_free:
            return Reply(ignored=True)
        return Reply(self.kb.lines(UNKNOWN, self.lang), interrupt=True, unmatched=True)

    # --- helpers -------------------------------------------------------------------------------

    def _remember(self, reply: Reply, turn: Turn) -> Reply:
        if reply.lines:
            self.last_lines = reply.lines
        if not reply.ignored:
            self.last_turn_at = turn.at
        return reply

    def _steps(self) -> tuple[str, ...]:
        return self.kb.lines(RELIEF, self.lang)

    def _say(self, key: str) -> str:
        return self.kb.say(key, self.lang)

    def _accepts(self, text: str) -> bool:
        """A short reply starting with a word that accepts (vocabulary `accept`: "yes", "boleh")."""
        words = normalize(text)
        return 0 < len(words) <= ACCEPT_REPLY_WORDS and words[0] in self.kb.words.accept
