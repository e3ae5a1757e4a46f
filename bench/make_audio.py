"""Render the benchmark's recordings into bench/work/audio (git-ignored).

Run with the recordings virtualenv, which has Piper (bench/run.py does this for you):
    .venv-recordings/bin/python bench/make_audio.py [--if-stale]

It reuses tests/make_recordings.py (the synthesiser, trimming, padding, SNR mixing, babble talkers)
but with its own phrasings (bench/phrases.tsv) and voices none of the test recordings use, so the
benchmark is also a held-out check. Writes:
- manifest.tsv: every request (path, id, intent, text, voice, condition, speech_end_s); conditions
  clean, babble20/10/5/0 (speech babble), noise20/10/5/0 (stationary speech-shaped noise) and
  talk20/10/5/0 (one other person reading prose: a TV or someone across the room)
- ordinary.tsv and ordinary/*.wav: bench/ordinary_speech.txt read aloud paragraph by paragraph by
  each of the same voices and one more (over an hour in all); played back to back they are one long stream of talk with no request in it
- babble.wav, noise.wav and talk.wav: the three backgrounds
Output is the same on every run (fixed seeds, fixed order); `stamp` records what it was made from.
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "tests"))
import make_recordings as mr  # noqa: E402  (tests/ is not a package; reuse, don't copy)

OUT = BENCH / "work" / "audio"
SEED = 20250117  # not the tests' seed: a different babble bed and different mixing draws
SNRS_DB = (20, 10, 5, 0)
# Condition prefixes: speech babble, stationary speech-shaped noise, one other person talking.
NOISES = ("babble", "noise", "talk")
TALKER = mr.Voice(name="talk-caribbean-m1", espeak="en-029+m1", wpm=165)  # no request or babble voice
BED_S = 60.0  # longer than the tests' 20 s bed, so ~500 noisy files draw from more varied babble
LOUD_DB = -40.0  # a 10 ms frame this close to the utterance's loudest counts as speech (as mr.trim)
SOURCES = (BENCH / "phrases.tsv", BENCH / "ordinary_speech.txt", Path(__file__), Path(mr.__file__))

# Held out: tests/recordings uses en-us, en-us+f3, en-us+f4, en-gb+m3, en+klatt and Piper joe at its
# own pace; its babble uses the Scottish, Caribbean, RP, New York and klatt3 voices. Piper has only
# the joe voice packaged, so the bench uses it faster, with its own variation left on.
VOICES = (
    mr.Voice(name="espeak-lancaster-m2", espeak="en-gb-x-gbclan+m2", wpm=165),
    mr.Voice(name="espeak-westmidlands-f1", espeak="en-gb-x-gbcwmd+f1", wpm=150),
    mr.Voice(name="espeak-en-us-m4", espeak="en-us+m4", wpm=175),
    mr.Voice(name="espeak-en-us-f2", espeak="en-us+f2", wpm=160),
    mr.Voice(name="piper-joe-fast", length_scale=0.88),
)
ORDINARY_ONLY = mr.Voice(name="ordinary-rp-m1", espeak="en-gb-x-rp+m1", wpm=170)  # a sixth reader, for the hour


def stamp() -> str:
    """What the recordings were made from: any change to these re-renders them."""
    digest = hashlib.sha256()
    for path in SOURCES:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def speech_end_s(clean: np.ndarray) -> float:
    """End of the last loud 10 ms frame: where the person stops talking, for latency."""
    frame = mr.RATE // 100
    n = len(clean) // frame
    rms = np.sqrt(np.mean(clean[: n * frame].reshape(n, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (LOUD_DB / 20))
    return round((loud[-1] + 1) * frame / mr.RATE, 3)


def babble_bed(synth: mr.Synth) -> np.ndarray:
    """The tests' espeak babble talkers (not their Piper one: joe speaks the requests here)."""
    mr.BABBLE_S = BED_S  # talker_track reads the bed length from its module
    rng = np.random.default_rng(SEED)
    talkers = [v for v in mr.BABBLE_TALKERS if v.espeak is not None]
    step = len(mr.BABBLE_SENTENCES) // len(talkers)
    tracks = [mr.talker_track(synth, v, k * step + 1, rng) for k, v in enumerate(talkers)]
    return mr.normalise(np.sum(tracks, axis=0)).astype(np.float32)


def talker_bed(synth: mr.Synth) -> np.ndarray:
    """One voice reading prose, as a person across the room or a TV would: fluent, with pauses."""
    return mr.normalise(mr.talker_track(synth, TALKER, 3, np.random.default_rng(SEED + 3), BED_S)).astype(np.float32)


