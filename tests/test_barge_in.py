"""What may cut the skill short while it speaks: the rule (text in, no audio) and the narrow grammar."""

from __future__ import annotations

import pytest

from voice_skill.barge_in import INTERRUPTING, interruption
from voice_skill.matcher import Matcher


@pytest.fixture(scope="module")
def matcher(kb) -> Matcher:
    return Matcher(kb)


@pytest.mark.parametrize("text", ["stop", "next", "next step", "repeat that", "say that again", "be quiet",
                                  "cancel", "continue", "my calf is cramping"])
def test_a_short_clear_command_interrupts(matcher, text):
    assert interruption(text, matcher.match(text))


@pytest.mark.parametrize("text", [
    "[unk] stop",  # a word it was unsure of: as likely its own voice leaking through
    "next [unk]",
    "say next for the next step repeat to hear it again or stop",  # its own hint, heard whole
    "what causes calf cramps",  # a question: it waits for a gap
    "how do i prevent them",
    "",
])
def test_anything_else_heard_over_its_voice_does_not(matcher, text):
    assert not interruption(text, matcher.match(text))


def test_the_grammar_while_speaking_holds_only_the_interrupting_intents(kb):
    from voice_skill.recognizer import UNK, find_model, grammar_phrases, load_model

    model = load_model(find_model())
    narrow = set(grammar_phrases(kb, model, INTERRUPTING))
    full = set(grammar_phrases(kb, model))
    assert {"stop", "next", "repeat", "help", "my calf is cramping", UNK} <= narrow
    assert narrow < full
    assert not any("prevent" in phrase or "dehydrat" in phrase for phrase in narrow)
