"""Barge-in: commands heard over the skill's own voice, and its own voice never taken for one.

    nice -n 10 .venv/bin/python -m bench.barge_in [--minutes 30] [--talk-minutes 30] [--seed 11]

Runs faster than real time, offline: the echo path is simulated (the blocks the speaker really
played, delayed and given a reverberant tail, added to the microphone: lowered when it ducks, as the
skill's speaker does while someone is heard, --duck-db) and everything after it is the skill's own
code: the echo canceller (voice_skill.echo) fed the exact samples played, the end-of-speech detector,
and the while-speaking command decoder and rule (voice_skill.barge_in, with the clipped forms of
commands unless --no-clipped).

1. Recognition: each command recording (tests/recordings/clean next_*, stop_*, repeat_*, every
   voice) said 1.5 s into step 1 and into the hint (each played after the help line, so the canceller
   has learnt the room), at +6, 0 and -6 dB speech-to-echo (RMS over the command's speech); also
   with the raw microphone (no canceller) for comparison.
2. Time from the command's end to the loop's decision (the speaker then stops within its own
   output latency, about 35 ms, measured in the room test).
3. Self-triggers: every line in both languages, looped back with no one talking, for --minutes
   of the skill's speech (varying the echo level and delay); any command found is one.
4. Other people's talk while it speaks (--talk-minutes): ordinary speech (bench/ordinary_speech.txt,
   read by the bench's espeak readers, one after another as a TV or a conversation goes on) as loud at
   the microphone as its own echo, over its lines; any command found is one it should not have taken.
5. Real-time factor of the while-speaking path (canceller + decoder + rule) on this machine.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from voice_skill import knowledge
from voice_skill.audio_in import SAMPLE_RATE, read_file
from voice_skill.barge_in import CommandListener
from voice_skill.echo import EchoCanceller
from voice_skill.for_us import INTERRUPTING
from voice_skill.matcher import Matcher
from voice_skill.recognizer import MODEL_LANGUAGE, Recognizer, find_model, grammar_phrases, load_model
from voice_skill.speech_out import Synthesizer, gain_ramp
from voice_skill.tuning import DUCK_DB

ROOT = Path(__file__).resolve().parent.parent
CLEAN = ROOT / "tests" / "recordings" / "clean"
CHUNK = SAMPLE_RATE // 20  # the microphone delivers 50 ms blocks
PLAY_BLOCK = 1024  # samples per output callback at the voice's rate (about 46 ms at 22050 Hz)
OUTPUT_AHEAD_S = 0.1  # the speaker's blocks are handed over this long before they are heard
ECHO_RMS = 0.05  # the echo's level at the microphone (about -26 dBFS)
COMMAND_AT_S = 1.5
SERS_DB = (6, 0, -6)


@dataclass
class Outcome:
    intent: str | None
    text: str
    decided_at: float | None  # seconds into the simulation


def room_response(delay_s: float, rng: np.random.Generator) -> np.ndarray:
    """The room: a direct path after `delay_s` and a short decaying tail (about 0.2 s, -12 dB)."""
    tail_n = int(0.2 * SAMPLE_RATE)
    tail = rng.standard_normal(tail_n) * np.exp(-np.arange(tail_n) / (0.05 * SAMPLE_RATE))
    response = np.zeros(int(delay_s * SAMPLE_RATE) + tail_n)
    start = int(delay_s * SAMPLE_RATE)
    response[start] = 1.0
    response[start + 16:] += 0.25 * tail[:len(response) - start - 16] / np.sqrt(np.sum(tail ** 2))
    return response


def echo_path(played16: np.ndarray, delay_s: float, rng: np.random.Generator) -> np.ndarray:
    return convolve(played16, room_response(delay_s, rng))


def convolve(signal: np.ndarray, response: np.ndarray) -> np.ndarray:
    """`signal` through `response`, as long as `signal` (by FFT: the lines run for minutes)."""
    size = 1 << int(np.ceil(np.log2(len(signal) + len(response))))
    return np.fft.irfft(np.fft.rfft(signal, size) * np.fft.rfft(response, size), size)[:len(signal)]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def speech_part(x: np.ndarray) -> np.ndarray:
    """The samples of 10 ms frames within 30 dB of the loudest: the speech, not its silences."""
    frames = x[:len(x) // 160 * 160].reshape(-1, 160)
    levels = np.sqrt((frames ** 2).mean(axis=1))
    return frames[levels > levels.max() * 10 ** (-30 / 20)].ravel()


class Simulation:
    """One microphone and one speaker on a simulated clock, through the skill's own while-speaking path."""

    def __init__(self, model, kb, cancel: bool = True, aec: dict | None = None, duck_db: float | None = None,
                 clipped: bool = True) -> None:
        self.matcher = Matcher(kb)
        self.clipped = kb.clipped(MODEL_LANGUAGE, INTERRUPTING) if clipped else {}
        self.grammar = [p for p in grammar_phrases(kb, model, INTERRUPTING) if clipped or p not in kb.clipped(MODEL_LANGUAGE, INTERRUPTING)]
        self.model = model
        self.cancel = cancel
        self.aec = aec or {}  # EchoCanceller's AEC3 settings
        self.duck = None if duck_db is None else 10 ** (-abs(duck_db) / 20)  # the speaker's gain while ducked
        self.echo_energy = [0.0, 0.0]  # of the echo in the microphone, and of what the canceller left of it
        self.judged: list[tuple[float, str]] = []  # every utterance the command decoder judged, and when
        self.ducks = 0  # times the speaker lowered its voice (a person's sound heard, or taken to be)

    def run(self, played: np.ndarray, rate: int, mic_extra: np.ndarray, delay_s: float, echo_gain: float,
            rng: np.random.Generator) -> list[Outcome]:
        """Play `played` (at `rate`), hear its echo plus `mic_extra` (16 kHz float); every command found.

        The microphone hears what the speaker really played, block by block (ducked, if it was): each
        block, at its gain, goes through the room (room_response) as it is played."""
        canceller = EchoCanceller(**self.aec) if self.cancel else None
        listener = CommandListener(Recognizer(self.model, self.grammar), self.matcher, canceller, self.clipped)
        response = room_response(delay_s, rng)
        n = max(int(len(played) * SAMPLE_RATE / rate), len(mic_extra))
        others = np.pad(mic_extra, (0, n - len(mic_extra))) + rng.standard_normal(n) * 1e-4  # a quiet room's floor
        speaker = SimulatedSpeaker(played, rate, len(response))
        found: list[Outcome] = []
        for at in range(0, n - CHUNK + 1, CHUNK):
            now = at / SAMPLE_RATE
            while speaker.handed_s < now + CHUNK / SAMPLE_RATE + OUTPUT_AHEAD_S:
                block, heard_at = speaker.play()
                if canceller is not None:
                    canceller.played(block, rate, heard_at)
            echo = echo_gain * speaker.echo(at, CHUNK, response)
            chunk = (np.clip(echo + others[at:at + CHUNK], -1, 1) * 32767).astype("<i2").tobytes()
            if canceller is not None:
                raw = chunk
                chunk = canceller.process(chunk, now)
                if canceller.learnt and not mic_extra.any():
                    self.echo_energy[0] += float(np.sum(np.frombuffer(raw, "<i2").astype(np.float64) ** 2))
                    self.echo_energy[1] += float(np.sum(np.frombuffer(chunk, "<i2").astype(np.float64) ** 2))
            command = listener.feed(chunk)
            if listener.judged is not None:
                self.judged.append((now, listener.judged))
                listener.judged = None
            if command is not None:
                found.append(Outcome(command.match.intent, command.text, now + CHUNK / SAMPLE_RATE))
                listener.reset()
            if self.duck is not None:
                ducked = listener.hearing_someone
                self.ducks += ducked and not speaker.ducked
                speaker.set_gain(self.duck if ducked else 1.0)
        return found


