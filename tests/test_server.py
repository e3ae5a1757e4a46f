"""`voice-skill serve` as Home Assistant meets it: a real server process on a loopback port, driven
with the `wyoming` package's own AsyncTcpClient, a new connection per turn as Home Assistant opens.
Zeroconf is never started here: it sends multicast, and tests stay on the loopback address.

First, the server's plain parts without a network: what a transcript is answered with (on a clock
the test sets), and the bounded event reader on random bytes."""

from __future__ import annotations

import asyncio
import json
import select
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wyoming.asr import Transcript
from wyoming.client import AsyncTcpClient
from wyoming.event import Event, async_read_event
from wyoming.info import Describe, Info

from conftest import ROOT
from voice_skill.server import (MAX_TRANSCRIPT_CHARS, Connection, Malformed, Refused, Server, SkillService,
                                conversation_key, language_of, read_event)

HOST = "127.0.0.1"
STARTUP_S = 60.0
TURN_S = 20.0  # generous: the machine is shared; a hung server fails the test, a slow one does not


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_conversation_key_prefers_the_conversation_then_satellite_then_device():
    assert conversation_key({"conversation_id": "c", "satellite_id": "s", "device_id": "d"}) == "conversation_id:c"
    assert conversation_key({"satellite_id": "s", "device_id": "d"}) == "satellite_id:s"
    assert conversation_key({"device_id": "d"}) == "device_id:d"
    assert conversation_key({"conversation_id": "x" * 10_000}) is None  # never kept: memory stays bounded
    assert conversation_key(None) is None and conversation_key(["c"]) is None
    assert conversation_key({"conversation_id": 7}) is None
    assert conversation_key({}, "10.0.0.2") == "peer:10.0.0.2" and conversation_key(None, None) is None
    assert conversation_key({"device_id": "d"}, "10.0.0.2") == "device_id:d"


def test_language_from_the_transcript_else_the_default():
    assert [language_of(tag, "en") for tag in ("id", "id-ID", "id_ID", "ID", "en-US")] == ["id"] * 4 + ["en"]
    assert language_of(None, "id") == "id" and language_of("de-DE", "id") == "id" and language_of(3, "en") == "en"


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


def test_told_what_to_say_and_saying_it_at_once_is_the_person_not_an_echo(kb):
    """After "There is no step to go on to. Say: my calf is cramping, to start." the satellite does not
    listen on its own (no steps: continue_conversation false): what comes next followed a wake word."""
    clock = Clock()
    service = SkillService(kb, clock=clock)
    ask(service, "next")
    clock.now += 2.0
    assert ask(service, "my calf is cramping").data["text"].startswith(kb.lines("cramp_relief", "en")[0])


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
    assert ask(service, "next").data["text"] == kb.lines("cramp_relief", "id")[2]  # no language: the dialogue's
    assert ask(service, "next", language="en").data["text"] == kb.lines("cramp_relief", "en")[3]  # named: decides


def test_with_no_language_named_the_words_decide(kb):
    service = SkillService(kb, lang="en", clock=Clock())
    reply = ask(service, "betis saya kram", conversation="a")
    assert reply.data["text"].startswith(kb.lines("cramp_relief", "id")[0]) and reply.data["context"]["language"] == "id"
    assert ask(service, "stop", conversation="a").data["text"] == kb.lines("stop", "id")[0]  # "stop": the dialogue's
    assert ask(service, "my calf is cramping", conversation="b").data["text"].startswith(kb.lines("cramp_relief", "en")[0])
    id_default = SkillService(kb, lang="id", clock=Clock())
    assert ask(id_default, "my calf is cramping").data["text"].startswith(kb.lines("cramp_relief", "en")[0])
    assert ask(id_default, "stop", conversation="c").data["text"] == kb.lines("stop", "id")[0]  # no dialogue: default


def test_a_request_plainly_in_the_other_language_moves_the_dialogue_to_it(kb):
    service = SkillService(kb, lang="en", clock=Clock())
    ask(service, "my calf is cramping")
    assert ask(service, "lanjut").data["text"] == kb.lines("cramp_relief", "en")[1]  # one word: keeps English
    assert ask(service, "betis saya kram").data["text"].startswith(kb.lines("cramp_relief", "id")[0])


