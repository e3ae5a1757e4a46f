"""The `voice-skill` command: a thin layer over the pipeline stages.

Every failure the user can act on is one line on stderr and a non-zero exit; a traceback is shown
only with --verbose.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from voice_skill import knowledge
from voice_skill.errors import SkillError

PROG = "voice-skill"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line, not a usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{PROG}: {message} (see: {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="An offline voice skill that talks you through a calf cramp.")
    parser.add_argument("--verbose", action="store_true", help="show details (tracebacks) when something fails")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ask = commands.add_parser("ask", help="answer a typed question (TEXT, or - for one per line on stdin)")
    ask.add_argument("text", metavar="TEXT")
    _add_common(ask, json_help="one JSON object per query: query, intent, confidence, response")

    kb = commands.add_parser("kb", help="show the knowledge base")
    kb.add_argument("--json", action="store_true", help="as a JSON array of entries")
    kb.add_argument("--responses", type=Path, help="knowledge base directory (default: the bundled one)")

    model = commands.add_parser("model", help="manage the speech models (Vosk for English, Whisper for Indonesian)")
    model.add_argument("action", choices=["fetch", "path"], help="fetch: download and verify it; path: show which is used")
    model.add_argument("--lang", choices=knowledge.LANGUAGES, default="en", help="the language's model (default en)")
    model.add_argument("--model", type=Path, help="a model directory")

    transcribe = commands.add_parser("transcribe", help="print what recorded files say")
    transcribe.add_argument("files", nargs="+", metavar="FILE")
    transcribe.add_argument("--json", action="store_true", help="one JSON object per file")
    transcribe.add_argument("--lang", choices=knowledge.LANGUAGES, default="en", help="language spoken (default en)")
    _add_recognition(transcribe)
    _add_channels(transcribe, "which of the recordings' channels to hear")

    answer = commands.add_parser("answer", help="hear recorded files and answer each")
    answer.add_argument("files", nargs="+", metavar="FILE")
    _add_common(answer, json_help="one JSON object per file: file, transcript, intent, confidence, response, error")
    _add_recognition(answer)
    _add_channels(answer, "which of the recordings' channels to hear")

    commands.add_parser("devices", help="list audio input and output devices")

    listen = commands.add_parser("listen", help="listen on the microphone and talk a cramp through, hands-free")
    listen.add_argument("--lang", choices=knowledge.LANGUAGES, default="en", help="language heard and spoken (default en)")
    listen.add_argument("--responses", type=Path, help="knowledge base directory")
    listen.add_argument("--rate", type=int, help="speaking rate in words per minute (default: slow and clear)")
    listen.add_argument("--voice", help="a voice name or id (see: voice-skill voices)")
    listen.add_argument("--input-device", help="microphone: a device number or name (see: voice-skill devices)")
    listen.add_argument("--output-device", help="speaker: a device number or name")
    listen.add_argument("--demo", type=Path, metavar="FILE",
                        help="no microphone: hear this recording instead, and answer it")
    listen.add_argument("--no-barge-in", action="store_true",
                        help="do not listen while speaking (no echo cancellation; stop/next wait for a gap)")
    listen.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="also show what it heard and did not act on")
    _add_recognition(listen)
    _add_channels(listen, "which of the microphone's channels to hear (default all; one from a sound server's "
                  "device, see: voice-skill devices)")

    commands.add_parser("voices", help="list the text-to-speech voices")

    serve = commands.add_parser("serve", help="answer Home Assistant as a Wyoming conversation service")
    serve.add_argument("--uri", default="tcp://0.0.0.0:10510",
                       help="where to listen: tcp://HOST:PORT or unix://PATH (default tcp://0.0.0.0:10510)")
    serve.add_argument("--lang", choices=knowledge.LANGUAGES, default="en",
                       help="language when a request names none and its words do not tell (default en)")
    serve.add_argument("--responses", type=Path, help="knowledge base directory (default: the bundled one)")
    serve.add_argument("--zeroconf", action="store_true", help="announce the service on the local network (mDNS)")
    serve.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                       help="log one line per request")
    return parser


def _add_common(parser: argparse.ArgumentParser, json_help: str) -> None:
    parser.add_argument("--lang", choices=knowledge.LANGUAGES, default="en", help="language heard and answered in (default en)")
    parser.add_argument("--json", action="store_true", help=json_help)
    parser.add_argument("--responses", type=Path, help="knowledge base directory (default: the bundled one)")


def _add_recognition(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, help="speech model directory (default: $VOSK_MODEL_PATH, models/, vosk's "
                        "cache for en; $WHISPER_MODEL_PATH, models/whisper-base for id)")
    parser.add_argument("--free", action="store_true",
                        help="decode with the model's full vocabulary, not steered by the skill's phrasings")


def _add_channels(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--channels", type=_channels, metavar="1,2",
                        help=f"{what}, counted from 1 (default all); several are beamformed into one voice")


def _channels(text: str) -> list[int]:
    from voice_skill.audio_in import parse_channels

    try:
        return parse_channels(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


# --- commands ------------------------------------------------------------------------------------


def cmd_ask(args: argparse.Namespace) -> int:
    from voice_skill.conversation import Conversation

    conversation = Conversation(knowledge.load(args.responses), args.lang)
    queries = _stdin_lines() if args.text == "-" else [args.text]
    for query in queries:
        exchange = conversation.hear(query)
        if args.json:
            _print_json(exchange.as_json())
        else:
            print(exchange.reply.text if args.text != "-" else f"> {query}\n{exchange.reply.text}")
    return 0


def cmd_kb(args: argparse.Namespace) -> int:
    kb = knowledge.load(args.responses)
    if args.json:
        print(json.dumps([entry.as_json() for entry in kb.entries.values()], ensure_ascii=False, indent=2))
        return 0
    for entry in kb.entries.values():
        print(f"{entry.intent}:")
        for line in entry.lines["en"]:
            print(f"  - {line}")
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    from voice_skill import model_fetch, recognizer

    if args.action == "fetch":
        (model_fetch.fetch_whisper if args.lang == "id" else model_fetch.fetch)(log=model_fetch.main_log)
    elif args.lang == "id":
        from voice_skill.whisper_engine import find_whisper_model

        print(find_whisper_model(args.model))
    else:
        print(recognizer.find_model(args.model))
    return 0


def cmd_transcribe(args: argparse.Namespace) -> int:
    from voice_skill.hearing import FileListener

    listener = FileListener.open(args.model, None if args.free else knowledge.load(), args.lang, args.channels)
    records = ({"file": name, "transcript": transcript, "error": error}
               for name, transcript, error in listener.transcribe_all(args.files))
    return _print_file_results(records, args.json, lambda r: f"{r['file']}: {r['transcript']}")


def cmd_answer(args: argparse.Namespace) -> int:
    from voice_skill.conversation import Conversation
    from voice_skill.for_us import answer
    from voice_skill.hearing import FileListener

    kb = knowledge.load(args.responses)
    listener = FileListener.open(args.model, None if args.free else kb, args.lang, args.channels)
    conversation = Conversation(kb, args.lang)

    def answered(name: str, transcript: str | None, error: str | None) -> dict:
        record = {"file": name, "transcript": transcript, "intent": None, "confidence": None,
                  "response": None, "error": error}
        if error is None:
            text, match = answer(transcript, conversation.matcher, lambda: listener.reread(name),
                                 lambda: listener.hear_freely(name), listener.spoken_s())
            record.update(conversation.hear(text, match=match).as_json("transcript"))
        return record

    records = (answered(*result) for result in listener.transcribe_all(args.files))
    return _print_file_results(records, args.json, lambda r: (
        f"{r['file']}: \"{r['transcript']}\" -> {r['intent']} ({r['confidence']:.2f})\n  {r['response']}"))


def _print_file_results(records: Iterable[dict], as_json: bool, human: Callable[[dict], str]) -> int:
    """One result per file, in order; a file's error is its own line. Exit 1 if any file failed."""
    failed = False
    for record in records:
        failed |= record["error"] is not None
        if as_json:
            _print_json(record)
        elif record["error"]:
            print(f"{PROG}: {record['error']}", file=sys.stderr)
        else:
            print(human(record))
    return 1 if failed else 0