class SimulatedSpeaker:
    """The output stream: hands on PLAY_BLOCK blocks of `played` at the gain it is set to (ramped
    over a block, as voice_skill.speech_out.Speaker does), and keeps what it played at 16 kHz."""

    def __init__(self, played: np.ndarray, rate: int, history: int) -> None:
        self.played, self.rate = played, rate
        self.handed = 0
        self.gain = self._last_gain = 1.0
        self._resampler = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32")
        # what it played at 16 kHz, from absolute sample -history on (room for the resampler's flush)
        self._heard = np.zeros(history + int(len(played) * SAMPLE_RATE / rate) + 4 * PLAY_BLOCK, np.float32)
        self._heard_end = self._history = history

    @property
    def handed_s(self) -> float:
        return self.handed * PLAY_BLOCK / self.rate

    @property
    def ducked(self) -> bool:
        return self.gain < 1.0

    def set_gain(self, gain: float) -> None:
        self.gain = gain

    def play(self) -> tuple[np.ndarray, float]:
        block = self.played[self.handed * PLAY_BLOCK:(self.handed + 1) * PLAY_BLOCK]
        block = np.pad(block, (0, PLAY_BLOCK - len(block))) * gain_ramp(self._last_gain, self.gain, PLAY_BLOCK)
        self._last_gain = self.gain
        heard_at = self.handed_s
        self.handed += 1
        heard = self._resampler.resample_chunk(block.astype(np.float32))
        if self._heard_end + len(heard) > len(self._heard):
            self._heard = np.pad(self._heard, (0, len(heard) + SAMPLE_RATE))
        self._heard[self._heard_end:self._heard_end + len(heard)] = heard
        self._heard_end += len(heard)
        return block, heard_at

    def echo(self, at: int, size: int, response: np.ndarray) -> np.ndarray:
        """The echo heard in microphone samples [at, at + size) (16 kHz)."""
        start = at + self._history - len(response) + 1
        heard = self._heard[start:at + self._history + size]
        heard = np.pad(heard, (0, len(response) - 1 + size - len(heard)))
        return convolve(heard, response)[len(response) - 1:]


