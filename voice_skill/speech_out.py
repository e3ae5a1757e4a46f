"""Speech out: pyttsx3 (espeak-ng on Linux) renders each line to audio, sounddevice plays it.

pyttsx3's own playback on Linux runs `aplay` per utterance and its runAndWait() can return before
the sound has finished, so the skill never lets it play: it asks pyttsx3 for the audio
(save_to_file), keeps it, and plays it through one output stream that stays open. That way
the skill knows to the block when a line starts and ends, can cut speech short, and pays no
start-up cost when it answers: every fixed line is rendered before anyone asks.
"""

from __future__ import annotations

import collections
import contextlib
import io
import os
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import soundfile

from voice_skill.errors import SkillError
from voice_skill.tuning import DUCK_DB

RENDER_TIMEOUT_S = 5.0
RENDER_ATTEMPTS = 3
DEFAULT_RATE_WPM = 140  # slower than espeak's 175: clear for someone in pain
VOICE_FOR_LANGUAGE = {"en": "gmw/en-us", "id": "poz/id"}


def _engine():
    import pyttsx3

    try:
        return pyttsx3.init("espeak" if os.name == "posix" else None)
    except Exception as error:  # pyttsx3 raises whatever its driver raised (no espeak-ng, ...)
        raise SkillError(f"text-to-speech is not available ({error}); install espeak-ng") from None


def list_voices() -> list[tuple[str, str, str]]:
    return [(v.id, v.name, ",".join(map(str, v.languages))) for v in _engine().getProperty("voices")]


class Synthesizer:
    """Text to audio samples with pyttsx3, remembered so each line is rendered once."""

    def __init__(self, lang: str = "en", voice: str | None = None, rate: int | None = None) -> None:
        self.engine = _engine()
        self.voice = self._pick_voice(voice or VOICE_FOR_LANGUAGE.get(lang, "gmw/en-us"))
        self.engine.setProperty("voice", self.voice)
        self.engine.setProperty("rate", rate or DEFAULT_RATE_WPM)
        self.sample_rate = 0
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()  # pyttsx3 engines are not thread-safe
        # The first line espeak-ng renders in a process sometimes comes out wrong: in 2 of 120 fresh
        # processes here it was cut to 1.5 s, or spoken at pyttsx3's default 200 words a minute, not
        # ours (espeak-ng's asynchronous start-up). After one throwaway line, 100 of 100 were right.
        self.output_rate()

    def _pick_voice(self, wanted: str) -> str:
        voices = self.engine.getProperty("voices")
        for voice in voices:
            if wanted in (voice.id, voice.name) or wanted.lower() == voice.name.lower():
                return voice.id
        raise SkillError(f"no text-to-speech voice named '{wanted}' (see: voice-skill voices)")

    def output_rate(self) -> int:
        """The rate the voice renders at (espeak-ng: 22050 Hz), learnt from a first render."""
        if not self.sample_rate:
            self.render(".")
        return self.sample_rate

    def prepare(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.render(line)

    def render(self, text: str) -> np.ndarray:
        with self._lock:
            if text not in self._cache:
                self._cache[text] = self._synthesize(text)
            return self._cache[text]

    def _synthesize(self, text: str) -> np.ndarray:
        for _ in range(RENDER_ATTEMPTS):
            samples = self._render_once(text)
            if samples is not None:
                return samples
        raise SkillError(f"text-to-speech produced no audio for: {text[:40]!r}")

    def _render_once(self, text: str) -> np.ndarray | None:
        """One pyttsx3 render to a file, read back; None if no audio arrived in time.

        pyttsx3 runs queued commands in a batch, its runAndWait() may return while espeak is still
        writing, and its finished-utterance event may belong to the previous line; so the file
        itself is the judge: it must hold audio."""
        with tempfile.TemporaryDirectory() as work:
            path = os.path.join(work, "line.wav")
            with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3 prints "Audio saved to ..."
                self.engine.save_to_file(text, path)
                self.engine.runAndWait()
                deadline = time.monotonic() + RENDER_TIMEOUT_S
                while (samples := _read_audio(path)) is None and time.monotonic() < deadline:
                    time.sleep(0.01)
        if samples is None:
            return None
        self.sample_rate = self.sample_rate or samples[1]
        return samples[0]


def _read_audio(path: str) -> tuple[np.ndarray, int] | None:
    """The samples of a WAV file that is complete and not empty, else None. Python's wave writer
    fills in the header's frame count only when it closes the file: a count means it is done."""
    try:
        with wave.open(path) as header:
            if header.getnframes() == 0:
                return None
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, OSError, RuntimeError, EOFError, wave.Error):
        return None
    return (samples[:, 0], rate) if samples.size else None