def cmd_devices(args: argparse.Namespace) -> int:
    from voice_skill.audio_in import list_devices

    print(list_devices())
    return 0


def cmd_voices(args: argparse.Namespace) -> int:
    from voice_skill.speech_out import list_voices

    for voice_id, name, languages in list_voices():
        print(f"{voice_id}\t{name}\t{languages}")
    return 0


def cmd_listen(args: argparse.Namespace) -> int:
    from voice_skill.listen import run

    return run(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from voice_skill import server

    return server.run(knowledge.load(args.responses), args.uri, args.lang, args.zeroconf, args.verbose)


COMMANDS = {"ask": cmd_ask, "kb": cmd_kb, "model": cmd_model, "transcribe": cmd_transcribe,
            "answer": cmd_answer, "devices": cmd_devices, "voices": cmd_voices, "listen": cmd_listen,
            "serve": cmd_serve}


# --- helpers -------------------------------------------------------------------------------------


def _stdin_lines() -> Iterator[str]:
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


def _print_json(record: dict) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


def main(argv: Iterable[str] | None = None) -> int:
    args = build_parser().parse_args(None if argv is None else list(argv))
    try:
        return COMMANDS[args.command](args)
    except SkillError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as error:  # last line of defence: one line, details only on request
        if args.verbose:
            traceback.print_exc()
        print(f"{PROG}: unexpected error: {type(error).__name__}: {error} (run with --verbose for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
