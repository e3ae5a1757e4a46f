"""Indonesian hearing on the Indonesian recordings: intent accuracy, relief recall, false accepts on
English talk / silence / noise / music, latency from end of speech to the answer, real-time factor
and resident memory.

    nice -n 10 .venv/bin/python -m bench.indonesian [--sets check,negatives] [--prompt examples|none]
        [--beam 1] [--window 10] [--no-confirm] [--no-control-retry] [--errors] [--quiet-minutes 10]

--quiet-minutes N: N minutes of silence, noise, music and English talk (the project's English
recordings, the babble bed, tests/recordings/id/negatives) through the hands-free loop in
Indonesian, from idle and faster than real time; every action it takes is a false one.

Latency is measured as the live loop would see it, without waiting in real time: each recording
is fed chunk by chunk, each chunk arriving when the microphone would have recorded it, and while
the loop is busy (decoding) chunks queue, as they do live. The answer is ready when the loop has
handled the chunk on which the voice-activity detector closed the utterance (decoding, guards,
matcher, dialogue: decoding may have begun at a pause before it); latency is that time minus the
end of speech, where the recording's speech ends (tests/make_recordings_id.py pads TAIL_S of
silence after it). The lines are rendered before anyone asks, so the first sound follows at once.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from voice_skill import knowledge
from voice_skill.audio_in import CHUNK_FRAMES, SAMPLE_RATE, file_chunks, read_file
from voice_skill.conversation import Conversation
from voice_skill.listen import HandsFree, PrintOnly
from voice_skill.matcher import UNKNOWN
from voice_skill.tuning import ENCODER_WINDOW_S
from voice_skill.whisper_engine import WhisperRecognizer, find_whisper_model, load_whisper, steered

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "tests" / "recordings" / "id"
TAIL_S = 0.6  # silence after the speech in every request recording (tests/make_recordings.py TAIL_S)
RELIEF = "cramp_relief"
ROOM_QUIET_S = 1.5  # fed after each recording, so the detector ends the utterance as it would live


def rows(sets: list[str]) -> list[dict]:
    with open(RECORDINGS / "manifest.tsv", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle, delimiter="\t") if row["set"] in sets]


@dataclass
class Hearing:
    transcript: str
    intent: str
    latency_s: float  # end of speech to the chosen answer (nan: nothing was heard)
    wait_s: float  # of which: audio time until the detector ended the utterance
    answer_cpu_s: float  # CPU seconds (all threads) spent on that chunk (0 if it was decoded at the pause)
    busy_s: float  # compute time for the whole file


def hear(recognizer: WhisperRecognizer, conversation: Conversation, path: Path) -> Hearing:
    """One recording through the recogniser at microphone chunk size, timed as described above."""
    chunks = list(file_chunks(path))
    speech_end_s = sum(len(c) for c in chunks) / 2 / SAMPLE_RATE - TAIL_S
    chunks += [bytes(len(chunks[0]))] * round(ROOM_QUIET_S * 10)  # the quiet a room has after a request
    recognizer.reset()
    fed_s, texts, busy = 0.0, [], 0.0
    free_at = 0.0  # audio time at which the loop is done with the chunks so far (it queues while busy)
    first: tuple[float, float, float] | None = None  # (latency, wait, cpu) of the first answer
    for chunk in chunks:
        fed_s += len(chunk) / 2 / SAMPLE_RATE
        start, cpu = time.perf_counter(), time.process_time()
        heard = recognizer.accept(chunk)
        if heard.final and heard.text:
            texts.append(heard.text)
            conversation.hear(heard.text)
        spent = time.perf_counter() - start
        free_at = max(free_at, fed_s) + spent
        if heard.final and heard.text and first is None:
            first = (free_at - speech_end_s, max(0.0, fed_s - speech_end_s), time.process_time() - cpu)
        busy += spent
    start = time.perf_counter()
    tail = recognizer.finish()  # anything the detector had not closed by the end of the quiet
    busy += time.perf_counter() - start
    if tail:
        texts.append(tail)
    transcript = " ".join(texts)
    latency, wait, cpu = first or (float("nan"),) * 3
    return Hearing(transcript, conversation.matcher.match(transcript).intent, latency, wait, cpu, busy)


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def english_memory() -> float:
    """Peak resident memory (MB) of hearing one English recording in a fresh process: the Vosk path,
    as `answer` and `listen` load it; and faster-whisper must not be loaded at all."""
    code = ("import sys; from bench.indonesian import peak_rss_mb; from voice_skill import knowledge;"
            "from voice_skill.recognizer import open_recognizer; from voice_skill.audio_in import file_chunks;"
            "r = open_recognizer('en', knowledge.load());"
            "r.transcribe(file_chunks('tests/recordings/demo/my-calf-is-cramping.wav'));"
            "print(peak_rss_mb(), 'faster_whisper' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    peak, whisper_loaded = done.stdout.split()
    assert whisper_loaded == "False", "the English path must not load faster-whisper"
    return float(peak)


def quiet_stream(rng: np.random.Generator):
    """An endless stream of sound no one meant for the skill, in random order and level."""
    english_root = ROOT / "tests" / "recordings"
    with open(english_root / "manifest.tsv", encoding="utf-8") as handle:
        english = [english_root / r["path"] for r in csv.DictReader(handle, delimiter="\t")
                   if r["condition"] == "clean" and r["intent"] == "unknown"]  # talk, not requests
    pieces = [read_file(RECORDINGS / r["path"]) for r in rows(["negatives"])]
    pieces.append(read_file(english_root / "babble.wav"))
    while True:
        if rng.random() < 0.5:
            yield read_file(english[rng.integers(len(english))])
        else:
            yield pieces[rng.integers(len(pieces))]
        yield np.zeros(int(SAMPLE_RATE * rng.uniform(0.2, 2.0)), np.int16)


def quiet_soak(recognizer: WhisperRecognizer, kb, minutes: float, seed: int = 14) -> tuple[list[str], float]:
    """(the lines of every action taken, compute seconds) for `minutes` of sound not meant for it."""
    clock = [0.0]
    acted: list[str] = []
    loop = HandsFree(recognizer, Conversation(kb, "id", hands_free=True), PrintOnly(),
                     emit=lambda line: acted.append(f"{clock[0]:.0f}s {line}"), clock=lambda: clock[0])
    started, total = time.perf_counter(), minutes * 60
    for samples in quiet_stream(np.random.default_rng(seed)):
        gain = 10 ** (np.random.default_rng(int(clock[0])).uniform(-12, 0) / 20)
        scaled = (samples * gain).astype(np.int16)
        for offset in range(0, len(scaled), CHUNK_FRAMES):
            loop.run([scaled[offset:offset + CHUNK_FRAMES].tobytes()])
            clock[0] += CHUNK_FRAMES / SAMPLE_RATE
        if clock[0] >= total:
            break
    return [line for line in acted if line.split(" ", 1)[1].startswith("heard:")], time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="check,negatives", help="comma-separated: dev, dev2 (tuning), check (held out), negatives")
    parser.add_argument("--prompt", choices=["examples", "none"], default="examples")
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--window", type=int, default=ENCODER_WINDOW_S, help="encoder window, seconds (30: Whisper's own)")
    parser.add_argument("--no-confirm", action="store_true", help="act on controls without the n-best check")
    parser.add_argument("--no-control-retry", action="store_true",
                        help="no second listen against the controls' phrasings for short speech heard as nothing")
    parser.add_argument("--errors", action="store_true", help="list every wrong answer")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--quiet-minutes", type=float, default=0.0,
                        help="also this much sound not meant for the skill through the hands-free loop")
    args = parser.parse_args()

    kb = knowledge.load()
    load_at_start = os.getloadavg()[0]  # the machine is shared: latency and speed depend on it
    started = time.perf_counter()
    model = load_whisper(find_whisper_model())
    load_s = time.perf_counter() - started
    options = replace(steered(kb), beam_size=args.beam, window_s=args.window)
    if args.prompt == "none":
        options = replace(options, prompt=None)
    if args.no_confirm:
        options = replace(options, confirm=frozenset())
    if args.no_control_retry:
        options = replace(options, control_prompt=None)
    recognizer = WhisperRecognizer(model, options)

    right: dict[str, list[bool]] = defaultdict(list)
    timed: list[Hearing] = []
    audio_s = busy_s = 0.0
    for row in rows(args.sets.split(",")):
        path = RECORDINGS / row["path"]
        conversation = Conversation(kb, "id")
        result = hear(recognizer, conversation, path)
        transcript, intent = result.transcript, result.intent
        audio_s += sum(len(c) for c in file_chunks(path)) / 2 / SAMPLE_RATE
        busy_s += result.busy_s
        if row["set"] == "negatives":
            right["negatives: unknown"].append(intent == UNKNOWN)
        else:
            right[f"{row['set']}: intent"].append(intent == row["intent"])
            if row["intent"] == RELIEF:
                right[f"{row['set']}: relief recall"].append(intent == RELIEF)
            if not np.isnan(result.latency_s):
                timed.append(result)
        if args.errors and intent != row["intent"]:
            print(f"  {row['intent']:24} -> {intent:24} {transcript!r} ({row['text'] or row['id']}, {row['voice']})"
                  f"{'  [' + recognizer.last_rejection + ']' if not transcript and recognizer.last_rejection else ''}")

    figures = {name: f"{sum(v)}/{len(v)} ({sum(v) / len(v):.1%})" for name, v in right.items()}
    numbers: dict = {name: [sum(v), len(v)] for name, v in right.items()}
    if timed:
        numbers["latency_ms"] = {f"p{q}": round(float(np.percentile([t.latency_s for t in timed], q)) * 1000)
                                 for q in (50, 95)}
        def spread(values: list[float]) -> str:
            return f"p50 {np.percentile(values, 50) * 1000:.0f} ms, p95 {np.percentile(values, 95) * 1000:.0f} ms"

        figures["end of speech to answer"] = spread([t.latency_s for t in timed])
        figures["  of which endpoint wait"] = spread([t.wait_s for t in timed])
        figures["  closing chunk to answer, CPU time"] = spread([t.answer_cpu_s for t in timed]) + " (all threads)"
    numbers["rtf"] = round(busy_s / audio_s, 3)
    figures["real-time factor"] = f"{busy_s / audio_s:.3f}"
    figures["load average (1 min) at start, end"] = f"{load_at_start:.1f}, {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    figures["model load"] = f"{load_s:.1f} s"
    numbers["rss_mb"] = round(peak_rss_mb())
    figures["resident memory, Indonesian (peak)"] = f"{peak_rss_mb():.0f} MB"
    figures["resident memory, English (peak)"] = f"{english_memory():.0f} MB (Vosk; faster-whisper not loaded)"
    if args.quiet_minutes:
        actions, spent = quiet_soak(recognizer, kb, args.quiet_minutes)
        numbers["quiet"] = {"minutes": args.quiet_minutes, "actions": len(actions)}
        figures["hands-free, silence/noise/music/English"] = (
            f"{len(actions)} actions in {args.quiet_minutes:g} min ({spent:.0f} s to run){': ' if actions else ''}"
            + "; ".join(actions))
    figures["settings"] = (f"sets {args.sets}, prompt {args.prompt}, beam {args.beam}, window {args.window} s, "
                           f"controls {'unconfirmed' if args.no_confirm else 'confirmed'}, "
                           f"control retry {'off' if args.no_control_retry else 'on'}")
    for name, value in figures.items():
        print(f"{name:38} {value}")
    if args.json:
        args.json.write_text(json.dumps({"lines": figures, "numbers": numbers}, indent=2, ensure_ascii=False) + "\n")
    return 0


def for_bench(work: Path, quick: bool) -> dict:
    """The Indonesian column of `make bench`, measured in a process of its own (its memory is its own):
    the held-out check set and the negatives, and in full, 10 minutes of sound not meant for the skill."""
    out = work / "indonesian.json"
    quiet = ["--quiet-minutes", "1" if quick else "10"]
    done = subprocess.run([sys.executable, "-m", "bench.indonesian", "--sets", "check,negatives", *quiet,
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"bench.indonesian failed:\n{done.stderr}")
    return json.loads(out.read_text())


if __name__ == "__main__":
    sys.exit(main())
