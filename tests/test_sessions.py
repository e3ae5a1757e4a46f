"""The server's plain parts, no network: the session store, the echo guard, and what a transcript
is answered with (SkillService, on a clock the test sets)."""

from __future__ import annotations

from wyoming.asr import Transcript

from voice_skill.conversation import Conversation
from voice_skill.dialogue import CONVERSATION_TIMEOUT_S
from voice_skill.matcher import Matcher
from voice_skill.server import MAX_TRANSCRIPT_CHARS, SkillService, conversation_key, language_of
from voice_skill.sessions import SessionStore, echoes


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


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


def test_conversation_key_prefers_the_conversation_then_satellite_then_device():
    assert conversation_key({"conversation_id": "c", "satellite_id": "s", "device_id": "d"}) == "conversation_id:c"
    assert conversation_key({"satellite_id": "s", "device_id": "d"}) == "satellite_id:s"
    assert conversation_key({"device_id": "d"}) == "device_id:d"
    assert conversation_key({"conversation_id": "x" * 10_000}) is None  # never kept: memory stays bounded
    assert conversation_key(None) is None and conversation_key(["c"]) is None
    assert conversation_key({"conversation_id": 7}) is None


def test_language_from_the_transcript_else_the_default():
    assert [language_of(tag, "en") for tag in ("id", "id-ID", "id_ID", "ID", "en-US")] == ["id"] * 4 + ["en"]
    assert language_of(None, "id") == "id" and language_of("de-DE", "id") == "id" and language_of(3, "en") == "en"


# --- SkillService: transcripts in, Wyoming events out ---------------------------------------------


def ask(service: SkillService, text: str, conversation: str | None = "c1", language: str | None = None):
    context = {"conversation_id": conversation} if conversation else None
    return service.answer(Transcript(text, context=context, language=language)).event


def test_steps_continue_in_one_conversation_only(kb):
    service = SkillService(kb, clock=Clock())
    first = ask(service, "my calf is cramping")
    assert first.type == "handled" and first.data["text"].startswith(kb.lines("cramp_relief", "en")[0])
    assert first.data["context"]["continue_conversation"] is True
    assert ask(service, "next").data["text"] == kb.lines("cramp_relief", "en")[1]
    assert ask(service, "next", conversation="c2").data["text"] == " ".join(kb.lines("next", "en"))


def test_not_for_the_skill_is_not_handled_and_ends_the_microphone(kb):
    service = SkillService(kb, clock=Clock())
    ask(service, "my calf is cramping")
    reply = ask(service, "turn on the kitchen lights")
    assert reply.type == "not-handled" and reply.data["text"] == " ".join(kb.lines("unknown", "en"))
    assert reply.data["context"]["continue_conversation"] is False
    too_long = ask(service, "my calf " * MAX_TRANSCRIPT_CHARS)
    assert too_long.type == "not-handled"


def test_stop_ends_continue_conversation(kb):
    service = SkillService(kb, clock=Clock())
    ask(service, "my calf is cramping")
    stopped = ask(service, "stop")
    assert stopped.type == "handled" and stopped.data["context"]["continue_conversation"] is False
    assert ask(service, "next").data["text"] == " ".join(kb.lines("next", "en"))


def test_the_device_hearing_its_own_hint_never_advances_the_steps(kb):
    clock = Clock()
    service = SkillService(kb, clock=clock)
    ask(service, "my calf is cramping")
    clock.now += 2.0  # while the reply still plays
    echo = ask(service, kb.say("relief_hint", "en"))
    assert echo.type == "handled" and echo.data["text"] == "" and echo.data["context"]["continue_conversation"]
    assert ask(service, "next").data["text"] == kb.lines("cramp_relief", "en")[1]  # step 2, not 3


def test_long_after_the_reply_the_same_words_are_the_person(kb):
    clock = Clock()
    service = SkillService(kb, clock=clock)
    ask(service, "my calf is cramping")
    clock.now += 60.0  # the reply has long finished playing
    assert ask(service, kb.say("relief_hint", "en")).data["text"] != ""


def test_language_follows_the_transcript_within_one_conversation(kb):
    service = SkillService(kb, lang="en", clock=Clock())
    assert ask(service, "betis saya kram", language="id-ID").data["text"].startswith(kb.lines("cramp_relief", "id")[0])
    assert ask(service, "lanjut", language="id").data["text"] == kb.lines("cramp_relief", "id")[1]
    assert ask(service, "next").data["text"] == kb.lines("cramp_relief", "en")[2]  # no language: the default
