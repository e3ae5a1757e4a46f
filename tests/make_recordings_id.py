"""Render the Indonesian test recordings from tests/recordings/id/phrases.tsv, and the sounds that
must never be taken for a request (English talk, silence, noise, music).

    python3 tests/make_recordings_id.py     # needs numpy, soundfile and espeak-ng on PATH

Writes tests/recordings/id/: dev/ (wordings and voices used while tuning), dev2/ (a second tuning set:
other wordings, in voices neither dev nor check uses), check/ (other wordings, other voices and speeds:
kept apart to measure on), negatives/ (4 s pieces) and manifest.tsv.
FLAC, 16 kHz mono 16-bit, to keep the repository small. Output is the same on every run.
"""

from __future__ import annotations

import csv
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_recordings import BABBLE_SENTENCES, RATE, Synth, Voice, pad, trim  # noqa: E402

OUT = Path(__file__).resolve().parent / "recordings" / "id"
NEGATIVE_S = 4.0
SEED = 20261130

# espeak-ng's Indonesian voice with its variants; the check set hears none of the dev or dev2 voices.
VOICES = {
    "dev": (Voice("id", "id", 150), Voice("id-f3", "id+f3", 140), Voice("id-m3", "id+m3", 165)),
    "check": (Voice("id-f2", "id+f2", 135), Voice("id-m7", "id+m7", 170), Voice("id-f4", "id+f4", 155),
              Voice("id-klatt3", "id+klatt3", 145), Voice("id-andrea", "id+Andrea", 160)),
    "dev2": (Voice("id-m2", "id+m2", 150), Voice("id-f1", "id+f1", 145), Voice("id-m5", "id+m5", 160)),
}
VOICES_PER_PHRASE = 2
# Talk that is not for the skill, in voices the requests never use.
ENGLISH_TALKERS = (Voice("en-scotland-m1", "en-gb-scotland+m1", 165), Voice("en-us-f2", "en-us+f2", 175),
                   Voice("en-rp-m3", "en-gb-x-rp+m3", 155))


@dataclass(frozen=True)
class Take:
    path: str
    id: str
    intent: str
    text: str
    voice: str
    set: str


def write(rel: str, audio: np.ndarray) -> None:
    path = OUT / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(audio, -1, 1), RATE, format="FLAC", subtype="PCM_16")


def level(audio: np.ndarray, key: str) -> np.ndarray:
    """Peak between -3 and -15 dBFS, seeded per file: people speak at different distances."""
    peak_db = np.random.default_rng(zlib.crc32(key.encode())).uniform(-15, -3)
    return audio * (10 ** (peak_db / 20) / max(np.abs(audio).max(), 1e-9))


def requests(synth: Synth) -> list[Take]:
    with open(OUT / "phrases.tsv", encoding="utf-8", newline="") as handle:
        phrases = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    takes: list[Take] = []
    for set_name, voices in VOICES.items():
        rows = [row for row in phrases if row["set"] == set_name]
        for index, row in enumerate(rows):
            for k in range(VOICES_PER_PHRASE):
                voice = voices[(index * VOICES_PER_PHRASE + k) % len(voices)]
                rel = f"{set_name}/{row['id']}__{voice.name}.flac"
                write(rel, level(pad(trim(synth.render(row["text"], voice))), rel))
                takes.append(Take(rel, row["id"], row["intent"], row["text"], voice.name, set_name))
    return takes


def fit(audio: np.ndarray, seconds: float = NEGATIVE_S) -> np.ndarray:
    n = int(seconds * RATE)
    return np.pad(audio, (0, max(0, n - len(audio))))[:n].astype(np.float32)


def coloured_noise(rng: np.random.Generator, exponent: float) -> np.ndarray:
    """Noise whose power falls as 1/f**exponent: 0 white, 1 pink (rain, fans), 2 brown (rumble)."""
    n = int(NEGATIVE_S * RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.maximum(np.fft.rfftfreq(n, 1 / RATE), 20.0) ** (exponent / 2)
    noise = np.fft.irfft(spectrum, n)
    return noise / np.abs(noise).max()


def music(rng: np.random.Generator) -> np.ndarray:
    """A plucked melody over held chords: tonal, rhythmic, voice-like in pitch, and not speech."""
    t = np.arange(int(NEGATIVE_S * RATE)) / RATE
    out = np.zeros_like(t)
    for start in np.arange(0, NEGATIVE_S, 0.25):
        f0 = 220 * 2 ** (rng.choice([0, 2, 4, 5, 7, 9, 12]) / 12)
        env = np.where(t >= start, np.exp(-(t - start) * 6), 0.0)
        out += env * sum(np.sin(2 * np.pi * f0 * h * t) / h for h in (1, 2, 3))
    for start in np.arange(0, NEGATIVE_S, 1.0):
        chord = 110 * 2 ** (np.array([0, 4, 7]) / 12) * 2 ** (rng.choice([0, 5, 7, 9]) / 12)
        mask = (t >= start) & (t < start + 1.0)
        out += 0.5 * mask * sum(np.sin(2 * np.pi * f * t) for f in chord)
    return out / np.abs(out).max()


def negatives(synth: Synth) -> list[Take]:
    rng = np.random.default_rng(SEED)
    sounds: dict[str, np.ndarray] = {
        "silence_digital": np.zeros(int(NEGATIVE_S * RATE), np.float32),
        "silence_room": 0.002 * coloured_noise(rng, 1.0),
        "noise_white": coloured_noise(rng, 0.0),
        "noise_pink": coloured_noise(rng, 1.0),
        "noise_brown": coloured_noise(rng, 2.0),
        "noise_hum": fit(np.sin(2 * np.pi * 50 * np.arange(int(NEGATIVE_S * RATE)) / RATE)) + 0.1 * coloured_noise(rng, 1.0),
        "music_1": music(rng),
        "music_2": music(rng),
    }
    for k, sentence in enumerate(BABBLE_SENTENCES[:9]):
        talker = ENGLISH_TALKERS[k % len(ENGLISH_TALKERS)]
        sounds[f"english_{k + 1:02d}"] = fit(trim(synth.render(sentence, talker)))
    takes = []
    for name, audio in sounds.items():
        rel = f"negatives/{name}.flac"
        write(rel, level(audio, rel) if audio.any() else audio)
        takes.append(Take(rel, name, "unknown", "", name.split("_")[0], "negatives"))
    return takes


def main() -> None:
    synth = Synth(piper=False)
    takes = requests(synth) + negatives(synth)
    with open(OUT / "manifest.tsv", "w", encoding="utf-8", newline="") as handle:
        handle.write("path\tid\tintent\ttext\tvoice\tset\n")
        handle.writelines("\t".join([t.path, t.id, t.intent, t.text, t.voice, t.set]) + "\n" for t in takes)
    counts = {s: sum(t.set == s for t in takes) for s in ("dev", "dev2", "check", "negatives")}
    print(f"{len(takes)} recordings in {OUT}: " + ", ".join(f"{s} {n}" for s, n in counts.items()))


if __name__ == "__main__":
    main()
