"""Render the "someone else is talking" test recordings: a request with one other voice under it.

    .venv/bin/python tests/make_talk_recordings.py      (needs espeak-ng; no Piper: it reads clean/)

A TV or a person across the room is one fluent talker, not a crowd, and it is what a request
most often has to be heard through. Each phrase heard in babble (manifest condition babble10) is
mixed again, from its clean take, with:
    talk10, talk5   one voice reading prose, 10 and 5 dB below the request
    tv10            a TV: a voice reading prose over music, 10 dB below the request
The background runs through the whole file, before, under and after the request. Writes the three
folders and replaces their rows in manifest.tsv; output is the same on every run (fixed seeds).
"""

from __future__ import annotations

import csv
import time

import numpy as np
import soundfile as sf

from make_recordings import BABBLE_SENTENCES, OUT, RATE, Synth, Voice, mix, normalise, talker_track, write

TALKER = Voice("talk-scotland-f2", "en-gb-scotland+f2", 160)
TV_TALKER = Voice("tv-rp-m4", "en-gb-x-rp+m4", 175)
TV_MUSIC_DB = -3.0  # the music under the TV's voice, relative to the voice
BED_S = 60.0
SEED = 20261130
CONDITIONS = {"talk10": ("talk", 10), "talk5": ("talk", 5), "tv10": ("tv", 10)}


def music(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A plain four-chord loop with a bass line and a hi-hat: what a TV plays under its talk."""
    t = np.arange(int(seconds * RATE)) / RATE
    chords = ((261.6, 329.6, 392.0), (220.0, 261.6, 329.6), (174.6, 220.0, 261.6), (196.0, 246.9, 293.7))
    beat = 0.5
    out = np.zeros_like(t)
    for index, start in enumerate(np.arange(0, seconds, 4 * beat)):
        span = (t >= start) & (t < start + 4 * beat)
        local = t[span] - start
        envelope = np.exp(-1.5 * local)
        root, *_ = chords[index % len(chords)]
        for freq in chords[index % len(chords)]:
            out[span] += envelope * sum(np.sin(2 * np.pi * freq * k * local) / k**2 for k in (1, 2, 3))
        out[span] += 1.5 * np.exp(-3 * (local % beat)) * np.sin(2 * np.pi * root / 2 * local)
    hat = np.zeros_like(t)
    for start in np.arange(0, seconds, beat / 2):
        begin = int(start * RATE)
        burst = rng.standard_normal(int(0.03 * RATE)) * np.exp(-np.arange(int(0.03 * RATE)) / (0.008 * RATE))
        hat[begin:begin + len(burst)] += 0.3 * burst[: len(hat) - begin]
    return (out + hat).astype(np.float32)


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(audio**2)))


def backgrounds(synth: Synth) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(SEED)
    talk = talker_track(synth, TALKER, 0, rng, BED_S)
    voice = talker_track(synth, TV_TALKER, len(BABBLE_SENTENCES) // 2, rng, BED_S)
    tune = music(BED_S, rng)
    tv = voice / rms(voice) + tune / rms(tune) * 10 ** (TV_MUSIC_DB / 20)
    return {"talk": normalise(talk).astype(np.float32), "tv": normalise(tv).astype(np.float32)}


def main() -> None:
    started = time.monotonic()
    with (OUT / "manifest.tsv").open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    kept = [row for row in rows if row["condition"] not in CONDITIONS]
    heard_in_babble = [row for row in rows if row["condition"] == "babble10"]
    beds = backgrounds(Synth(piper=False))
    for condition in CONDITIONS:
        for old in (OUT / condition).glob("*.wav"):
            old.unlink()
    added = []
    for row in heard_in_babble:
        name = row["path"].split("/", 1)[1]
        clean, rate = sf.read(OUT / "clean" / name, dtype="float32")
        assert rate == RATE, name
        for condition, (bed, snr) in CONDITIONS.items():
            write(OUT / condition / name, mix(clean, beds[bed], snr, f"{row['id']}/{row['voice']}/{condition}"))
            added.append({**row, "path": f"{condition}/{name}", "condition": condition})
    with (OUT / "manifest.tsv").open("w", newline="") as handle:
        handle.write("path\tid\tintent\ttext\tvoice\tcondition\n")
        handle.writelines("\t".join(r[k] for k in ("path", "id", "intent", "text", "voice", "condition")) + "\n"
                          for r in kept + added)
    print(f"{len(added)} recordings ({', '.join(CONDITIONS)}) in {OUT} ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
