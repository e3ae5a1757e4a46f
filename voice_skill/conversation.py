"""One conversation: text in, intent and reply out. The glue between matcher and dialogue that
every front end (typed questions, recorded files, the microphone) shares."""

from __future__ import annotations

from dataclasses import dataclass

from voice_skill.dialogue import Dialogue, Reply, Turn
from voice_skill.knowledge import KnowledgeBase
from voice_skill.matcher import Match, Matcher


@dataclass(frozen=True)
class Exchange:
    text: str
    match: Match
    reply: Reply

    def as_json(self, query_key: str = "query") -> dict:
        return {query_key: self.text, "intent": self.match.intent,
                "confidence": self.match.confidence, "response": self.reply.text}


class Conversation:
    def __init__(self, kb: KnowledgeBase, lang: str = "en", *, hands_free: bool = False,
                 matcher: Matcher | None = None) -> None:
        self.matcher = matcher or Matcher(kb, by_ear=lang)
        self.dialogue = Dialogue(kb, lang=lang, hands_free=hands_free)

    def hear(self, text: str, at: float = 0.0, match: Match | None = None) -> Exchange:
        match = match or self.matcher.match(text)
        return Exchange(text, match, self.dialogue.handle(Turn(match.intent, text, at)))