def gain_ramp(start: float, end: float, frames: int) -> np.ndarray:
    """Per-sample gains for one block going from `start` to `end`: a step in volume would click."""
    if start == end:
        return np.full(frames, end, np.float32)
    return np.linspace(start, end, frames, endpoint=False, dtype=np.float32)


class Speaker:
    """Plays rendered lines one after another on an output stream that stays open.

    `say` queues lines and returns at once; `interrupt` cuts off the current line and drops the
    queue; `speaking` is true from the first sample of a line until its last has been played;
    `duck` lowers its voice (by DUCK_DB, ramped over one block) while someone talks over it, until
    `duck(False)` or the next `interrupt`.
    `on_played`, if set, is handed every block played (silence too), its rate and when it will be
    heard (time.monotonic()): the echo canceller's reference. It runs on the audio thread.
    """

    def __init__(self, synthesizer: Synthesizer, device: int | str | None = None) -> None:
        import sounddevice

        self.synthesizer = synthesizer
        self._pending: collections.deque[np.ndarray] = collections.deque()
        self._current: np.ndarray | None = None
        self._position = 0
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self.last_sound_at = 0.0  # time.monotonic() of the last block that carried speech
        self.on_played: Callable[[np.ndarray, int, float], None] | None = None
        self._gain = self._target_gain = 1.0
        self.rate = rate = synthesizer.output_rate()
        # "high" latency (about 35 ms through ALSA's PulseAudio plugin): "low" (8 ms) underran
        # under load and chopped the speech, for a gain nobody would hear.
        try:
            self._stream = sounddevice.OutputStream(samplerate=rate, channels=1, dtype="float32", device=device,
                                                    latency="high", callback=self._fill)
            self._stream.start()
        except (ValueError, sounddevice.PortAudioError) as error:
            raise SkillError(f"no speaker to play speech on ({str(error).splitlines()[0]})") from None

    @property
    def speaking(self) -> bool:
        return not self._idle.is_set()

    def say(self, lines: Sequence[str]) -> None:
        if not lines:
            return
        rendered = [self.synthesizer.render(line) for line in lines]
        with self._lock:
            self._pending.extend(rendered)
            if rendered:
                self._idle.clear()

    def interrupt(self) -> None:
        with self._lock:
            self._pending.clear()
            self._current = None
            self._target_gain = 1.0
            self._idle.set()

    def duck(self, on: bool) -> None:
        """Lower its voice while someone talks over it (on), or bring it back."""
        self._target_gain = 10 ** (-DUCK_DB / 20) if on else 1.0

    def wait(self, timeout: float | None = None) -> bool:
        """Block until everything queued has been played; False on timeout."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        self.interrupt()
        self._stream.abort(ignore_errors=True)  # abort, not stop: nothing left is worth draining
        self._stream.close(ignore_errors=True)

    def _fill(self, out: np.ndarray, frames: int, time_info, status) -> None:  # PortAudio's thread
        out.fill(0)
        written = 0
        with self._lock:
            while written < frames:
                if self._current is None:
                    if not self._pending:
                        break
                    self._current, self._position = self._pending.popleft(), 0
                take = min(frames - written, len(self._current) - self._position)
                out[written:written + take, 0] = self._current[self._position:self._position + take]
                written += take
                self._position += take
                if self._position >= len(self._current):
                    self._current = None
            if written and (self._gain != 1.0 or self._target_gain != 1.0):
                out[:, 0] *= gain_ramp(self._gain, self._target_gain, frames)
            self._gain = self._target_gain
            if written:
                self.last_sound_at = time.monotonic()
            elif self._current is None and not self._pending:
                self._idle.set()  # a whole silent block after the last sample: really done
        if self.on_played is not None:
            self.on_played(out[:, 0], self.rate, time.monotonic() + self._output_delay(time_info))

    def _output_delay(self, time_info) -> float:
        """How long until this block is heard: PortAudio's timestamps, else the stream's latency."""
        delay = time_info.outputBufferDacTime - time_info.currentTime
        return delay if 0 < delay < 1 else self._stream.latency
