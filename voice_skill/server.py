"""`voice-skill serve`: the skill as a Wyoming conversation ("handle") service for Home Assistant.

A thin layer over the conversation core, on the `wyoming` package. Home Assistant opens a connection
per turn, sends `Transcript(text, context={"conversation_id": ...})` (with wyoming 1.5.4, as in Home
Assistant 2025.4, only the text; custom_components/voice_skill adds the language and the device ids)
and reads until `Handled` (spoken back) or `NotHandled`; it never times a turn out, so every turn here
is answered within a bound. Which dialogue and language a turn belongs to is decided in sessions.py
and language.py, plain code.

Wyoming has no authentication: the server only ever answers from its knowledge base and never runs
anything a request names. It guards itself against what a network peer may send: the header line
is bounded by the stream reader's limit, data and payload lengths are checked before anything is
read, a client that sends too slowly is dropped, and one bad connection never touches another.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

from wyoming.asr import Transcript
from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Attribution, Describe, HandleModel, HandleProgram, Info
from wyoming.server import AsyncEventHandler, AsyncServer

from voice_skill import __version__, knowledge
from voice_skill.conversation import Conversation
from voice_skill.errors import SkillError
from voice_skill.language import LanguageGuesser
from voice_skill.matcher import COMMANDS, UNKNOWN, Matcher
from voice_skill.sessions import SessionStore, choose_language, ongoing

MAX_DATA_BYTES = 64 * 1024  # an event's JSON data; a transcript needs a few hundred bytes
MAX_PAYLOAD_BYTES = 1024 * 1024  # a handle service has no use for payloads; small ones are skipped
MAX_TRANSCRIPT_CHARS = 1000  # a minute of speech; keeps every turn's matching short
MAX_ID_CHARS = 200
MAX_CONNECTIONS = 512
READ_TIMEOUT_S = 30.0  # a client must send each whole event within this (Home Assistant: at once)
WRITE_TIMEOUT_S = 10.0

PROGRAM = "voice-skill"
DESCRIPTION = "Talks you through a calf cramp, step by step, and answers questions about calf cramps."
SOURCE = Attribution(name="Alodokter: Kram Betis, Ketahui Penyebab dan Cara Mengatasinya",
                     url="https://www.alodokter.com/")


class Malformed(Exception):
    """An event that breaks the protocol but leaves the stream in step: answered, then carry on."""


class Refused(Exception):
    """A request over a limit: answered with an error, and the connection is closed unread."""


def language_of(tag: object, default: str | None) -> str | None:
    """A supported language from a tag like 'en', 'en-US' or 'id_ID', else the default."""
    if isinstance(tag, str):
        primary = tag.replace("_", "-").split("-")[0].lower()
        if primary in knowledge.LANGUAGES:
            return primary
    return default


def conversation_key(context: object, peer: str | None = None) -> str | None:
    """Which dialogue a turn belongs to: the conversation id, else the satellite's, else the
    device's; with none of them (Home Assistant before its wyoming 1.7 sends only the text), the
    client's address. None (a fresh dialogue) when there is nothing to key on."""
    if isinstance(context, dict):
        for field in ("conversation_id", "satellite_id", "device_id"):
            value = context.get(field)
            if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS:
                return f"{field}:{value}"
    # the address, not address:port: Home Assistant opens a new connection for every turn
    return f"peer:{peer}" if peer else None


@dataclass
class Turn:
    """One answered transcript, for the log line."""

    key: str | None
    lang: str
    text: str
    outcome: str  # the intent, or "echo" / "too long"
    event: Event
    lang_from: str = "default"  # how the language was chosen: named / dialogue / words / default


