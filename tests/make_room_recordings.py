"""Render simulated living rooms heard by 1, 2 and 4 microphones: a request said over a TV.

    .venv/bin/python tests/make_room_recordings.py [--split dev|heldout] [--out DIR]

Each file is one moment in a room (pyroomacoustics' image method, a shoebox room of its own size and
reverberation): the device on a shelf or table near a wall, the person 1-2 m from it, the TV 2.5-3.5 m
away at another angle, the TV alone for LEAD_S, then the request, then the TV for TAIL_S. The TV is
TV_BELOW_DB under the request at the first microphone (over the request's span). A 2-microphone
array (6.5 cm apart, like the ReSpeaker 2-mic HAT) and a 4-microphone one (a 6.5 cm square, like the
4-mic HATs) hear the same room from the same place; the 1-channel file is the 2-mic array's first
microphone, the single microphone of today's devices.

Two splits, made from different material so that one can be tuned on and the other never is:
    dev      the tests' clean requests (tests/recordings/clean, their phrasings and voices) over the
             tests' TV (a voice over music) and one talker, in rooms drawn with DEV_SEED
    heldout  the benchmark's phrasings (bench/phrases.tsv), and relief requests worded for it alone
             (bench/room_relief_phrases.tsv), in espeak voices neither the tests nor the benchmark use, over TVs of other voices (speech alone and speech over music), in rooms
             drawn with HELDOUT_SEED
    dev2     dev's requests and TVs in rooms drawn with DEV2_SEED, to tell a setting's effect from one
             draw's luck
Writes <out>/<split>/{1ch,2ch,4ch}/<id>__<voice>.wav and <out>/<split>/manifest.tsv. The same on
every run (fixed seeds); `stamp()` says what it was made from, so callers regenerate only on change.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import fftconvolve

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))
import make_recordings as mr  # noqa: E402  (the synthesiser, voices and prose; reuse, don't copy)
import make_talk_recordings as mt  # noqa: E402  (the TV's music)

RATE = mr.RATE
OUT = TESTS / "recordings" / "rooms"
LEAD_S, TAIL_S = 3.0, 1.0
TV_BELOW_DB = 10.0
PEAK = 10 ** (-3 / 20)
MIC_SPACING_M = 0.065
RT60_RANGE_S = (0.3, 0.7)
DEV_SEED, DEV2_SEED, HELDOUT_SEED = 20261207, 4242, 77031
# The splits, and the seed each draws its rooms with. dev2 is dev's material in rooms drawn anew: dev
# has 20 relief requests, and one draw of rooms moves a setting's figures by as much as the setting.
SEEDS = {"dev": DEV_SEED, "dev2": DEV2_SEED, "heldout": HELDOUT_SEED}
BED_S = 90.0

DEV_TVS = (mr.Voice("tv-rp-m4", "en-gb-x-rp+m4", 175), mr.Voice("talk-scotland-f2", "en-gb-scotland+f2", 160))
# Voices no test, benchmark or babble recording uses.
HELDOUT_VOICES = (
    mr.Voice("espeak-en-us-m2", "en-us+m2", 160),
    mr.Voice("espeak-en-gb-f5", "en-gb+f5", 150),
    mr.Voice("espeak-en-gb-x-gbclan-m6", "en-gb-x-gbclan+m6", 170),
    mr.Voice("espeak-en-029-f4", "en-029+f4", 155),
)
HELDOUT_TVS = (mr.Voice("tv-nyc-f3", "en-us-nyc+f3", 170), mr.Voice("tv-gbcwmd-m5", "en-gb-x-gbcwmd+m5", 165))
RELIEF_PHRASES = ROOT / "bench" / "room_relief_phrases.tsv"
SOURCES = (Path(__file__), Path(mr.__file__), Path(mt.__file__), ROOT / "bench" / "phrases.tsv", RELIEF_PHRASES,
           TESTS / "recordings" / "manifest.tsv")


@dataclass(frozen=True)
class Request:
    id: str
    intent: str
    text: str
    voice: str
    audio: np.ndarray


@dataclass(frozen=True)
class Room:
    dims: tuple[float, float, float]
    rt60_s: float
    device: np.ndarray  # the array's centre
    azimuth: float  # the array's orientation
    person: np.ndarray
    tv: np.ndarray


def stamp() -> str:
    digest = hashlib.sha256()
    for path in SOURCES:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def array_geometry(center: np.ndarray, azimuth: float, mics: int) -> np.ndarray:
    """(3, mics) positions: two microphones MIC_SPACING_M apart, or four on a square of that side."""
    if mics == 2:
        offsets = np.array([[-0.5, 0.0], [0.5, 0.0]]) * MIC_SPACING_M
    else:
        offsets = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]) * MIC_SPACING_M
    rotation = np.array([[np.cos(azimuth), -np.sin(azimuth)], [np.sin(azimuth), np.cos(azimuth)]])
    flat = offsets @ rotation.T
    return np.vstack([center[0] + flat[:, 0], center[1] + flat[:, 1], np.full(mics, center[2])])


def draw_room(rng: np.random.Generator) -> Room:
    """A living room: the device near one wall, the person in front of it, the TV elsewhere."""
    while True:
        dims = (float(rng.uniform(4.0, 7.0)), float(rng.uniform(3.2, 5.5)), float(rng.uniform(2.4, 2.9)))
        device = np.array([float(rng.uniform(0.4, 0.9)), float(rng.uniform(1.0, dims[1] - 1.0)), float(rng.uniform(0.7, 1.1))])
        toward_person = float(rng.uniform(-1.1, 1.1))
        side = rng.choice([-1.0, 1.0])
        toward_tv = toward_person + side * float(rng.uniform(0.7, 1.6))
        person = device + _polar(float(rng.uniform(1.0, 2.0)), toward_person, float(rng.uniform(0.5, 1.7)) - device[2])
        tv = device + _polar(float(rng.uniform(2.5, 3.5)), toward_tv, float(rng.uniform(0.8, 1.3)) - device[2])
        if _inside(person, dims) and _inside(tv, dims):
            return Room(dims, float(rng.uniform(*RT60_RANGE_S)), device, float(rng.uniform(0, 2 * np.pi)), person, tv)


def _polar(distance: float, angle: float, height: float) -> np.ndarray:
    return np.array([distance * np.cos(angle), distance * np.sin(angle), height])


def _inside(point: np.ndarray, dims: tuple[float, float, float], margin: float = 0.3) -> bool:
    return all(margin < point[k] < dims[k] - margin for k in range(3))


def impulse_responses(room: Room, mics: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The person's and the TV's impulse response at each microphone. The image method's decay runs
    longer than Sabine's formula says, so the absorption is set once more from the RT60 measured."""
    import pyroomacoustics as pra

    design = room.rt60_s
    for _ in range(2):
        absorption, order = pra.inverse_sabine(design, list(room.dims))
        shoebox = pra.ShoeBox(list(room.dims), fs=RATE, materials=pra.Material(absorption), max_order=min(order, 60))
        shoebox.add_source(room.person)
        shoebox.add_source(room.tv)
        shoebox.add_microphone_array(array_geometry(room.device, room.azimuth, mics))
        shoebox.compute_rir()
        measured = float(pra.experimental.measure_rt60(shoebox.rir[0][0], fs=RATE))
        design = float(np.clip(design * room.rt60_s / measured, 0.1, 2.0))
    return [shoebox.rir[m][0] for m in range(mics)], [shoebox.rir[m][1] for m in range(mics)]


