"""One measurement job for one system, run in its own process so that its peak memory is its own.

    .venv/bin/python -m bench.measure JOB.json OUT.json

A job is {"system": name, "kind": "quality" | "timing", ...} (bench/run.py writes them):
- quality: accuracy (each request recording heard as a fresh trial: what the system answered first,
  if at all), then false accepts (ordinary speech played back to back from idle: every answer)
- timing: start-up to ready; real-time factor (no pacing); latency at microphone pace
Every result carries the process's peak resident memory (VmHWM).
"""

from __future__ import annotations

import json
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from voice_skill.audio_in import CHUNK_FRAMES, SAMPLE_RATE, file_chunks, read_file

from bench.systems import BYTES_PER_S, CONTROL_INTENTS, System, build

AFTER_S = 1.0  # silence after each request: room for Vosk's endpointer (its longest rule is 1.0 s)
SILENCE = bytes(CHUNK_FRAMES * 2)
BEDS = ("babble", "noise", "talk")  # the backgrounds bench/make_audio.py mixes under the requests


def chunks(path: str, after_s: float = AFTER_S, before: bytes = b"") -> Iterator[bytes]:
    """A recording as the microphone would deliver it (after `before`, if any), then quiet, as after
    someone stops talking."""
    step = CHUNK_FRAMES * 2
    for start in range(0, len(before), step):
        yield before[start:start + step]
    yield from file_chunks(path)
    for _ in range(round(after_s * BYTES_PER_S / len(SILENCE))):
        yield SILENCE


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def lead_in(item: dict, seconds: float) -> bytes:
    """The `seconds` of a noisy request's background that came before its slice of it, at the same
    level: the TV or the other talker was on before the person spoke, not only during the 0.3 s of
    lead the recording has. b"" for a clean request. bench/make_audio.py mixed a seeded slice of the
    bed (tests/make_recordings.py: mix) and normalised the sum; the slice is found again from the same
    seed, and its gain by least squares against the clean and noisy recordings."""
    noise = item["condition"].rstrip("0123456789")
    if seconds <= 0 or noise not in BEDS:
        return b""
    audio = Path(item["path"]).parent.parent
    bed = read_file(audio / f"{noise}.wav").astype(np.float64)
    clean = read_file(audio / "clean" / Path(item["path"]).name).astype(np.float64)
    noisy = read_file(item["path"]).astype(np.float64)
    seed = zlib.crc32(f"bench/{item['id']}/{item['voice']}/{item['condition']}".encode())
    start = int(np.random.default_rng(seed).integers(len(bed) - len(clean)))
    piece = bed[start:start + len(clean)]
    (_, gain), *_ = np.linalg.lstsq(np.stack([clean, piece], axis=1), noisy, rcond=None)
    before = np.take(bed, np.arange(start - int(seconds * SAMPLE_RATE), start), mode="wrap") * gain
    return np.clip(before, -32768, 32767).astype("<i2").tobytes()


def accuracy(system: System, items: list[dict], lead_in_s: float = 0.0) -> list[dict]:
    results = []
    for item in items:
        system.reset(active=item["intent"] in CONTROL_INTENTS)
        before = lead_in(item, lead_in_s)
        answer = next((a for chunk in chunks(item["path"], before=before) if (a := system.feed(chunk))), None)
        results.append({**item, "got": answer.intent if answer else "unknown", "heard": " | ".join(system.heard),
                        "note": answer.note if answer else None})
    return results


def stream(system: System, paths: list[str]) -> dict:
    """Talk not meant for the skill, heard continuously; after an answer, back to idle."""
    system.reset(active=False)
    accepts, seconds = [], 0.0
    for path in paths:
        for chunk in chunks(path, after_s=0.0):
            seconds += len(chunk) / BYTES_PER_S
            if answer := system.feed(chunk):
                accepts.append({"at_s": round(seconds, 1), "intent": answer.intent, "heard": answer.heard,
                                "note": answer.note})
                system.reset(active=False)
    for _ in range(round(AFTER_S * BYTES_PER_S / len(SILENCE))):  # let the last utterance end
        if answer := system.feed(SILENCE):
            accepts.append({"at_s": round(seconds, 1), "intent": answer.intent, "heard": answer.heard})
    return {"seconds": seconds, "accepts": accepts}


def real_time_factor(system: System, items: list[dict]) -> float:
    """Processing time over audio time, fed as fast as it goes, every chunk of every file."""
    busy = audio = 0.0
    for item in items:
        system.reset(active=item["intent"] in CONTROL_INTENTS)
        data = list(chunks(item["path"]))
        audio += sum(len(c) for c in data) / BYTES_PER_S
        start = time.perf_counter()
        for chunk in data:
            system.feed(chunk)
        busy += time.perf_counter() - start
    return busy / audio


def latency(system: System, item: dict) -> float | None:
    """From the end of speech to the answer being ready, chunks arriving at the microphone's pace
    (a chunk is handed over once all of it has been recorded); None if it never answered."""
    system.reset(active=item["intent"] in CONTROL_INTENTS)
    data = list(chunks(item["path"]))
    recorded = 0
    start = time.perf_counter()
    for chunk in data:
        recorded += len(chunk)
        time.sleep(max(0.0, start + recorded / BYTES_PER_S - time.perf_counter()))
        if system.feed(chunk):
            return time.perf_counter() - (start + item["speech_end_s"])
    return None


def timing(name: str, job: dict) -> dict:
    start = time.perf_counter()
    system = build(name)
    startup = time.perf_counter() - start
    rtf = real_time_factor(system, job["rtf_items"])
    latencies = [latency(system, item) for item in job["latency_items"]]
    return {"startup_s": startup, "rtf": rtf,
            "latencies_ms": [None if s is None else round(s * 1000, 1) for s in latencies]}


def main() -> int:
    job = json.loads(Path(sys.argv[1]).read_text())
    name, kind = job["system"], job["kind"]
    if kind == "timing":
        result = timing(name, job)
    else:
        system = build(name)
        result = {"items": accuracy(system, job["items"], job.get("lead_in_s", 0.0)), "seconds": 0.0, "accepts": []}
        if job["paths"]:
            result.update(stream(system, job["paths"]))
    result.update(system=name, kind=kind, rss_mb=round(peak_rss_mb(), 1))
    Path(sys.argv[2]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
