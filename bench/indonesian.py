"""Indonesian hearing on the Indonesian recordings: intent accuracy, relief recall, false accepts on
English talk / silence / noise / music, latency from end of speech to the answer, real-time factor
and resident memory.

    nice -n 10 .venv/bin/python -m bench.indonesian [--sets check,negatives] [--prompt examples|none]
        [--beam 1] [--errors]

Latency is measured as the live loop would see it, without waiting in real time: each recording
is fed chunk by chunk; the answer comes when the voice-activity detector closes the utterance, so
latency = (audio time from the end of speech to the chunk that closed it) + (compute time from
that chunk to the chosen answer: decoding, guards, matcher, dialogue). The end of speech is where
the recording's speech ends (tests/make_recordings_id.py pads TAIL_S of silence after it). This
equals real-time pacing as long as decoding keeps up with the microphone (real-time factor < 1).
The lines are rendered before anyone asks, so the first sound follows the answer at once.
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
from pathlib import Path

import numpy as np

from voice_skill import knowledge
from voice_skill.audio_in import SAMPLE_RATE, file_chunks
from voice_skill.conversation import Conversation
from voice_skill.matcher import UNKNOWN
from voice_skill.whisper_engine import DecodeOptions, WhisperRecognizer, domain_prompt, find_whisper_model, load_whisper

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "tests" / "recordings" / "id"
TAIL_S = 0.6  # silence after the speech in every request recording (tests/make_recordings.py TAIL_S)
RELIEF = "cramp_relief"
ROOM_QUIET_S = 1.5  # fed after each recording, so the detector ends the utterance as it would live


def rows(sets: list[str]) -> list[dict]:
    with open(RECORDINGS / "manifest.tsv", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle, delimiter="\t") if row["set"] in sets]


def hear(recognizer: WhisperRecognizer, conversation: Conversation, path: Path) -> tuple[str, str, float, float]:
    """(transcript, intent, seconds from end of speech to the answer, compute seconds) for one file."""
    chunks = list(file_chunks(path))
    speech_end_s = sum(len(c) for c in chunks) / 2 / SAMPLE_RATE - TAIL_S
    chunks += [bytes(len(chunks[0]))] * round(ROOM_QUIET_S * 10)  # the quiet a room has after a request
    recognizer.reset()
    fed_s, texts, latency, busy = 0.0, [], None, 0.0
    for chunk in chunks:
        fed_s += len(chunk) / 2 / SAMPLE_RATE
        start = time.perf_counter()
        heard = recognizer.accept(chunk)
        if heard.final and heard.text:
            texts.append(heard.text)
            intent = conversation.hear(heard.text).match.intent
            spent = time.perf_counter() - start
            latency = latency if latency is not None else max(0.0, fed_s - speech_end_s) + spent
        busy += time.perf_counter() - start
    start = time.perf_counter()
    tail = recognizer.finish()  # end of file: what the detector had not closed yet
    busy += time.perf_counter() - start
    if tail:
        texts.append(tail)
        latency = latency if latency is not None else max(0.0, fed_s - speech_end_s) + time.perf_counter() - start
    transcript = " ".join(texts)
    intent = conversation.matcher.match(transcript).intent
    return transcript, intent, latency if latency is not None else float("nan"), busy


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="check,negatives", help="comma-separated: dev, check, negatives")
    parser.add_argument("--prompt", choices=["examples", "none"], default="examples")
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--errors", action="store_true", help="list every wrong answer")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    kb = knowledge.load()
    load_at_start = os.getloadavg()[0]  # the machine is shared: latency and speed depend on it
    started = time.perf_counter()
    model = load_whisper(find_whisper_model())
    load_s = time.perf_counter() - started
    options = DecodeOptions(beam_size=args.beam, prompt=domain_prompt(kb) if args.prompt == "examples" else None)
    recognizer = WhisperRecognizer(model, options)

    right: dict[str, list[bool]] = defaultdict(list)
    latencies: list[float] = []
    audio_s = busy_s = 0.0
    for row in rows(args.sets.split(",")):
        path = RECORDINGS / row["path"]
        conversation = Conversation(kb, "id")
        transcript, intent, latency, busy = hear(recognizer, conversation, path)
        audio_s += sum(len(c) for c in file_chunks(path)) / 2 / SAMPLE_RATE
        busy_s += busy
        if row["set"] == "negatives":
            right["negatives: unknown"].append(intent == UNKNOWN)
        else:
            right[f"{row['set']}: intent"].append(intent == row["intent"])
            if row["intent"] == RELIEF:
                right[f"{row['set']}: relief recall"].append(intent == RELIEF)
            if not np.isnan(latency):
                latencies.append(latency)
        if args.errors and intent != row["intent"]:
            print(f"  {row['intent']:24} -> {intent:24} {transcript!r} ({row['text'] or row['id']}, {row['voice']})"
                  f"{'  [' + recognizer.last_rejection + ']' if not transcript and recognizer.last_rejection else ''}")

    figures = {name: f"{sum(v)}/{len(v)} ({sum(v) / len(v):.1%})" for name, v in right.items()}
    if latencies:
        figures["end of speech to answer"] = (f"p50 {np.percentile(latencies, 50) * 1000:.0f} ms, "
                                              f"p95 {np.percentile(latencies, 95) * 1000:.0f} ms")
    figures["real-time factor"] = f"{busy_s / audio_s:.3f}"
    figures["load average (1 min) at start, end"] = f"{load_at_start:.1f}, {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    figures["model load"] = f"{load_s:.1f} s"
    figures["resident memory, Indonesian (peak)"] = f"{peak_rss_mb():.0f} MB"
    figures["resident memory, English (peak)"] = f"{english_memory():.0f} MB (Vosk; faster-whisper not loaded)"
    figures["settings"] = f"sets {args.sets}, prompt {args.prompt}, beam {args.beam}"
    for name, value in figures.items():
        print(f"{name:38} {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