class SkillService:
    """What the server answers, apart from the network: a transcript in, an event out."""

    def __init__(self, kb: knowledge.KnowledgeBase, lang: str = "en",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.kb = kb
        self.lang = lang
        self.clock = clock
        matcher = Matcher(kb)
        self.guesser = LanguageGuesser(kb)
        self.sessions = SessionStore(lambda: Conversation(kb, lang, matcher=matcher))
        self.info = Info(handle=[HandleProgram(
            name=PROGRAM, description=DESCRIPTION, attribution=SOURCE, installed=True, version=__version__,
            models=[HandleModel(name="calf-cramp", description=DESCRIPTION, attribution=SOURCE, installed=True,
                                version=__version__, languages=list(knowledge.LANGUAGES))])])

    def answer(self, transcript: Transcript, peer: str | None = None) -> Turn:
        """The answer to one transcript; `peer` is the client's address, the dialogue's key when
        the transcript carries no conversation, satellite or device id."""
        now = self.clock()
        text = transcript.text
        key = conversation_key(transcript.context, peer)
        if len(text) > MAX_TRANSCRIPT_CHARS:
            lang = language_of(transcript.language, self.lang)
            return Turn(key, lang, text, "too long", self._not_handled(lang))
        session = self.sessions.get(key, now)
        dialogue = session.conversation.dialogue
        in_dialogue = ongoing(dialogue, now)
        lang, lang_from = choose_language(named=language_of(transcript.language, None),
                                          dialogue=dialogue.lang if in_dialogue else None,
                                          words=self.guesser.guess(text), default=self.lang)
        if session.is_echo(text, now):  # the device heard itself: say nothing, change nothing
            event = Handled("", self._context(dialogue.steps_to_come, lang)).event()
            return Turn(key, lang, text, "echo", event, lang_from)
        dialogue.lang = lang
        exchange = session.conversation.hear(text, at=now)
        intent = exchange.match.intent
        if exchange.reply.unmatched:
            event = self._not_handled(lang)
        else:
            event = Handled(exchange.reply.text, self._context(
                dialogue.steps_to_come, lang, intent=intent, idle_command=intent in COMMANDS and not in_dialogue)).event()
        session.spoke(event.data["text"], now, listening=event.data["context"]["continue_conversation"])
        return Turn(key, lang, text, intent, event, lang_from)

    def _not_handled(self, lang: str) -> Event:
        return NotHandled(" ".join(self.kb.lines(UNKNOWN, lang)), self._context(False, lang, intent=UNKNOWN)).event()

    @staticmethod
    def _context(continue_conversation: bool, lang: str, *, intent: str = "", idle_command: bool = False) -> dict:
        """What a client may act on besides the text (custom_components/voice_skill reads it):
        - continue_conversation: more relief steps are to come, so a satellite may listen again
          without the wake word (false after the last step, "stop", a single answer or anything
          not handled, as issue 29 asks: the last step's offer is taken with the wake word);
        - command_without_dialogue: "next", "repeat" or "stop" with no dialogue for it; the skill
          answers it, but a household assistant may have its own meaning for it (a media player);
        - language: the language answered in."""
        context = {"continue_conversation": continue_conversation, "command_without_dialogue": idle_command,
                   "language": lang}
        if intent:
            context["intent"] = intent
        return context


# --- the protocol --------------------------------------------------------------------------------


async def read_event(reader: asyncio.StreamReader) -> Event | None:
    """The next event, or None when the client has gone. Like wyoming's own reader, but it checks
    every length before reading: the header line is bounded by the reader's limit (asyncio's
    default, 64 KiB), data and payload by MAX_DATA_BYTES and MAX_PAYLOAD_BYTES."""
    try:
        line = await reader.readline()
    except ValueError:  # no newline within the reader's limit; asyncio has dropped what it buffered
        raise Refused("header line too long") from None
    if not line:
        return None
    header = _json_object(line, "header")
    kind, data = header.get("type"), header.get("data", {})
    if not isinstance(kind, str) or not isinstance(data, dict):
        raise Malformed("header needs a string 'type' and an object 'data'")
    data_length = _length(header, "data_length", MAX_DATA_BYTES)
    payload_length = _length(header, "payload_length", MAX_PAYLOAD_BYTES)
    if data_length:
        data = {**data, **_json_object(await reader.readexactly(data_length), "data")}
    payload = await reader.readexactly(payload_length) if payload_length else None
    return Event(type=kind, data=data, payload=payload)


def _json_object(raw: bytes, what: str) -> dict:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise Malformed(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Malformed(f"{what} is not a JSON object")
    return value


def _length(header: dict, field: str, limit: int) -> int:
    value = header.get(field) or 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Refused(f"{field} is not a byte count")
    if value > limit:
        raise Refused(f"{field} {value} is over the limit of {limit}")
    return value


class Connection(AsyncEventHandler):
    """One client connection: events in, answers out, until the client goes or breaks a limit."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: "Server") -> None:
        super().__init__(reader, writer)
        self.server = server
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "local"
        self.address = str(peer[0]) if isinstance(peer, tuple) else None  # a unix socket has none

    async def run(self) -> None:
        self.server.connections += 1
        try:
            if self.server.connections > MAX_CONNECTIONS:
                await self._refuse("too many connections")
                return
            await self._serve()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away: nothing to answer
        except asyncio.TimeoutError:
            self.server.log(f"{self.peer} closed: too slow")
        except Exception as error:  # a bug must cost this connection only
            self.server.log(f"{self.peer} error: {type(error).__name__}: {error}", always=True)
        finally:
            self.server.connections -= 1
            self.writer.close()

    async def _serve(self) -> None:
        while True:
            try:
                event = await asyncio.wait_for(read_event(self.reader), READ_TIMEOUT_S)
            except Malformed as problem:
                self.server.log(f"{self.peer} malformed: {problem}")
                await self.write_event(Error(text=str(problem), code="malformed").event())
                continue
            except Refused as problem:
                await self._refuse(str(problem))
                return
            if event is None or not await self.handle_event(event):
                return

    async def handle_event(self, event: Event) -> bool:
        if Describe.is_type(event.type):
            self.server.log(f"{self.peer} describe")
            await self.write_event(self.server.service.info.event())
        elif Transcript.is_type(event.type):
            await self._transcript(event)
        else:
            self.server.log(f"{self.peer} ignored event {event.type[:40]!r}")
        return True

    async def _transcript(self, event: Event) -> None:
        started = time.perf_counter()
        text = event.data.get("text")
        if not isinstance(text, str):
            self.server.log(f"{self.peer} malformed: transcript without text")
            await self.write_event(Error(text="transcript without text", code="malformed").event())
            return
        try:
            turn = self.server.service.answer(Transcript.from_event(event), self.address)
        except Exception as error:  # answer anyway: Home Assistant would wait for ever
            self.server.log(f"{self.peer} error answering {text[:80]!r}: {type(error).__name__}: {error}",
                            always=True)
            await self.write_event(Error(text="the skill could not answer this", code="internal").event())
            return
        await self.write_event(turn.event)
        context = turn.event.data.get("context", {})
        self.server.log(f"{self.peer} transcript [{turn.key or 'fresh'}] {turn.lang} ({turn.lang_from}) {turn.text[:80]!r} -> "
                        f"{turn.outcome}: {turn.event.type} continue={context.get('continue_conversation')} "
                        f"{(time.perf_counter() - started) * 1000:.1f} ms")

    async def write_event(self, event: Event) -> None:
        await asyncio.wait_for(async_write_event(event, self.writer), WRITE_TIMEOUT_S)

    async def _refuse(self, problem: str) -> None:
        self.server.log(f"{self.peer} refused: {problem}")
        await self.write_event(Error(text=problem, code="refused").event())


class Server:
    def __init__(self, service: SkillService, verbose: bool = False) -> None:
        self.service = service
        self.verbose = verbose
        self.connections = 0

    def log(self, line: str, always: bool = False) -> None:
        if self.verbose or always:
            print(f"voice-skill: {line}", file=sys.stderr, flush=True)

    async def run(self, uri: str, zeroconf: bool = False) -> None:
        """Serve until SIGINT or SIGTERM."""
        wyoming_server = _server_for(uri)
        try:
            await wyoming_server.start(lambda reader, writer: Connection(reader, writer, self))
        except OSError as error:
            raise SkillError(f"cannot listen on {uri}: {error.strerror or error}") from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        print(f"Serving on {uri}", flush=True)
        if zeroconf:
            await _announce(uri, self.log)
        await stop.wait()
        await wyoming_server.stop()
        print("Stopped.", flush=True)


def _server_for(uri: str) -> AsyncServer:
    if urlparse(uri).scheme not in ("tcp", "unix"):
        raise SkillError(f"cannot serve on {uri}: give tcp://HOST:PORT or unix://PATH")
    try:
        return AsyncServer.from_uri(uri)
    except ValueError as error:
        raise SkillError(f"cannot serve on {uri}: {error}") from None


async def _announce(uri: str, log: Callable[..., None]) -> None:
    """Announce the service on the local network (mDNS), as other Wyoming servers do."""
    from wyoming.zeroconf import HomeAssistantZeroconf  # needs `zeroconf`; only loaded when asked for

    address = urlparse(uri)
    if address.scheme != "tcp":
        log("zeroconf needs a tcp:// address; not announcing", always=True)
        return
    host = None if address.hostname in ("0.0.0.0", "::", "") else address.hostname
    try:
        await HomeAssistantZeroconf(port=address.port, name=PROGRAM, host=host).register_server()
    except OSError as error:
        log(f"could not announce with zeroconf ({error}); serving anyway", always=True)
        return
    log("announced as _wyoming._tcp with zeroconf", always=True)


def run(kb: knowledge.KnowledgeBase, uri: str, lang: str, zeroconf: bool, verbose: bool) -> int:
    server = Server(SkillService(kb, lang), verbose)  # the knowledge base is loaded before the port opens
    asyncio.run(server.run(uri, zeroconf))
    return 0