def speech_shaped_noise(babble: np.ndarray) -> np.ndarray:
    """Stationary noise with the babble's long-term spectrum: like a fan or traffic hum, it masks
    the same frequencies speech uses but never pauses."""
    n_fft = 512
    frames = babble[: len(babble) // n_fft * n_fft].reshape(-1, n_fft) * np.hanning(n_fft)
    psd = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)
    n = int(BED_S * mr.RATE)
    white = np.fft.rfft(np.random.default_rng(SEED + 1).standard_normal(n))
    shape = np.interp(np.linspace(0, 1, len(white)), np.linspace(0, 1, len(psd)), np.sqrt(psd))
    return mr.normalise(np.fft.irfft(white * shape, n)).astype(np.float32)


def render_requests(synth: mr.Synth, beds: dict[str, np.ndarray]) -> list[list[str]]:
    """Every phrase in every voice, clean; and in each noisy condition once, in a rotating voice."""
    rows: list[list[str]] = []
    conditions = [(noise, snr) for noise in NOISES for snr in SNRS_DB]
    for index, phrase in enumerate(mr.read_phrases(BENCH / "phrases.tsv")):
        for v, voice in enumerate(VOICES):
            clean = mr.utterance(synth, phrase.text, voice)
            end = f"{speech_end_s(clean):.3f}"
            takes = [("clean", clean)]
            # Condition k gets voice (index + k) mod 5: each voice is heard in every condition.
            takes += [(f"{noise}{snr}", mr.mix(clean, beds[noise], snr, f"bench/{phrase.id}/{voice.name}/{noise}{snr}"))
                      for k, (noise, snr) in enumerate(conditions) if (index + k) % len(VOICES) == v]
            for condition, audio in takes:
                rel = f"{condition}/{phrase.id}__{voice.name}.wav"
                mr.write(OUT / rel, audio)
                rows.append([rel, phrase.id, phrase.intent, phrase.text, voice.name, condition, end])
    return rows


def ordinary_paragraphs() -> list[str]:
    text = (BENCH / "ordinary_speech.txt").read_text(encoding="utf-8")
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def read_aloud(synth: mr.Synth, paragraph: str, voice: mr.Voice, rng: np.random.Generator) -> np.ndarray:
    """A paragraph as one person reads it: a pause before (between talkers), sentences with natural pauses."""
    parts = [np.zeros(int(rng.uniform(0.6, 1.2) * mr.RATE), np.float32)]
    for sentence in re.split(r"(?<=[.?!])\s+", paragraph):
        parts.append(mr.trim(synth.render(sentence, voice)))
        parts.append(np.zeros(int(rng.uniform(0.25, 0.6) * mr.RATE), np.float32))
    return mr.normalise(np.concatenate(parts))


def render_ordinary(synth: mr.Synth) -> list[list[str]]:
    """The long-form text, every paragraph in every voice (over an hour: one false accept in ten
    minutes is too coarse to mean anything), one file each, sentences with natural pauses."""
    rng = np.random.default_rng(SEED + 2)
    paragraphs = ordinary_paragraphs()
    rows = []
    readings = [(index, paragraph, voice) for voice in (*VOICES, ORDINARY_ONLY)
                for index, paragraph in enumerate(paragraphs)]
    for index, paragraph, voice in readings:
        audio = read_aloud(synth, paragraph, voice, rng)
        rel = f"ordinary/{index:02d}__{voice.name}.wav"
        mr.write(OUT / rel, audio)
        rows.append([rel, voice.name, f"{len(audio) / mr.RATE:.2f}", str(len(paragraph.split()))])
    return rows


def write_tsv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("\t".join(header) + "\n")
        handle.writelines("\t".join(row) + "\n" for row in rows)


def main() -> None:
    if "--if-stale" in sys.argv and (OUT / "stamp").is_file() and (OUT / "stamp").read_text().strip() == stamp():
        print(f"bench audio: up to date in {OUT}", flush=True)
        return
    started = time.monotonic()
    (OUT / "stamp").unlink(missing_ok=True)  # a half-made set must not pass for a finished one
    for old in OUT.glob("*/*.wav"):
        old.unlink()
    synth = mr.Synth()
    babble = babble_bed(synth)
    beds = {"babble": babble, "noise": speech_shaped_noise(babble), "talk": talker_bed(synth)}
    for name, bed in beds.items():
        mr.write(OUT / f"{name}.wav", bed)
    requests = render_requests(synth, beds)
    write_tsv(OUT / "manifest.tsv", ["path", "id", "intent", "text", "voice", "condition", "speech_end_s"], requests)
    ordinary = render_ordinary(synth)
    write_tsv(OUT / "ordinary.tsv", ["path", "voice", "seconds", "words"], ordinary)
    (OUT / "stamp").write_text(stamp() + "\n")
    minutes = sum(float(r[2]) for r in ordinary) / 60
    print(f"bench audio: {len(requests)} requests, {minutes:.1f} min of ordinary speech in {OUT} "
          f"({time.monotonic() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
