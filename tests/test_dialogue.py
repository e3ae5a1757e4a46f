"""The conversation as a state machine: no audio, just turns in and replies out."""

from __future__ import annotations

from voice_skill.dialogue import Dialogue, Turn


def steps(kb, lang="en"):
    return kb.lines("cramp_relief", lang)


def test_a_cramp_request_speaks_the_first_step_at_once(kb):
    reply = Dialogue(kb).handle(Turn("cramp_relief"))
    assert reply.lines[0] == steps(kb)[0] and reply.interrupt


def test_next_walks_the_steps_in_order_then_offers_prevention(kb):
    dialogue = Dialogue(kb)
    dialogue.handle(Turn("cramp_relief"))
    spoken = [dialogue.handle(Turn("next")).lines for _ in range(4)]
    assert [lines[0] for lines in spoken] == list(steps(kb)[1:])
    assert spoken[-1][-1] == kb.say("relief_done", "en")
    assert dialogue.handle(Turn("unknown", "yes")).lines == kb.lines("prevention", "en")


def test_repeat_says_the_current_step_again(kb):
    dialogue = Dialogue(kb)
    dialogue.handle(Turn("cramp_relief"))
    dialogue.handle(Turn("next"))
    assert dialogue.handle(Turn("repeat")).lines == (steps(kb)[1],)


def test_stop_is_silent_and_ends_the_steps(kb):
    dialogue = Dialogue(kb, hands_free=True)
    dialogue.handle(Turn("cramp_relief"))
    reply = dialogue.handle(Turn("stop"))
    assert reply.lines == () and reply.interrupt
    assert dialogue.handle(Turn("next")).ignored  # nothing under way any more


def test_a_question_mid_steps_is_answered_and_help_keeps_the_place(kb):
    dialogue = Dialogue(kb)
    dialogue.handle(Turn("cramp_relief"))
    assert dialogue.handle(Turn("help")).lines == kb.lines("help", "en")
    assert dialogue.handle(Turn("next")).lines[0] == steps(kb)[1]
    assert dialogue.handle(Turn("causes")).lines == kb.lines("causes", "en")
    assert dialogue.handle(Turn("cramp_relief")).lines[0] == steps(kb)[0]  # start over any time


def test_hands_free_ignores_speech_that_is_not_for_it(kb):
    dialogue = Dialogue(kb, hands_free=True)
    assert dialogue.handle(Turn("unknown", "pass the salt")).ignored
    assert dialogue.handle(Turn("next")).ignored  # overheard "next" with nothing under way
    typed = Dialogue(kb)
    assert typed.handle(Turn("unknown", "pass the salt")).lines == kb.lines("unknown", "en")


def test_a_long_silence_ends_the_conversation(kb):
    dialogue = Dialogue(kb, hands_free=True)
    dialogue.handle(Turn("cramp_relief", at=0.0))
    assert dialogue.handle(Turn("next", at=10.0)).lines[0] == steps(kb)[1]
    assert dialogue.handle(Turn("next", at=10.0 + dialogue.timeout_s + 1)).ignored


def test_indonesian_speaks_the_indonesian_lines(kb):
    reply = Dialogue(kb, lang="id").handle(Turn("cramp_relief"))
    assert reply.lines[0] == steps(kb, "id")[0] and reply.lines[1] == kb.say("relief_hint", "id")


def test_after_a_single_answer_follow_ups_are_for_us_only_briefly(kb):
    dialogue = Dialogue(kb, hands_free=True)
    dialogue.handle(Turn("causes", at=0.0))
    assert dialogue.handle(Turn("repeat", at=dialogue.follow_up_s - 1)).lines == kb.lines("causes", "en")
    assert dialogue.handle(Turn("repeat", at=2 * dialogue.follow_up_s + 1)).ignored
