"""`voice-skill listen`: the hands-free loop. Microphone -> Vosk -> matcher -> dialogue -> speech.

Three things make it usable mid-cramp:
- Speed. Vosk waits for half a second of silence before it calls an utterance done; the loop
  doesn't. Once voice_skill.endpoint says the speaker has stopped and the words so far are already
  meant for the skill, it ends the utterance itself and answers. Every line was rendered before
  anyone asked, so the first sound follows at once.
- Interrupting it, and never hearing itself. A home device's microphone hears its own speaker, and
  the skill's lines contain "next" and "stop". While it speaks (and for a short echo tail after),
  the main decoder hears nothing; the microphone's audio, its own voice taken out by the echo
  canceller (voice_skill.echo), goes to a second decoder that listens only for what may interrupt
  (voice_skill.barge_in). With --no-barge-in, or no canceller, it is deaf while it speaks.
- Rare false triggers. With no wake word it overhears the whole room, so from idle only a clear
  request starts it (the rules are in voice_skill.for_us), and other speech is ignored without a word.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from voice_skill import knowledge
from voice_skill.audio_in import CHUNK_FRAMES, CHUNK_MS, SAMPLE_RATE, Microphone, file_chunks
from voice_skill.barge_in import CommandListener
from voice_skill.conversation import Conversation, Exchange
from voice_skill.echo import EchoCanceller, learn_room
from voice_skill.endpoint import QuietDetector
from voice_skill.errors import SkillError
from voice_skill.for_us import INTERRUPTING, understand, worth_hearing_again
from voice_skill.matcher import Match
from voice_skill.recognizer import ENGINES, MODEL_LANGUAGE, Recognizer, Utterances, grammar_phrases, open_recognizer
from voice_skill.tuning import (COMMAND_OVERRUN_S, COMMAND_QUIET_BEFORE_S, ECHO_TAIL_S,  # ECHO_TAIL_S: after our own last sound, the room may still carry it
                                PROMINENCE_LOOKBACK_S)

DEMO_RECORDING = Path(__file__).resolve().parent / "data" / "demo-my-calf-is-cramping.wav"
MIC_RETRY_S = 2.0
SHUTDOWN_GRACE_S = 3.0


class SpeakerLike(Protocol):
    """What the loop needs of speech out (Speaker, or PrintOnly when there is no speaker)."""

    speaking: bool
    last_sound_at: float

    def say(self, lines: Sequence[str]) -> None: ...
    def interrupt(self) -> None: ...
    def duck(self, on: bool) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Weighed:
    """An utterance weighed from idle at its end: what the rules (for_us.understand) were given, and
    what of it they found meant for the skill (None: nothing)."""

    text: str
    prominences_db: list[float] | None
    confidences: list[float] | None
    understood: tuple[str, Match] | None


@dataclass
class HandsFree:
    """The loop's core: feed it audio chunks; it decides when to answer, and speaks."""

    recognizer: Utterances
    conversation: Conversation
    speaker: SpeakerLike
    emit: Callable[[str], None] = print
    clock: Callable[[], float] = time.monotonic
    commands: CommandListener | None = None  # hears stop/next/... while it speaks; None: deaf then
    show_unacted: bool = False  # also emit what was heard and not acted on (--verbose: why it missed)
    # audio in's last seconds, beamformed as the beam is steered now (Microphone.hear_again); None
    # with one microphone, or when the beam has not turned since
    hear_again: Callable[[float], bytes | None] | None = None
    # told of every utterance weighed from idle at its end (a benchmark records them, to replay them
    # through changed rules: bench/replay_idle.py); None: nobody is told
    on_weighed: Callable[[Weighed], None] | None = None

    def __post_init__(self) -> None:
        self.quiet = QuietDetector()
        self._utterance_s = 0.0  # audio the main decoder heard since its last utterance ended
        self._deaf = False  # True while our own voice is (or may still be) in the microphone
        self._rejected = ""  # the last partial text found not meant for us

    def feed(self, chunk: bytes) -> Exchange | None:
        if self._echo_possible() or self._command_under_way():
            self._deaf = True
            command = self.commands.feed(chunk) if self.commands is not None else None
            if command is None:
                self._show_unacted_command()
            # someone talking over it: its voice lowered, so that the rest of their words come through
            self.speaker.duck(self.commands is not None and self.commands.hearing_someone)
            return None if command is None else self._act(command.text, command.match)
        if self._deaf:  # our voice has died away: forget anything the decoder made of it
            self._show_unfinished_command()
            self._deaf = False
            self.speaker.duck(False)
            self._restart()
        self.quiet.update(chunk)
        heard = self.recognizer.accept(chunk)
        self._utterance_s += len(chunk) / (2 * SAMPLE_RATE)
        if heard.final:
            self.quiet.reset()
            return self._respond(heard.text) if heard.text else self._utterance_over()
        if (heard.text and self.quiet.speech_ended and heard.text != self._rejected
                and self._understand(heard.text, ended=False)):
            text = self.recognizer.finish() or heard.text
            self.quiet.reset()
            return self._respond(text)
        if heard.text and self.quiet.speech_ended:
            self._rejected = heard.text  # not for us; don't weigh the same words again next chunk
        return None

    def _show_unacted_command(self) -> None:
        judged = self.commands.judged if self.commands is not None else None
        if judged is not None:
            self.commands.judged = None
            if self.show_unacted:
                words = f" ({self.commands.judged_words})" if self.commands.judged_words else ""
                after = self.commands.judged_quiet_before_s
                talking_on = f", {after:.1f} s after other talk" if after < COMMAND_QUIET_BEFORE_S else ""
                self.emit(f"(while speaking, heard {judged!r}{words} with {self.commands.judged_loud_s:.2f} s "
                          f"of a person's sound{talking_on}: not acted on)")

    def _show_unfinished_command(self) -> None:
        if self.show_unacted and self.commands is not None and self.commands.loud_s > 0:
            self.emit(f"(while speaking, heard {self.commands.partial!r} with {self.commands.loud_s:.2f} s of a "
                      "person's sound, not yet ended when its voice died away: not acted on)")

    def _echo_possible(self) -> bool:
        return self.speaker.speaking or self.clock() - self.speaker.last_sound_at < ECHO_TAIL_S

    def _command_under_way(self) -> bool:
        """Someone began a command over the skill's voice and is still saying it: the command decoder
        hears it out, rather than the main decoder hearing only its end."""
        return (self.commands is not None and self.commands.hearing_someone
                and self.clock() - self.speaker.last_sound_at < ECHO_TAIL_S + COMMAND_OVERRUN_S)

    def _understand(self, text: str, prominences_db: list[float] | None = None,
                    confidences: list[float] | None = None, ended: bool = True) -> tuple[str, Match] | None:
        """What of the words is for us; `ended`: the utterance is over (else a partial result)."""
        active = self.conversation.dialogue.active
        understood = understand(text, self.conversation.matcher, active, prominences_db, confidences)
        if self.on_weighed is not None and ended and not active:
            self.on_weighed(Weighed(text, prominences_db, confidences, understood))
        return understood

    def _respond(self, heard: str) -> Exchange | None:
        """Answer a finished utterance if it is meant for us (how far it stood out from what came
        before it is known only now, with its words' times)."""
        understood = self._understand(heard, self.recognizer.prominences_db(), self.recognizer.confidences())
        if understood is None and not self.conversation.dialogue.active:
            understood, heard = self._understood_again(heard)
        if understood is None and not self.conversation.dialogue.active:
            return self._utterance_over()  # overheard talk
        text, match = understood or (heard, self.conversation.matcher.match(heard))
        self._utterance_over()
        return self._act(text, match, heard)

    def _understood_again(self, heard: str) -> tuple[tuple[str, Match] | None, str]:
        """From idle, an utterance not taken, heard again with the beam turned to whoever said it
        (a request's first words come before the beam turns): what of it is for us, and its words.
        Its own time and the PROMINENCE_LOOKBACK_S before it are heard again, to weigh it against."""
        if self.hear_again is None or not worth_hearing_again(heard, self.conversation.matcher):
            return None, heard
        audio = self.hear_again(self._utterance_s + PROMINENCE_LOOKBACK_S)
        again = None if audio is None else self.recognizer.hear_again(_chunked(audio))
        if not again or not again.text:
            return None, heard
        return self._understand(again.text, again.prominences_db, again.confidences), again.text

    def _utterance_over(self) -> None:
        self._utterance_s = 0.0

    def _act(self, text: str, match: Match, heard: str | None = None) -> Exchange | None:
        """Take what was said to the dialogue, and speak its reply (cutting off what is being said)."""
        heard = text if heard is None else heard
        exchange = self.conversation.hear(text, at=self.clock(), match=match)
        reply = exchange.reply
        if reply.ignored:
            return None
        if reply.interrupt:
            self.speaker.interrupt()
        self.speaker.say(reply.lines)
        self.emit(f"heard: {heard}  [{match.intent} {match.confidence:.2f}]")
        for line in reply.lines:
            self.emit(f"say: {line}")
        if reply.notice:
            self.emit(f"({reply.notice})")
        return exchange

    def _restart(self) -> None:
        self._utterance_over()
        self.recognizer.reset()
        self.quiet.reset()
        if self.commands is not None:
            self.commands.reset()

    def run(self, chunks: Iterable[bytes]) -> None:
        """Feed a stream; an error in one turn is reported and the loop goes on."""
        for chunk in chunks:
            try:
                self.feed(chunk)
            except SkillError as error:
                print(f"voice-skill: {error}", file=sys.stderr, flush=True)
                self._restart()
            except Exception as error:  # one bad turn must not end the loop
                print(f"voice-skill: error in this turn, still listening ({type(error).__name__}: {error})",
                      file=sys.stderr, flush=True)
                self._restart()