def scene(request: np.ndarray, tv: np.ndarray, person_rirs: list[np.ndarray], tv_rirs: list[np.ndarray]
          ) -> tuple[np.ndarray, float, float, tuple[np.ndarray, np.ndarray]]:
    """(samples, mics) of the TV alone, then the request over it, then the TV; with the request's
    start and end (s), and the two parts as mixed (the person's, the TV's). The TV's level is set at
    the first microphone."""
    start = int(LEAD_S * RATE)
    length = start + len(request) + int(TAIL_S * RATE)
    said = np.zeros((length, len(person_rirs)))
    said[start:] = np.stack([_convolved(request, rir, length - start) for rir in person_rirs], axis=1)
    heard_tv = np.stack([_convolved(tv[:length], rir, length) for rir in tv_rirs], axis=1)
    span = slice(start, start + len(request))
    gain = np.sqrt(np.mean(said[span, 0] ** 2) / np.mean(heard_tv[span, 0] ** 2)) * 10 ** (-TV_BELOW_DB / 20)
    mixed = said + gain * heard_tv
    scale = PEAK / np.max(np.abs(mixed))
    return mixed * scale, LEAD_S, LEAD_S + len(request) / RATE, (said * scale, gain * heard_tv * scale)


def _convolved(audio: np.ndarray, rir: np.ndarray, length: int) -> np.ndarray:
    """`audio` heard through `rir`, cut or padded to `length` samples."""
    out = fftconvolve(audio, rir)[:length]
    return np.pad(out, (0, length - len(out)))