def test_with_no_ids_the_dialogue_is_the_client_address(kb):
    service = SkillService(kb, clock=Clock())
    steps = kb.lines("cramp_relief", "en")
    assert service.answer(Transcript("my calf is cramping"), "10.0.0.2").key == "peer:10.0.0.2"
    assert service.answer(Transcript("next"), "10.0.0.2").event.data["text"] == steps[1]
    assert service.answer(Transcript("next"), "10.0.0.3").event.data["text"] == " ".join(kb.lines("next", "en"))
    assert service.answer(Transcript("next"), None).event.data["text"] == " ".join(kb.lines("next", "en"))
    with_id = service.answer(Transcript("next", context={"device_id": "d"}), "10.0.0.2").event
    assert with_id.data["text"] == " ".join(kb.lines("next", "en"))  # an id given: the address plays no part


def test_continue_conversation_and_a_command_with_no_dialogue(kb):
    """What custom_components/voice_skill acts on: listen again while more steps are to come (not after
    the last, whose offer is taken with the wake word); a bare "next" with no dialogue is flagged, so a
    household's assistant may take it."""
    clock = Clock()
    service = SkillService(kb, clock=clock)
    bare = ask(service, "next").data["context"]
    assert bare["command_without_dialogue"] is True and bare["continue_conversation"] is False
    contexts = [ask(service, text).data["context"] for text in ["my calf is cramping"] + ["next"] * 4 + ["yes"]]
    steps = len(kb.lines("cramp_relief", "en"))
    assert len(contexts) == steps + 1
    assert [c["continue_conversation"] for c in contexts] == [True] * (steps - 1) + [False, False]
    assert not any(c["command_without_dialogue"] for c in contexts)
    assert ask(service, "why do calves cramp").data["context"]["continue_conversation"] is False
    assert ask(service, "stop", conversation="fresh").data["context"]["command_without_dialogue"] is True


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=200), st.just(b"\n"),
                          st.sampled_from([b'{"type": "transcript"', b'"data_length": 5}', b'"payload_length": -1}',
                                           b'{"type": "describe"}', b'{"data": []}', b"[[[[[[", b"}"])), max_size=12))
def test_the_event_reader_reads_or_refuses_any_bytes_and_never_crashes(chunks):
    async def read_all() -> None:
        reader = asyncio.StreamReader(limit=1024)
        reader.feed_data(b"".join(chunks))
        reader.feed_eof()
        while True:
            try:
                event = await read_event(reader)
            except Malformed:
                continue
            except (Refused, asyncio.IncompleteReadError):
                return
            if event is None:
                return
            assert isinstance(event.type, str) and isinstance(event.data, dict)

    asyncio.run(read_all())


class Broken(SkillService):
    def answer(self, transcript: Transcript):
        raise RuntimeError("a bug inside")


def test_a_failure_inside_a_turn_is_still_answered_and_the_connection_serves_on(kb):
    """The connection layer around a service that fails: Home Assistant never times a turn out."""
    async def exchange() -> list[str]:
        server = Server(Broken(kb))
        listening = await asyncio.start_server(lambda r, w: Connection(r, w, server).run(), HOST, 0)
        port = listening.sockets[0].getsockname()[1]
        async with AsyncTcpClient(HOST, port, read_timeout=TURN_S) as client:
            await client.write_event(Transcript("my calf is cramping").event())
            failed = await client.read_event()
            await client.write_event(Describe().event())
            described = await client.read_event()
        listening.close()
        return [failed.type, failed.data["code"], described.type]

    assert asyncio.run(exchange()) == ["error", "internal", "info"]


# --- a real server process -------------------------------------------------------------------------


class Served:
    def __init__(self, tmp: Path, *options: str) -> None:
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            self.port = probe.getsockname()[1]
        self.log_path = tmp / f"serve-{self.port}.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "voice_skill", "serve", "--uri", f"tcp://{HOST}:{self.port}", *options],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=self.log, text=True)
        ready = ""  # the port opens only once everything is loaded
        if select.select([self.process.stdout], [], [], STARTUP_S)[0]:
            ready = self.process.stdout.readline()
        assert ready.startswith("Serving on"), (ready, self.log_path.read_text())

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=30)
        self.log.close()
        return code, self.process.stdout.read()

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    served = Served(tmp_path_factory.mktemp("serve"))
    yield served
    if served.process.poll() is None:
        served.stop()


