"""Issue 28, item 5: the skill heard by 1, 2 and 4 microphones in simulated living rooms.

    nice -n 10 .venv/bin/python -m bench.rooms [--split dev|dev2|heldout] [--quick] [--minutes N] [--out FILE]
    nice -n 10 .venv/bin/python -m bench.rooms --split heldout --split dev --out bench/rooms-results.txt

The rooms are tests/make_room_recordings.py's (a request said over a TV; rendered into
bench/work/rooms/<split> if missing or stale). The held-out split is the one to report; the
beamformer's numbers are tuned on dev, and dev2 (dev's material in rooms drawn anew) says whether a
change that helped on dev helps beyond its draw of rooms. Conditions: one microphone (the 2-mic array's first), the
2-mic file downmixed to mono (what the skill did with it before the beamformer), and the 2- and
4-mic files through the beamformer (voice_skill/audio_in.py's multi-channel path). For each:

- answer: `voice-skill answer` in-process (one model for all files, as bench/answer.py; the
  beamformer hears each recording once before it is heard, as audio_in.file_chunks does): the
  relief request right n/N, and every intent right
- hands-free from idle: each recording fed to the real loop (bench/systems.py's skill-default),
  several channels through a fresh beamformer that has heard only what came before, as a live
  microphone's (audio_in.Recording(learn_first=False)), which, as `listen`'s, can hear an utterance
  the loop did not take again as the beam stands at its end (listen.HandsFree; --no-hearing-again):
  the relief request answered with the steps n/N (its first reply), and any reply during the TV
  alone before the request (must be none); p50 from the end of the words (the manifest's end_s
  less the rendering's padding) of a request answerable from idle (not a command, not `unknown`)
  answered right, to the loop's decision, chunks as the live microphone hands them over
  (audio_in.MIC_BLOCK_MS) at its pace (a virtual clock: each chunk's CPU time added once it has
  been recorded, as bench/measure.py's latency does with sleeps)
- false accepts: the benchmark's ordinary speech (bench/work/audio/ordinary, bench/make_audio.py)
  said from the person's place in a simulated room over a TV from another, paragraph by paragraph
  (make_room_recordings.scene: the TV alone, the talk over it, the TV), a new room every
  ROOM_MINUTES, streamed to the loop in the microphone's blocks; every reply counts, per hour heard
- CPU: the beamformer's real-time factor with 2 and 4 microphones (one pass: `answer` makes two),
  and the whole hands-free loop's (beamformer and Vosk) with 4, process time over audio time.
Each condition's recordings, and its talk, are a job of their own, WORKERS at a time.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile
import soxr

from voice_skill import knowledge
from voice_skill.audio_in import (CHUNK_MS, MIC_BLOCK_MS, SAMPLE_RATE, Recording, file_chunks, replayed,
                                  to_mono, to_pcm16)
from voice_skill.beamformer import Beamformer
from voice_skill.for_us import answer
from voice_skill.hearing import FileListener
from voice_skill.listen import Weighed
from voice_skill.matcher import RELIEF, UNKNOWN, Matcher

from bench.measure import AFTER_S, SILENCE
from bench.run import AUDIO, WORK, code_version, ordinary, read_tsv
from bench.systems import BYTES_PER_S, CONTROL_INTENTS, System, build

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import make_recordings as mr  # noqa: E402  (tests/ is not a package)
import make_room_recordings as rooms  # noqa: E402

ROOMS = WORK / "rooms"
ROOM_MINUTES = 5.0  # false accepts: the talk moves to a new room (and TV) this often
FA_SEED_OFFSET = 1  # false accepts' rooms: drawn from the split's seed plus this, apart from its recordings'
QUICK_EVERY = 5  # --quick: every fifth recording
QUICK_MINUTES = 3.0
WORKERS = 3  # jobs at a time: the conditions' recordings and talk are independent
HEAR_AGAIN = True  # --no-hearing-again: the live loop does not hear an utterance again (listen.HandsFree)
MIC_BLOCK_FRAMES = SAMPLE_RATE * MIC_BLOCK_MS // 1000  # the live conditions hear audio in the microphone's blocks
ANSWER = True  # --no-answer: hands-free and false accepts only
LOG_IDLE: Path | None = None  # --log-idle DIR: every utterance the live loop weighs from idle, for bench/replay_idle.py
Chunks = Callable[[Path], Iterable[bytes]]


@dataclass(frozen=True)
class Condition:
    name: str
    folder: str  # which of the split's renderings: 1ch, 2ch, 4ch
    mics: int  # how many channels the false-accept stream gives it (0: not measured there)
    chunks: Chunks  # a recording as `answer` hears it
    live: Chunks  # a recording as the live microphone would hear it, from idle (no hearing it first)


def downmix_chunks(path: Path, block_ms: int = CHUNK_MS) -> Iterator[bytes]:
    """A recording of several channels averaged to one, as audio_in did before the beamformer."""
    with soundfile.SoundFile(str(path)) as audio:
        resampler = soxr.ResampleStream(audio.samplerate, SAMPLE_RATE, 1, dtype="float32")
        blocksize = max(1, audio.samplerate * block_ms // 1000)
        for block in audio.blocks(blocksize=blocksize, dtype="float32", always_2d=True):
            if len(converted := resampler.resample_chunk(to_mono(block))):
                yield to_pcm16(converted)


def live_chunks(path: Path) -> Recording:
    """audio_in's path as a live microphone takes it: in its blocks (MIC_BLOCK_MS), and without
    hearing the recording first: what its beamformer has heard of this room is only what came before
    (and, as a microphone's, it can hear its last seconds again)."""
    return Recording(path, learn_first=False, block_ms=MIC_BLOCK_MS)


def live_downmix_chunks(path: Path) -> Iterator[bytes]:
    return downmix_chunks(path, MIC_BLOCK_MS)


def listen_with(system: System, source: object, log: IdleLog | None = None) -> None:
    """Give the loop its source's hearing again (a Microphone's, in `listen`), if it has one, and the
    log of what it weighs from idle, if one is kept."""
    system.loop.hear_again = getattr(source, "hear_again", None) if HEAR_AGAIN else None
    system.loop.on_weighed = log


class IdleLog:
    """Each utterance a live loop weighs from idle at its end (listen.Weighed), a JSON line in
    <folder>/<split>-<condition>-<part>.jsonl, with where it was heard: the recording (none in the
    talk) and how many seconds into it (`at_s`, kept up to date by whoever feeds the loop)."""

    def __init__(self, folder: Path, split: str, condition: str, part: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{split}-{condition.replace(',', '').replace(' ', '-')}-{part}.jsonl"
        self.path.write_text("")
        self.split, self.condition = split, condition
        self.recording, self.at_s = "", 0.0

    def __call__(self, weighed: Weighed) -> None:
        took, match = weighed.understood or (None, None)
        record = {"split": self.split, "condition": self.condition, "recording": self.recording,
                  "at_s": round(self.at_s, 2), "text": weighed.text,
                  "prominences_db": _floats(weighed.prominences_db), "confidences": _floats(weighed.confidences),
                  "took": took, "intent": None if match is None else match.intent}
        with self.path.open("a") as out:
            out.write(json.dumps(record) + "\n")


def idle_log(split: str, condition: str, part: str) -> IdleLog | None:
    return IdleLog(LOG_IDLE, split, condition, part) if LOG_IDLE is not None else None


def _floats(values: list[float] | None) -> list[float] | None:
    return None if values is None else [float(v) for v in values]


CONDITIONS = (
    Condition("1 mic", "1ch", 1, file_chunks, live_chunks),
    Condition("2 mics, downmix", "2ch", 0, downmix_chunks, live_downmix_chunks),
    Condition("2 mics", "2ch", 2, file_chunks, live_chunks),
    Condition("4 mics", "4ch", 4, file_chunks, live_chunks),
)


@dataclass
class Figures:
    relief_files: list[bool] = field(default_factory=list)
    all_files: list[bool] = field(default_factory=list)
    relief_hands_free: list[bool] = field(default_factory=list)
    tv_alone: list[str] = field(default_factory=list)  # what the loop said before the request began
    tv_alone_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    loop_cpu_s: float = 0.0
    loop_audio_s: float = 0.0
    fa: list[str] = field(default_factory=list)
    fa_s: float = 0.0
    fa_speech_s: float = 0.0
    missed: list[str] = field(default_factory=list)


# --- answer ---------------------------------------------------------------------------------------


def answer_files(listener: FileListener, matcher: Matcher, rows: list[dict], folder: Path, condition: Condition,
                 figures: Figures) -> None:
    """Each recording through what `voice-skill answer` does: the grammar transcript, a second
    reading and the free decoding when answer() asks for them (all from the same chunks)."""
    for row in rows:
        chunks = list(condition.chunks(folder / condition.folder / row["name"]))
        transcript = listener.recognizer.transcribe(chunks)
        text, match = answer(transcript, matcher, functools.cache(lambda: listener.recognizer.reread(chunks)),
                             lambda: listener.recognizer.hear_freely(chunks), listener.spoken_s())
        figures.all_files.append(match.intent == row["intent"])
        if row["intent"] == RELIEF:
            figures.relief_files.append(match.intent == RELIEF)
            if match.intent != RELIEF:
                figures.missed.append(f"answer {row['name']}: {transcript!r} -> {match.intent}")


# --- hands-free from idle -------------------------------------------------------------------------


def timed(chunks: Iterable[bytes]) -> Iterator[tuple[bytes, float]]:
    """Each chunk with the CPU time it took to make (reading, resampling, the beamformer)."""
    iterator = iter(chunks)
    while True:
        started = time.process_time()
        chunk = next(iterator, None)
        if chunk is None:
            return
        yield chunk, time.process_time() - started


def with_quiet_after(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Then quiet, as after someone stops talking (bench/measure.py's AFTER_S)."""
    yield from chunks
    for _ in range(round(AFTER_S * BYTES_PER_S / len(SILENCE))):
        yield SILENCE


def speech_end_s(row: dict) -> float:
    """Where the request's words end: the manifest's end_s is the end of the request as rendered,
    mr.utterance's TAIL_S of silence after the words included (bench/measure.py's latency counts from
    the words' end, bench/make_audio.py's speech_end_s: the same to 10 ms)."""
    return float(row["end_s"]) - mr.TAIL_S


def hands_free(system: System, rows: list[dict], folder: Path, condition: Condition, figures: Figures,
               log: IdleLog | None = None) -> None:
    """Each recording heard from idle by the real loop, at the microphone's pace on a virtual clock:
    a chunk is handed over once recorded, and the loop is busy for the CPU time it and its making took."""
    for row in rows:
        system.reset(active=False)
        source = condition.live(folder / condition.folder / row["name"])
        listen_with(system, source, log)
        if log is not None:
            log.recording = row["name"]
        start_s, end_s = float(row["start_s"]), speech_end_s(row)
        recorded_s = ready_s = 0.0
        relief = answered = False
        for chunk, making_s in timed(with_quiet_after(source)):
            recorded_s += len(chunk) / BYTES_PER_S
            if log is not None:
                log.at_s = recorded_s
            started = time.process_time()
            reply = system.feed(chunk)
            cost_s = making_s + time.process_time() - started
            ready_s = max(ready_s, recorded_s) + cost_s
            figures.loop_cpu_s += cost_s
            if reply is None:
                continue
            if recorded_s <= start_s:
                figures.tv_alone.append(f"{row['name']} at {recorded_s:.1f} s: {reply.intent} <- {reply.heard!r}")
            elif not answered:
                answered, relief = True, reply.intent == RELIEF
                if reply.intent == row["intent"] and row["intent"] not in (*CONTROL_INTENTS, UNKNOWN):
                    figures.latencies_s.append(ready_s - end_s)
        figures.loop_audio_s += recorded_s
        figures.tv_alone_s += start_s
        if row["intent"] == RELIEF:
            figures.relief_hands_free.append(relief)
            if not relief:
                figures.missed.append(f"hands-free {row['name']}: {' | '.join(system.heard)!r}")


# --- false accepts: ordinary speech in rooms ------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    """One paragraph of talk in a room: (samples, mics) for the 2- and 4-mic arrays."""

    two: np.ndarray
    four: np.ndarray
    speech_s: float
    new_room: bool  # the first paragraph in a room


def talk_in_rooms(split: str, paths: list[str]) -> Iterator[Placed]:
    """Each ordinary-speech file said from the person's place over the split's TV from another
    place, a new room (and TV bed) every ROOM_MINUTES; rendered one paragraph at a time."""
    seed = rooms.SEEDS[split] + FA_SEED_OFFSET
    rng = np.random.default_rng(seed)
    beds = rooms.tv_beds(mr.Synth(piper=False), rooms.HELDOUT_TVS if split == "heldout" else rooms.DEV_TVS, seed)
    in_room_s, responses = float("inf"), None
    for path in paths:
        new_room = in_room_s >= ROOM_MINUTES * 60
        if new_room:
            room = rooms.draw_room(rng)
            responses = {mics: rooms.impulse_responses(room, mics) for mics in (2, 4)}
            bed = beds[int(rng.integers(len(beds)))]
            in_room_s = 0.0
        talk, rate = soundfile.read(path, dtype="float64")
        assert rate == rooms.RATE, f"{path}: {rate} Hz"
        length = int((rooms.LEAD_S + rooms.TAIL_S) * rate) + len(talk)
        tv = np.take(bed, np.arange(length) + int(rng.integers(len(bed))), mode="wrap")
        two, four = (rooms.scene(talk, tv, *responses[mics])[0] for mics in (2, 4))
        in_room_s += len(talk) / rate
        yield Placed(two, four, len(talk) / rate, new_room)


class Stream:
    """One condition's live microphone over the false-accept talk: the array's channels as int16
    blocks (as captured), through a beamformer that keeps learning (a new one in each room), to the loop."""

    def __init__(self, system: System, mics: int, figures: Figures, log: IdleLog | None = None) -> None:
        self.system, self.mics, self.figures, self.log = system, mics, figures, log
        self.beamformer: Beamformer | None = None
        self.heard_s = 0.0
        self.reset()

    def reset(self) -> None:
        self.system.reset(active=False)
        listen_with(self.system, self, self.log)

    def hear_again(self, seconds: float) -> bytes | None:
        return replayed(self.beamformer, seconds)

    def new_room(self) -> None:
        self.beamformer = Beamformer(self.mics) if self.mics > 1 else None

    def hear(self, placed: Placed) -> None:
        audio = placed.four if self.mics == 4 else placed.two[:, : self.mics]
        captured = to_pcm16(audio)  # what the microphone delivers: 16-bit samples
        blocks = np.frombuffer(captured, dtype="<i2").reshape(-1, self.mics)
        for start in range(0, len(blocks), MIC_BLOCK_FRAMES):
            block = blocks[start:start + MIC_BLOCK_FRAMES].astype(np.float32) / 32768
            chunk = to_pcm16(block[:, 0] if self.beamformer is None else self.beamformer.process(block))
            self.heard_s += len(chunk) / BYTES_PER_S
            if self.log is not None:
                self.log.at_s = self.heard_s
            if reply := self.system.feed(chunk):
                self.figures.fa.append(f"{self.heard_s / 60:.1f} min: {reply.intent} <- {reply.heard!r}")
                self.reset()
        self.figures.fa_s = self.heard_s
        self.figures.fa_speech_s += placed.speech_s


def false_accepts(split: str, minutes: float, name: str) -> Figures:
    """The talk heard by one condition's live microphone and loop: its false-accept figures."""
    figures = Figures()
    stream = Stream(build("skill-default"), next(c.mics for c in CONDITIONS if c.name == name), figures,
                    idle_log(split, name, "talk"))
    paths, _ = ordinary({"speech_s": minutes * 60})
    for placed in talk_in_rooms(split, paths):
        if placed.new_room:
            stream.new_room()
        stream.hear(placed)
    return figures


def recordings(split: str, every: int, name: str) -> Figures:
    """One condition's answer and hands-free figures over the split's recordings."""
    folder = ROOMS / split
    rows = read_tsv(folder / "manifest.tsv")[::every]
    condition = next(c for c in CONDITIONS if c.name == name)
    kb = knowledge.load()
    figures = Figures()
    if ANSWER:
        answer_files(FileListener.open(None, kb), Matcher(kb), rows, folder, condition, figures)
    hands_free(build("skill-default"), rows, folder, condition, figures, idle_log(split, name, "recordings"))
    return figures


# --- CPU ------------------------------------------------------------------------------------------


def beamformer_rtf(folder: Path, rows: list[dict], mics: int) -> float:
    """Process time of the beamformer alone over audio time, each recording in the microphone's blocks."""
    busy_s = audio_s = 0.0
    for row in rows:
        samples, _ = soundfile.read(folder / f"{mics}ch" / row["name"], dtype="float32")
        beamformer = Beamformer(mics)
        started = time.process_time()
        for start in range(0, len(samples), MIC_BLOCK_FRAMES):
            beamformer.process(samples[start:start + MIC_BLOCK_FRAMES])
        busy_s += time.process_time() - started
        audio_s += len(samples) / SAMPLE_RATE
    return busy_s / audio_s


# --- the table ------------------------------------------------------------------------------------


def share(flags: list[bool]) -> str:
    return f"{sum(flags)}/{len(flags)} {100 * np.mean(flags):5.1f}%" if flags else "-"


def table(split: str, figures: dict[str, Figures], rtfs: dict[int, float], files: int, wall_s: float) -> list[str]:
    talk = figures["4 mics"]
    lines = [f"bench.rooms: {split} split, {files} recordings ({code_version()}; false accepts over "
             f"{talk.fa_speech_s / 60:.1f} min of ordinary speech, {talk.fa_s / 60:.1f} min heard with the TV; {os.cpu_count()} cores, "
             f"load {os.getloadavg()[0]:.1f}; {wall_s / 60:.1f} min)",
             "",
             f"| {'condition':15} | relief (answer) | all intents (answer) | relief hands-free | said during TV alone "
             "| false accepts/h (min) | p50 end of speech to answer |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, f in figures.items():
        fa = f"{len(f.fa) / f.fa_s * 3600:.1f} ({len(f.fa)} in {f.fa_s / 60:.1f})" if f.fa_s else "-"
        p50 = f"{1000 * np.median(f.latencies_s):.0f} ms (n={len(f.latencies_s)})" if f.latencies_s else "-"
        lines.append(f"| {name:15} | {share(f.relief_files)} | {share(f.all_files)} | {share(f.relief_hands_free)} | "
                     f"{len(f.tv_alone)} in {f.tv_alone_s / 60:.1f} min | {fa} | {p50} |")
    loop4 = figures["4 mics"]
    lines += ["",
              f"CPU, process time / audio time: beamformer 2 mics {rtfs[2]:.3f}, 4 mics {rtfs[4]:.3f}; "
              f"whole loop (beamformer + Vosk, hands-free) 4 mics {loop4.loop_cpu_s / loop4.loop_audio_s:.3f}, "
              f"1 mic {figures['1 mic'].loop_cpu_s / figures['1 mic'].loop_audio_s:.3f}",
              f"latency: from the end of the words (the manifest's end_s - {mr.TAIL_S} s of padding) to the loop's "
              "reply, over the requests answerable from idle answered right; chunks handed over at the microphone's "
              "pace and the loop busy for their CPU time (a virtual clock)"]
    for name, f in figures.items():
        lines += [f"  {name}: said during TV alone: {line}" for line in f.tv_alone]
        lines += [f"  {name}: false accept at {line}" for line in f.fa]
        lines += [f"  {name}: missed {line}" for line in f.missed]
    return lines


def measure(split: str, quick: bool, minutes: float) -> list[str]:
    """One split's table (and what it is made of, below it)."""
    started = time.monotonic()
    folder = rooms.ensure(split, ROOMS)
    rows = read_tsv(folder / "manifest.tsv")[:: QUICK_EVERY if quick else 1]
    every = QUICK_EVERY if quick else 1
    with ProcessPoolExecutor(WORKERS) as pool:  # the longest first
        talk = {c.name: pool.submit(false_accepts, split, minutes, c.name) for c in CONDITIONS if c.mics and minutes > 0}
        files = {c.name: pool.submit(recordings, split, every, c.name) for c in CONDITIONS}
        print(f"bench.rooms: {split}, {len(rows)} recordings and {minutes:g} min of ordinary speech, "
              f"{len(talk) + len(files)} jobs {WORKERS} at a time", flush=True)
        figures = {name: job.result() for name, job in files.items()}
        for name, job in talk.items():
            heard = job.result()
            figures[name].fa, figures[name].fa_s, figures[name].fa_speech_s = heard.fa, heard.fa_s, heard.fa_speech_s
    rtfs = {mics: beamformer_rtf(folder, rows, mics) for mics in (2, 4)}
    return table(split, figures, rtfs, len(rows), time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=tuple(rooms.SEEDS), action="append",
                        help="heldout (the default: the one to report), dev or dev2 (tuned on: dev's material in "
                             "other rooms); give it more than once for several")
    parser.add_argument("--quick", action="store_true", help=f"every {QUICK_EVERY}th recording, {QUICK_MINUTES:g} min of talk")
    parser.add_argument("--minutes", type=float, default=None, help="minutes of ordinary speech (default 60; quick 3)")
    parser.add_argument("--out", type=Path, help="also write the tables here (e.g. bench/rooms-results.txt)")
    parser.add_argument("--no-answer", action="store_true", help="hands-free and false accepts only")
    parser.add_argument("--log-idle", type=Path, metavar="DIR",
                        help="write every utterance the live loop weighs from idle here, to replay through "
                             "changed rules (bench/replay_idle.py)")
    parser.add_argument("--no-hearing-again", action="store_true",
                        help="the live loop does not hear a missed utterance again as the beam stands at its end")
    args = parser.parse_args()
    global ANSWER, HEAR_AGAIN, LOG_IDLE  # read by the worker processes, which fork from here
    ANSWER, HEAR_AGAIN, LOG_IDLE = not args.no_answer, not args.no_hearing_again, args.log_idle
    minutes = args.minutes if args.minutes is not None else QUICK_MINUTES if args.quick else 60.0
    if minutes > 0 and not (AUDIO / "ordinary.tsv").is_file():
        sys.exit("bench.rooms: no ordinary speech in bench/work/audio; render it with bench/make_audio.py "
                 "(bench/setup.sh makes its virtualenv), or give --minutes 0")
    lines: list[str] = []
    for split in args.split or ["heldout"]:
        split_lines = [*measure(split, args.quick, minutes), ""]
        print("\n".join(split_lines), flush=True)
        lines += split_lines
    if args.out:
        args.out.write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