def dev_requests() -> list[Request]:
    with (TESTS / "recordings" / "manifest.tsv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE) if r["condition"] == "clean"]
    return [Request(r["id"], r["intent"], r["text"], r["voice"], sf.read(TESTS / "recordings" / r["path"], dtype="float64")[0])
            for r in rows]


def heldout_requests(synth: mr.Synth) -> list[Request]:
    """The benchmark's phrasings, a voice each; then relief requests worded for these rooms alone
    (bench/room_relief_phrases.tsv), in every voice: the request that matters most, counted enough."""
    pairs = [(row, HELDOUT_VOICES[index % len(HELDOUT_VOICES)]) for index, row in enumerate(_rows(ROOT / "bench" / "phrases.tsv"))]
    pairs += [(row, voice) for row in _rows(RELIEF_PHRASES) for voice in HELDOUT_VOICES]
    return [Request(row["id"], row["intent"], row["text"], voice.name, mr.utterance(synth, row["text"], voice).astype(np.float64))
            for row, voice in pairs]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def tv_beds(synth: mr.Synth, voices: tuple[mr.Voice, ...], seed: int) -> list[np.ndarray]:
    """Each TV voice reading prose, once over music and once alone."""
    rng = np.random.default_rng(seed)
    beds = []
    for index, voice in enumerate(voices):
        talk = mr.talker_track(synth, voice, index * 5, rng, BED_S)
        talk = talk / np.sqrt(np.mean(talk**2))
        tune = mt.music(BED_S, rng)
        beds.append(talk + tune / np.sqrt(np.mean(tune**2)) * 10 ** (mt.TV_MUSIC_DB / 20))
        beds.append(talk)
    return beds


def render(split: str, out: Path, limit: int | None = None, parts: bool = False, every: int = 1) -> int:
    started = time.monotonic()
    synth = mr.Synth(piper=False)
    seed = SEEDS[split]
    requests = (heldout_requests(synth) if split == "heldout" else dev_requests())[::every][:limit]
    beds = tv_beds(synth, HELDOUT_TVS if split == "heldout" else DEV_TVS, seed)
    rng = np.random.default_rng(seed)
    folder = out / split
    rows = []
    for request in requests:
        room = draw_room(rng)
        bed = beds[int(rng.integers(len(beds)))]
        offset = int(rng.integers(0, len(bed) - int(20 * RATE)))
        name = f"{request.id}__{request.voice}.wav"
        for mics in (2, 4):
            person, tv = impulse_responses(room, mics)
            audio, start_s, end_s, (person_part, tv_part) = scene(request.audio, bed[offset:], person, tv)
            _write(folder / f"{mics}ch" / name, audio)
            if parts:  # for measuring a beamformer's effect on each: what it keeps of the person, of the TV
                _write(folder / f"{mics}ch-person" / name, person_part)
                _write(folder / f"{mics}ch-tv" / name, tv_part)
            if mics == 2:
                _write(folder / "1ch" / name, audio[:, :1])
        rows.append([name, request.id, request.intent, request.text, request.voice, f"{room.rt60_s:.2f}",
                     "x".join(f"{d:.1f}" for d in room.dims), f"{np.linalg.norm(room.person - room.device):.2f}",
                     f"{np.linalg.norm(room.tv - room.device):.2f}", f"{start_s:.2f}", f"{end_s:.2f}"])
    with (folder / "manifest.tsv").open("w") as handle:
        handle.write("name\tid\tintent\ttext\tvoice\trt60_s\troom_m\tperson_m\ttv_m\tstart_s\tend_s\n")
        handle.writelines("\t".join(row) + "\n" for row in rows)
    (folder / "stamp").write_text(stamp())
    print(f"{len(rows)} rooms ({split}) in {folder} ({time.monotonic() - started:.0f} s)")
    return len(rows)


def _write(path: Path, audio: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio.astype(np.float32), RATE, subtype="PCM_16")


def ensure(split: str, out: Path = OUT) -> Path:
    """The split's folder, rendered first if missing or made from other material."""
    folder = out / split
    if not (folder / "stamp").exists() or (folder / "stamp").read_text() != stamp():
        render(split, out)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=tuple(SEEDS), action="append")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--limit", type=int, help="only the first N requests")
    parser.add_argument("--every", type=int, default=1, help="only every Nth request")
    parser.add_argument("--parts", action="store_true", help="also write the person's and the TV's parts apart")
    args = parser.parse_args()
    for split in args.split or ("dev", "heldout"):
        render(split, args.out, args.limit, args.parts, args.every)


if __name__ == "__main__":
    main()