# --- the command -----------------------------------------------------------------------------------


class PrintOnly:
    """Stands in for the speaker when there is none: the lines are printed, nothing is played."""

    speaking = False
    last_sound_at = 0.0

    def say(self, lines: Sequence[str]) -> None:
        pass

    def interrupt(self) -> None:
        pass

    def duck(self, on: bool) -> None:
        pass

    def wait(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        pass


def open_speaker(args, kb: knowledge.KnowledgeBase) -> SpeakerLike:
    """The real speaker with every line rendered in advance, or PrintOnly with a one-line notice."""
    from voice_skill.speech_out import Speaker, Synthesizer

    try:
        synthesizer = Synthesizer(args.lang, args.voice, args.rate)
        synthesizer.prepare(kb.all_lines(args.lang))
        return Speaker(synthesizer, _device(args.output_device))
    except SkillError as error:
        print(f"voice-skill: {error}; printing what I would say instead", file=sys.stderr, flush=True)
        return PrintOnly()


def open_canceller(args, speaker: SpeakerLike) -> EchoCanceller | None:
    """The echo canceller, fed what the speaker plays; None (with a one-line notice if it was wanted
    and cannot run) means today's deaf-while-speaking loop."""
    if args.no_barge_in or not hasattr(speaker, "on_played"):
        return None
    if ENGINES[args.lang] != "vosk":  # the command decoder is Vosk's, with the English grammar
        print(f"voice-skill: listening while speaking is not available for '{args.lang}' yet",
              file=sys.stderr, flush=True)
        return None
    try:
        canceller = EchoCanceller()
    except SkillError as error:
        print(f"voice-skill: {error}; not listening while speaking", file=sys.stderr, flush=True)
        return None
    if canceller.notice:
        print(f"voice-skill: {canceller.notice}", file=sys.stderr, flush=True)
    speaker.on_played = canceller.played
    return canceller


def open_commands(kb: knowledge.KnowledgeBase, recognizer: Recognizer, conversation: Conversation,
                  canceller: EchoCanceller) -> CommandListener:
    """The second decoder, heard while the skill speaks: the same Vosk model, with a grammar of only
    what may interrupt it (open_canceller allows barge-in only where the recogniser is Vosk)."""
    model = recognizer.model
    return CommandListener(Recognizer(model, grammar_phrases(kb, model, INTERRUPTING)), conversation.matcher, canceller,
                           kb.clipped(MODEL_LANGUAGE, INTERRUPTING))


def run(args) -> int:
    signal.signal(signal.SIGINT, _on_ctrl_c)
    kb = knowledge.load(args.responses)
    recognizer = open_recognizer(args.lang, None if args.free else kb, args.model)
    speaker = open_speaker(args, kb)
    conversation = Conversation(kb, args.lang, hands_free=True)
    canceller = None if args.demo else open_canceller(args, speaker)
    commands = None if canceller is None else open_commands(kb, recognizer, conversation, canceller)
    loop = HandsFree(recognizer, conversation, speaker, emit=lambda line: print(line, flush=True), commands=commands,
                     show_unacted=args.verbose)
    try:
        if args.demo:
            return _demo(loop, speaker, args.demo, args.channels)
        try:
            microphone = Microphone(_device(args.input_device), canceller, args.channels)
        except SkillError as error:
            if args.input_device is not None or args.channels is not None:  # a microphone was named: no demo
                raise
            print(f"voice-skill: {error}", file=sys.stderr, flush=True)
            return _demo(loop, speaker, DEMO_RECORDING)
        learner = _room_learner(speaker, canceller, [kb.say("ready", args.lang)], args.verbose)
        _listen_forever(loop, microphone, args, learner)
        return 0
    except KeyboardInterrupt:
        print("Stopped.", flush=True)
        return 0
    finally:
        speaker.close()


def _on_ctrl_c(signum, frame) -> None:
    """Ctrl-C must end the program. Closing the audio devices can hang inside the ALSA PulseAudio
    plugin, so the way out is guaranteed first: after a grace period the process leaves anyway."""
    timer = threading.Timer(SHUTDOWN_GRACE_S, lambda: (print("Stopped.", flush=True), os._exit(0)))
    timer.daemon = True
    timer.start()
    raise KeyboardInterrupt


def _room_learner(speaker: SpeakerLike, canceller: EchoCanceller | None, lines: Sequence[str],
                  verbose: bool = False) -> Callable[[Iterable[bytes]], None] | None:
    """With barge-in on: at start-up, say the ready line so the canceller learns the room from it
    (voice_skill.echo.learn_room); a device that sat quiet all night can then be stopped in the first
    sentence it speaks when the cramp comes."""
    if canceller is None:
        return None

    def learn(chunks: Iterable[bytes]) -> None:
        for line in lines:  # printed once, as it may be said again
            print(f"say: {line}", flush=True)
        said = learn_room(speaker, chunks, canceller, lines)
        if verbose:
            print(f"(start-up: said it {said} time(s); the echo canceller learnt the room: {canceller.learnt}; "
                  f"its echo {canceller.lag_s:.3f} s behind)", flush=True)

    return learn


def _listen_forever(loop: HandsFree, microphone: Microphone, args,
                    learn: Callable[[Iterable[bytes]], None] | None = None) -> None:
    announced = False
    while True:
        loop.hear_again = microphone.hear_again
        try:
            with microphone:
                if not announced:
                    if args.verbose:
                        print(f"({microphone.describe()})", flush=True)
                    if learn is not None:  # before anyone can ask, with the microphone open
                        learn(microphone.chunks())
                    print("Listening", flush=True)
                    announced = True
                loop.run(microphone.chunks())
        except SkillError as error:  # the device went away: say so once, then keep trying
            print(f"voice-skill: {error}; retrying", file=sys.stderr, flush=True)
            time.sleep(MIC_RETRY_S)
            try:
                microphone = Microphone(_device(args.input_device), microphone.canceller, args.channels)
            except SkillError:
                pass


def _demo(loop: HandsFree, speaker, recording: Path, channels: Sequence[int] | None = None) -> int:
    """No microphone: hear a recording at the pace it was spoken, through the same pipeline."""
    print(f"No microphone: as a demonstration, hearing the recording {recording.name}", flush=True)
    print("Listening", flush=True)
    pace = CHUNK_MS / 1000

    def paced():
        for chunk in file_chunks(recording, channels):
            yield chunk
            time.sleep(pace)
        silence = bytes(len(chunk))
        for _ in range(int(1.0 / pace)):  # a moment of quiet after it, as a room would have
            yield silence
            time.sleep(pace)

    loop.run(paced())
    speaker.wait(30)
    return 0


def _chunked(audio: bytes) -> Iterable[bytes]:
    step = 2 * CHUNK_FRAMES
    return (audio[start:start + step] for start in range(0, len(audio), step))


def _device(value: str | None) -> int | str | None:
    return int(value) if value is not None and value.isdigit() else value