async def _turn(port: int, text: str, conversation: str | None = None, language: str | None = None) -> Event:
    context = {"conversation_id": conversation} if conversation else None
    async with AsyncTcpClient(HOST, port, connect_timeout=TURN_S, read_timeout=TURN_S) as client:
        await client.write_event(Transcript(text, context=context, language=language).event())
        event = await client.read_event()
        assert event is not None, "the server hung up without answering"
        return event


def turn(server: Served, text: str, conversation: str | None = None, language: str | None = None) -> Event:
    return asyncio.run(_turn(server.port, text, conversation, language))


def describe(server: Served) -> Info:
    async def ask() -> Info:
        async with AsyncTcpClient(HOST, server.port, connect_timeout=TURN_S, read_timeout=TURN_S) as client:
            await client.write_event(Describe().event())
            return Info.from_event(await client.read_event())
    return asyncio.run(ask())


def new_id() -> str:
    return uuid.uuid4().hex


def test_describe_offers_a_handle_service_in_english_and_indonesian(server):
    info = describe(server)
    assert len(info.handle) == 1 and info.handle[0].installed
    program = info.handle[0]
    assert "Alodokter" in program.attribution.name and "Kram Betis" in program.attribution.name
    assert [model.languages for model in program.models] == [["en", "id"]]


def test_relief_then_next_across_connections(server, kb):
    conversation = new_id()
    first = turn(server, "my calf is cramping", conversation)
    assert first.type == "handled" and first.data["text"].startswith(kb.lines("cramp_relief", "en")[0])
    assert first.data["context"]["continue_conversation"] is True
    second = turn(server, "next", conversation)
    assert second.type == "handled" and second.data["text"] == kb.lines("cramp_relief", "en")[1]


def test_next_in_a_fresh_conversation_does_not_continue_another(server, kb):
    busy = new_id()
    turn(server, "my calf is cramping", busy)
    turn(server, "next", busy)
    fresh = turn(server, "next", new_id())
    assert fresh.data["text"] == " ".join(kb.lines("next", "en"))
    no_id = turn(server, "next")
    assert no_id.data["text"] == " ".join(kb.lines("next", "en"))
    assert turn(server, "next", busy).data["text"] == kb.lines("cramp_relief", "en")[2]  # still on course


def test_indonesian_from_the_transcript(server, kb):
    conversation = new_id()
    reply = turn(server, "betis saya kram", conversation, language="id-ID")
    assert reply.type == "handled" and reply.data["text"].startswith(kb.lines("cramp_relief", "id")[0])
    assert turn(server, "lanjut", conversation, language="id").data["text"] == kb.lines("cramp_relief", "id")[1]


def test_out_of_domain_is_not_handled(server, kb):
    reply = turn(server, "turn off the living room lights", new_id())
    assert reply.type == "not-handled" and reply.data["text"] == " ".join(kb.lines("unknown", "en"))
    assert reply.data["context"]["continue_conversation"] is False


def test_the_device_hearing_its_own_hint_does_not_advance_the_steps(server, kb):
    conversation = new_id()
    turn(server, "my calf is cramping", conversation)
    echo = turn(server, kb.say("relief_hint", "en"), conversation)
    assert echo.type == "handled" and echo.data["text"] == ""
    assert turn(server, "next", conversation).data["text"] == kb.lines("cramp_relief", "en")[1]


# --- robustness ------------------------------------------------------------------------------------


