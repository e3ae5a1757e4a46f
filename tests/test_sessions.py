"""The server's session store and echo guard: plain code, no network, on times the test gives."""

from __future__ import annotations

from voice_skill.conversation import Conversation
from voice_skill.matcher import Matcher
from voice_skill.sessions import SessionStore, echoes
from voice_skill.tuning import CONVERSATION_TIMEOUT_S


def store(kb, **kwargs) -> SessionStore:
    matcher = Matcher(kb)
    return SessionStore(lambda: Conversation(kb, matcher=matcher), **kwargs)


def test_one_session_per_key_and_a_fresh_one_without(kb):
    sessions = store(kb)
    assert sessions.get("a", 0.0) is sessions.get("a", 1.0)
    assert sessions.get("b", 1.0) is not sessions.get("a", 1.0)
    assert sessions.get(None, 1.0) is not sessions.get(None, 1.0)
    assert len(sessions) == 2  # keyless sessions are never kept


def test_memory_stays_bounded_however_many_ids_arrive(kb):
    sessions = store(kb, max_sessions=50)
    for i in range(5000):
        sessions.get(f"id-{i}", float(i) / 1000)
    assert len(sessions) == 50
    kept = sessions.get("id-4999", 5.0)
    assert kept is sessions.get("id-4999", 5.0)  # the most recent survive


def test_a_recently_used_session_outlives_older_ones(kb):
    sessions = store(kb, max_sessions=3)
    first = sessions.get("first", 0.0)
    sessions.get("b", 1.0)
    sessions.get("c", 2.0)
    sessions.get("first", 3.0)  # used again: now the most recent
    sessions.get("d", 4.0)  # pushes out "b", the least recent
    assert sessions.get("first", 5.0) is first and len(sessions) == 3


def test_idle_sessions_expire_on_the_hands_free_timeout(kb):
    sessions = store(kb)
    first = sessions.get("a", 0.0)
    assert sessions.get("a", CONVERSATION_TIMEOUT_S - 1) is first
    sessions.get("other", 2 * CONVERSATION_TIMEOUT_S + 1)
    assert len(sessions) == 1  # "a" was dropped without being asked for
    assert sessions.get("a", 2 * CONVERSATION_TIMEOUT_S + 2) is not first


def test_echo_is_a_long_close_repeat_of_the_reply(kb):
    reply = " ".join((kb.lines("cramp_relief", "en")[0], kb.say("relief_hint", "en")))
    assert echoes(kb.say("relief_hint", "en"), reply)
    assert echoes("say next for the next step", reply)
    assert not echoes("next", reply)  # the person, speaking over the reply
    assert not echoes("next step", reply)
    assert not echoes("okay what is the next step", reply)
    assert not echoes("why does this happen to me", reply)


def test_a_dialogue_is_ongoing_until_its_own_timeout(kb):
    from voice_skill.dialogue import Turn
    from voice_skill.sessions import ongoing
    dialogue = Conversation(kb).dialogue
    assert not ongoing(dialogue, 0.0)
    dialogue.handle(Turn("cramp_relief", "my calf is cramping", 0.0))
    assert ongoing(dialogue, dialogue.timeout_s) and not ongoing(dialogue, dialogue.timeout_s + 1)
    dialogue.handle(Turn("causes", "why do calves cramp", 0.0))
    assert not dialogue.walking and not ongoing(dialogue, dialogue.follow_up_s + 1)


def test_the_language_named_then_a_plain_request_then_the_dialogue_then_the_words():
    from voice_skill.language import Guess
    from voice_skill.sessions import choose_language
    strong, weak, none = Guess("id", 3), Guess("id", 1), Guess(None, 0)
    assert choose_language(named="en", dialogue="en", words=strong, default="en") == ("en", "named")
    assert choose_language(named=None, dialogue="en", words=strong, default="en") == ("id", "words")
    assert choose_language(named=None, dialogue="en", words=weak, default="en") == ("en", "dialogue")
    assert choose_language(named=None, dialogue=None, words=weak, default="en") == ("id", "words")
    assert choose_language(named=None, dialogue=None, words=none, default="en") == ("en", "default")