def command_recordings() -> list[tuple[str, Path]]:
    files = sorted(p for p in CLEAN.glob("*.wav") if p.name.split("_")[0] in ("next", "stop", "repeat"))
    return [(p.name.split("_")[0], p) for p in files]


@dataclass
class Said:
    heard: bool  # the command was acted on
    delay_s: float | None  # from the command's end to the decision
    words: str  # every utterance the command decoder judged from the command's start on


def said_over(sim: Simulation, intent: str, voice: np.ndarray, line: np.ndarray, primer: np.ndarray, rate: int,
              ser_db: float, rng: np.random.Generator) -> Said:
    """`voice` (16 kHz float, meaning `intent`) said COMMAND_AT_S into `line`, at `ser_db` speech-to-echo
    (RMS over the command's speech and the line's). The line follows `primer` (0.4 s apart): a device
    that has spoken before, its canceller past its first 1.5 s."""
    speech = speech_part(voice)
    loud = np.flatnonzero(np.abs(voice) > np.abs(voice).max() * 0.03)
    command_end_in_file = (loud[-1] + 1) / SAMPLE_RATE
    played = np.concatenate([primer, np.zeros(int(0.4 * rate), np.float32), line])
    said_at = (len(played) - len(line)) / rate + COMMAND_AT_S
    echo_gain = ECHO_RMS / max(rms(speech_part(line)), 1e-9)
    extra = np.zeros(int(said_at * SAMPLE_RATE) + len(voice))
    extra[int(said_at * SAMPLE_RATE):] = ECHO_RMS * 10 ** (ser_db / 20) / rms(speech) * voice
    sim.judged.clear()
    outcomes = sim.run(played, rate, extra, 0.04, echo_gain, rng)
    hits = [o for o in outcomes if o.intent == intent and o.decided_at >= said_at]
    words = " / ".join(text for at, text in sim.judged if at >= said_at and text) or "nothing"
    return Said(bool(hits), hits[0].decided_at - (said_at + command_end_in_file) if hits else None, words)


def recognition(sim: Simulation, lines: list[np.ndarray], primer: np.ndarray, rate: int, rng) -> dict:
    """Each command recording said over each line (said_over), at each speech-to-echo ratio."""
    results: dict[int, list[tuple[str, bool, float | None, str]]] = {ser: [] for ser in SERS_DB}  # ..., what was heard
    for intent, path in command_recordings():
        voice = read_file(path).astype(np.float32) / 32768
        for line in lines:
            for ser in SERS_DB:
                said = said_over(sim, intent, voice, line, primer, rate, ser, rng)
                results[ser].append((intent, said.heard, said.delay_s, said.words))
    return results