async def _raw(port: int, sent: bytes, read: bool = True) -> list[Event]:
    """Send raw bytes on one connection; return what the server answered until it hung up or went quiet."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(sent)
    await writer.drain()
    answers = []
    while read:
        try:
            event = await asyncio.wait_for(async_read_event(reader), 2.0)
        except asyncio.TimeoutError:
            break
        if event is None:
            break
        answers.append(event)
    writer.close()
    return answers


def test_malformed_lines_are_answered_and_the_connection_goes_on(server, kb):
    transcript = json.dumps({"type": "transcript", "data": {"text": "my calf is cramping",
                                                            "context": {"conversation_id": new_id()}}}).encode()
    sent = b"\n".join([b"this is not json", b"[1, 2]", b'{"type": 7}', b'{"type": "transcript", "data": {}}',
                       b'{"type": "no-such-event", "data": {"x": 1}}', transcript]) + b"\n"
    answers = asyncio.run(_raw(server.port, sent))
    assert [event.type for event in answers] == ["error"] * 4 + ["handled"]  # the unknown event is ignored
    assert answers[-1].data["text"].startswith(kb.lines("cramp_relief", "en")[0])


def test_abrupt_disconnects_leave_it_serving(server):
    asyncio.run(_raw(server.port, b'{"type": "transcript", "data_length": 100}\n{"te', read=False))
    asyncio.run(_raw(server.port, b'{"type": "descr', read=False))
    assert describe(server).handle


async def _flood(port: int, first: bytes = b"") -> tuple[list[Event], int]:
    """Send `first`, read what the server answers to it, then up to 256 MiB more: (answers, MiB sent
    before the server hung up)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    answers, sent = [], 0
    try:
        if first:
            writer.write(first)
            await writer.drain()
            while (event := await asyncio.wait_for(async_read_event(reader), TURN_S)) is not None:
                answers.append(event)
        for _ in range(256):
            writer.write(b"x" * 2**20)
            await asyncio.wait_for(writer.drain(), TURN_S)
            sent += 1
    except ConnectionError:
        pass
    writer.close()
    return answers, sent


def test_a_huge_header_line_is_refused_unread(server):
    before = server.rss_kib()
    _, sent_mib = asyncio.run(_flood(server.port))  # one line with no end
    assert sent_mib < 64, "the server kept reading a header line of megabytes"
    assert server.rss_kib() - before < 32 * 1024
    assert describe(server).handle


@pytest.mark.parametrize("field", ["payload_length", "data_length"])
def test_a_gigabyte_length_is_refused_without_reading_it(server, field):
    before = server.rss_kib()
    header = json.dumps({"type": "transcript", "data": {"text": "my calf is cramping"}, field: 4 * 2**30})
    answers, sent_mib = asyncio.run(_flood(server.port, header.encode() + b"\n"))
    assert [(event.type, event.data.get("code")) for event in answers] == [("error", "refused")]
    assert sent_mib < 64, "the server went on reading after refusing"
    assert server.rss_kib() - before < 32 * 1024
    assert describe(server).handle


def test_a_stalled_client_does_not_hold_up_others(server, kb):
    async def stalled_and_normal() -> Event:
        _, stalled = await asyncio.open_connection(HOST, server.port)
        stalled.write(b'{"type": "transcript", "da')  # and never more
        await stalled.drain()
        try:
            return await _turn(server.port, "my calf is cramping", new_id())
        finally:
            stalled.close()

    assert asyncio.run(stalled_and_normal()).data["text"].startswith(kb.lines("cramp_relief", "en")[0])


def test_a_hundred_conversations_at_once(server, kb):
    steps = kb.lines("cramp_relief", "en")
    ids = [new_id() for _ in range(100)]

    async def conversation(conversation_id: str, index: int) -> list[str]:
        said = [(await _turn(server.port, "my calf is cramping", conversation_id)).data["text"]]
        for _ in range(index % 3):  # each conversation at its own step
            said.append((await _turn(server.port, "next", conversation_id)).data["text"])
        said.append((await _turn(server.port, "repeat", conversation_id)).data["text"])
        return said

    async def everyone() -> list[list[str]]:
        return await asyncio.gather(*(conversation(cid, i) for i, cid in enumerate(ids)))

    for index, said in enumerate(asyncio.run(everyone())):
        at = index % 3
        assert said[0].startswith(steps[0]) and said[1:-1] == list(steps[1:at + 1])
        assert said[-1] == steps[at], f"conversation {index} was mixed up: {said}"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_it_cleanly_and_verbose_logs_one_line_per_request(tmp_path, signum):
    served = Served(tmp_path, "--verbose")
    describe(served)
    turn(served, "my calf is cramping", "one")
    turn(served, "play some jazz", "one")
    code, out = served.stop(signum)
    log = served.log_path.read_text().splitlines()
    assert code == 0 and out.strip() == "Stopped."
    assert len(log) == 3 and "Traceback" not in served.log_path.read_text(), log
    assert "describe" in log[0] and "cramp_relief" in log[1] and "not-handled" in log[2]


def test_a_port_in_use_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "voice_skill", "serve", "--uri", f"tcp://{HOST}:{port}"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and f"tcp://{HOST}:{port}" in done.stderr
