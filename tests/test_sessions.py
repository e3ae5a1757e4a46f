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