def self_triggers(sim: Simulation, voices: dict[str, Synthesizer], kb, minutes: float, rng) -> tuple[float, list]:
    """Loop every line back with no one talking until `minutes` of its speech; every command found is one.

    One pass plays all the lines of a language in a shuffled order, 0.4 s apart, through one canceller
    (as a device would, running on), at an echo level and delay drawn afresh for each pass."""
    spoken_s, found = 0.0, []
    while spoken_s < minutes * 60:
        for lang, voice in voices.items():
            lines = [voice.render(line) for line in kb.all_lines(lang)]
            rate = voice.output_rate()
            gap = np.zeros(int(0.4 * rate), np.float32)
            order = rng.permutation(len(lines))
            played = np.concatenate([part for i in order for part in (lines[i], gap)])
            gain = ECHO_RMS * 10 ** (rng.uniform(-6, 6) / 20) / max(rms(speech_part(played)), 1e-9)
            found += sim.run(played, rate, np.zeros(0, np.float32), rng.uniform(0.02, 0.08), gain, rng)
            spoken_s += sum(len(line) for line in lines) / rate
    return spoken_s, [f"{o.text!r} [{o.intent}]" for o in found]


def talk_over(sim: Simulation, voice: Synthesizer, kb, minutes: float, rng, stretch_s: float = 300.0) -> tuple[float, list]:
    """Other people's talk (bench.make_audio's ordinary speech, its espeak readers in turn) at the echo's
    level while the skill speaks its English lines on, in stretches of `stretch_s` through one canceller
    and decoder each; every command found is one taken from talk not meant for it."""
    from bench.make_audio import ORDINARY_ONLY, VOICES, mr, ordinary_paragraphs, read_aloud

    synth = mr.Synth(piper=False)
    readers = [reader for reader in (*VOICES, ORDINARY_ONLY) if reader.espeak]  # Piper is not in .venv
    readings = [(paragraph, reader) for reader in readers for paragraph in ordinary_paragraphs()]
    rng.shuffle(readings)
    talk, heard_s, found = [], 0.0, []
    lines = [voice.render(line) for line in kb.all_lines("en")]
    rate = voice.output_rate()
    gap = np.zeros(int(0.4 * rate), np.float32)
    for paragraph, reader in readings:
        talk.append(read_aloud(synth, paragraph, reader, rng))
        if sum(map(len, talk)) < stretch_s * SAMPLE_RATE and (paragraph, reader) != readings[-1]:
            continue
        others = np.concatenate(talk)
        talk = []
        played = np.concatenate([part for _ in range(1 + int(len(others) / SAMPLE_RATE // 60))
                                 for i in rng.permutation(len(lines)) for part in (lines[i], gap)])
        played = played[:int((len(others) / SAMPLE_RATE + 0.5) * rate)]
        gain = ECHO_RMS / max(rms(speech_part(played)), 1e-9)
        found += sim.run(played, rate, others * ECHO_RMS / rms(speech_part(others)), 0.04, gain, rng)
        heard_s += len(others) / SAMPLE_RATE
        if heard_s >= minutes * 60:
            break
    return heard_s, [f"{o.text!r} [{o.intent}]" for o in found]


def summarize(name: str, results: dict, verbose: bool = False) -> None:
    for ser, rows in results.items():
        heard = [r for r in rows if r[1]]
        delays = sorted(r[2] for r in heard)
        by_intent = " ".join(f"{intent} {sum(r[1] for r in rows if r[0] == intent)}/{sum(r[0] == intent for r in rows)}"
                             for intent in sorted({r[0] for r in rows}))
        timing = (f"command end to decision p50 {np.percentile(delays, 50) * 1000:.0f} ms, "
                  f"p90 {np.percentile(delays, 90) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms") if delays else ""
        print(f"  {name} {ser:+d} dB: heard {len(heard)}/{len(rows)} ({100 * len(heard) / len(rows):.0f}%; {by_intent})  {timing}")
        if verbose:
            print("      missed, heard as: " + "; ".join(f"{r[0]}: {r[3]!r}" for r in rows if not r[1]))
            print("      heard, as: " + "; ".join(f"{r[0]}: {r[3]!r}" for r in rows if r[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="minutes of its own speech looped back (default 5; 0: none)")
    parser.add_argument("--skip-raw", action="store_true", help="skip the no-canceller comparison")
    parser.add_argument("--seed", type=int, default=11, help="the simulation's random choices (default 11)")
    parser.add_argument("--noise-suppression", action="store_true", help="AEC3 with its noise suppression on")
    parser.add_argument("--no-high-pass", action="store_true", help="AEC3 without its high-pass filter")
    parser.add_argument("--no-gain-control", action="store_true", help="AEC3 without its automatic gain control")
    parser.add_argument("--aec3-defaults", action="store_true",
                        help="livekit's AEC3 with its default settings, not the skill's (tuning.AEC3_SETTINGS)")
    parser.add_argument("--only-self", action="store_true", help="only the self-triggers (and the real-time factor)")
    parser.add_argument("--talk-minutes", type=float, default=0.0,
                        help="minutes of other people's talk at the echo's level while it speaks (default 0: none)")
    parser.add_argument("--no-clipped", action="store_true",
                        help="without the clipped forms of commands (responses: clipped_en, e.g. \"top\" for stop)")
    parser.add_argument("--verbose", action="store_true", help="what the command decoder heard where it missed")
    parser.add_argument("--duck-db", type=float, default=DUCK_DB,
                        help=f"the speaker lowers its voice by this many dB while a person's sound is heard (default {DUCK_DB:g}, as the skill)")
    parser.add_argument("--no-duck", action="store_true", help="the speaker never lowers its voice")
    args = parser.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    rng = np.random.default_rng(args.seed)
    kb = knowledge.load()
    model = load_model(find_model())
    voices = {lang: Synthesizer(lang) for lang in knowledge.LANGUAGES}
    rate = voices["en"].output_rate()
    steps = [voices["en"].render(kb.lines("cramp_relief", "en")[0]), voices["en"].render(kb.say("relief_hint", "en"))]
    primer = voices["en"].render(kb.lines("help", "en")[0])
    print(f"{len(command_recordings())} command recordings x {len(steps)} lines (step 1, the hint) "
          f"x {len(SERS_DB)} speech-to-echo ratios; echo 40 ms, about -26 dBFS; each line after the help line")
    if args.no_duck:
        args.duck_db = None
    aec = dict(noise_suppression=args.noise_suppression, high_pass_filter=not args.no_high_pass,
               auto_gain_control=not args.no_gain_control)
    if args.aec3_defaults:
        aec["settings"] = None
    print(f"AEC3 settings: {aec}; ducking: {'off' if args.duck_db is None else f'-{abs(args.duck_db):g} dB'}")
    print(f"clipped forms: {'none' if args.no_clipped else kb.clipped(MODEL_LANGUAGE, INTERRUPTING)}")
    sim = Simulation(model, kb, aec=aec, duck_db=args.duck_db, clipped=not args.no_clipped)
    started = time.process_time()
    if not args.only_self:
        summarize("cancelled", recognition(sim, steps, primer, rate, rng), verbose=args.verbose)
    if not args.skip_raw and not args.only_self:
        summarize("raw mic  ", recognition(Simulation(model, kb, cancel=False), steps, primer, rate, rng))
    cpu_recognition = time.process_time() - started
    if args.minutes > 0:
        report_self_triggers(sim, voices, kb, args.minutes, rng, cpu_recognition, ducking=args.duck_db is not None)
    if args.talk_minutes > 0:
        talk_s, taken = talk_over(sim, voices["en"], kb, args.talk_minutes, rng)
        print(f"taken from other people's talk at the echo's level: {len(taken)} in {talk_s / 60:.1f} min "
              f"= {len(taken) / (talk_s / 3600):.1f} per hour {taken if taken else ''}")
    return 0


def report_self_triggers(sim: Simulation, voices: dict[str, Synthesizer], kb, minutes: float, rng,
                         cpu_recognition: float, ducking: bool) -> None:
    started, wall = time.process_time(), time.perf_counter()
    ducks_before = sim.ducks
    spoken_s, seen = self_triggers(sim, voices, kb, minutes, rng)
    cpu = time.process_time() - started
    print(f"self-triggers: {len(seen)} in {spoken_s / 60:.1f} min of its own lines (en + id) looped back "
          f"= {len(seen) / (spoken_s / 3600):.1f} per hour {seen if seen else ''}")
    if ducking:
        print(f"ducked with no one talking: {sim.ducks - ducks_before} times = {(sim.ducks - ducks_before) / (spoken_s / 3600):.1f} per hour")
    removed = 10 * np.log10(sim.echo_energy[0] / max(sim.echo_energy[1], 1e-9))
    print(f"echo removed once learnt: {removed:.1f} dB (AEC3's two modes here: 50-60 dB, or 28-42 dB in the weak one)")
    print(f"real-time factor of the while-speaking path (CPU s / audio s): {cpu / spoken_s:.3f} "
          f"(wall {time.perf_counter() - wall:.0f} s, gaps included; recognition part took {cpu_recognition:.0f} CPU s)")


if __name__ == "__main__":
    sys.exit(main())
