"""Talking to `voice-skill serve` over Wyoming, with the `wyoming` package Home Assistant ships.

Home Assistant 2025.4 ships wyoming 1.5.4, whose `Transcript` carries only the text, so the event is
built here with every field the server reads (`language`, and `context` with the conversation,
device and satellite ids); newer wyoming releases read the same fields. No Home Assistant imports:
plain asyncio, every turn bounded by one timeout, connection included.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.info import Describe, Info

HANDLED, NOT_HANDLED = "handled", "not-handled"
ANSWERS = (HANDLED, NOT_HANDLED, "error")


class SkillUnavailable(Exception):
    """The server could not be reached, or did not answer in time, or answered nonsense."""


@dataclass(frozen=True)
class SkillAnswer:
    handled: bool  # the skill took the turn (False: not for the skill, or the server said error)
    text: str
    continue_conversation: bool = False  # the dialogue wants a follow-up: listen again
    command_without_dialogue: bool = False  # a bare "next"/"repeat"/"stop": the household's, if it has one

    @classmethod
    def from_event(cls, event: Event) -> SkillAnswer:
        data = event.data or {}
        context = data.get("context") if isinstance(data.get("context"), dict) else {}
        text = data.get("text")
        return cls(handled=event.type == HANDLED, text=text if isinstance(text, str) else "",
                   continue_conversation=context.get("continue_conversation") is True,
                   command_without_dialogue=context.get("command_without_dialogue") is True)


def transcript_event(text: str, language: str | None, context: dict[str, str]) -> Event:
    """The transcript as the server reads it, whatever this wyoming's Transcript class can carry."""
    data: dict = {"text": text, "context": {key: value for key, value in context.items() if value}}
    if language:
        data["language"] = language
    return Event(type="transcript", data=data)


async def converse(host: str, port: int, event: Event, timeout: float) -> SkillAnswer:
    """One turn: a new connection (as Home Assistant's own Wyoming agent makes), the transcript out,
    events in until the answer. Raises SkillUnavailable on anything else, within `timeout`."""
    try:
        async with asyncio.timeout(timeout):
            async with AsyncTcpClient(host, port) as client:
                await client.write_event(event)
                while (answer := await client.read_event()) is not None:
                    if answer.type in ANSWERS:
                        return SkillAnswer.from_event(answer)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
        raise SkillUnavailable(f"{type(error).__name__}: {error}") from error
    raise SkillUnavailable("the server closed the connection without answering")


async def describe(host: str, port: int, timeout: float) -> Info:
    """The server's description: is there a handle service at host:port?"""
    try:
        async with asyncio.timeout(timeout):
            async with AsyncTcpClient(host, port) as client:
                await client.write_event(Describe().event())
                while (event := await client.read_event()) is not None:
                    if Info.is_type(event.type):
                        return Info.from_event(event)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
        raise SkillUnavailable(f"{type(error).__name__}: {error}") from error
    raise SkillUnavailable("the server closed the connection without describing itself")
