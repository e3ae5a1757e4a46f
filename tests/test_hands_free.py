"""The hands-free loop's rule for what, heard from idle, is meant for it (text in, no audio).

These are words as the recogniser gives them, `[unk]` for a word it was unsure of. The recogniser
itself is not used by this rule, so none is built here; test_listen_room covers the loop with audio.
"""

from __future__ import annotations

import pytest

from voice_skill.conversation import Conversation
from voice_skill.listen import HandsFree, PrintOnly


@pytest.fixture
def loop(kb) -> HandsFree:
    return HandsFree(recognizer=None, conversation=Conversation(kb, hands_free=True), speaker=PrintOnly(),
                     emit=lambda _: None, clock=lambda: 0.0)


def understood(loop: HandsFree, text: str) -> str | None:
    found = loop._understand(text)
    return found[1].intent if found else None


@pytest.mark.parametrize("text, intent", [
    ("the cramp [unk] passed but my leg aches", "aftercare"),  # one unsure word inside a clear request
    ("how do i prevent [unk] calf cramps", "prevention"),
    ("can pregnancy [unk] leg cramps", "cause_pregnancy"),
    ("[unk] nerve damage cause my cramps", "cause_nerve_disorders"),  # a soft first word ("could")
    ("do i need to get my leg checked by a doctor", "see_doctor"),  # a question may name just the leg
    ("my calf is cramping", "cramp_relief"),
    ("my calf just cramped up", "cramp_relief"),  # like no example, but the complaint stated outright
    ("my calf muscle [unk] seize up", "cramp_relief"),
    ("the match was good and then my calf is cramping", "cramp_relief"),  # a request ending other talk
])
def test_a_clear_request_starts_it_from_idle(loop, text, intent):
    assert understood(loop, text) == intent


@pytest.mark.parametrize("text", [
    "the cramp has passed but my leg aches [unk]",  # unsure at the end: talk running on
    "the cramp [unk] passed [unk] my leg aches",  # two unsure words
    "calf [unk] cramp",  # too few sure words around the unsure one
    "is it because i don't drink enough water",  # names no calf and no cramp
    "the calf after the show was fine",  # a calf, but no cramp
    "we went out [unk] and then my leg hurt",  # just the leg, and like no request
])
def test_doubtful_or_off_topic_talk_is_ignored_from_idle(loop, text):
    assert understood(loop, text) is None


def test_mid_conversation_an_unsure_word_does_not_hide_a_command(loop):
    loop.conversation.hear("my calf is cramping", at=0.0)
    assert understood(loop, "[unk] next") == "next"
