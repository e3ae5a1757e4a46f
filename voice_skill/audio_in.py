"""Audio in: recorded files and the live microphone, both as 16 kHz mono 16-bit chunks for Vosk.

Files of any rate, channel count and sample format are read in blocks (so a long recording is
never loaded whole), mixed down to mono and resampled with soxr, and handed on in chunks the size
a microphone would deliver: the recogniser sees a file exactly as it would see live speech.
"""

from __future__ import annotations

import queue
import time as clock
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile
import soxr

from voice_skill.errors import SkillError

SAMPLE_RATE = 16_000
CHUNK_MS = 100
CHUNK_FRAMES = SAMPLE_RATE * CHUNK_MS // 1000


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] to little-endian 16-bit PCM, clipping what overshoots."""
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def level(chunk: bytes) -> float:
    """RMS of 16-bit PCM audio, full scale 1."""
    samples = np.frombuffer(chunk, dtype="<i2").astype(np.float32) / 32768
    return float(np.sqrt(np.mean(samples * samples))) if samples.size else 0.0


def to_mono(block: np.ndarray) -> np.ndarray:
    return block.mean(axis=1) if block.ndim == 2 else block


def file_chunks(path: Path | str) -> Iterator[bytes]:
    """Yield a recording as 16 kHz mono PCM16 chunks of CHUNK_MS; SkillError if it can't be read."""
    path = Path(path)
    _check_readable(path)
    try:
        with soundfile.SoundFile(str(path)) as audio:
            if audio.frames == 0:
                raise SkillError(f"{path}: no audio in the file")
            resampler = soxr.ResampleStream(audio.samplerate, SAMPLE_RATE, 1, dtype="float32")
            block_frames = max(1, audio.samplerate * CHUNK_MS // 1000)
            for block in audio.blocks(blocksize=block_frames, dtype="float32", always_2d=True):
                converted = resampler.resample_chunk(to_mono(block))
                if converted.size:
                    yield to_pcm16(converted)
            tail = resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            if tail.size:
                yield to_pcm16(tail)
    except soundfile.LibsndfileError as error:
        raise SkillError(f"{path}: not a readable audio file ({_describe(error)})") from None
    except (RuntimeError, ValueError) as error:  # libsndfile reports truncated data this way
        raise SkillError(f"{path}: the audio data is damaged or truncated ({error})") from None


def read_file(path: Path | str) -> np.ndarray:
    """A whole recording as 16 kHz mono int16 samples (for tests and tools that need it all)."""
    return np.frombuffer(b"".join(file_chunks(path)), dtype="<i2")


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise SkillError(f"{path}: no such file")
    if path.is_dir():
        raise SkillError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise SkillError(f"{path}: the file is empty")


def _describe(error: soundfile.LibsndfileError) -> str:
    message = str(getattr(error, "error_string", "") or error)
    return message.split(":")[-1].strip().rstrip(".") or "unknown format"


# --- the microphone -----------------------------------------------------------------------------


def list_devices() -> str:
    """The audio devices sounddevice sees, as it prints them (> marks default input, < output)."""
    import sounddevice

    return str(sounddevice.query_devices())


class Microphone:
    """Live capture: 16 kHz mono PCM16 chunks from an input device, resampled if it needs to be.

    Use as a context manager and iterate `chunks()`; the audio callback only queues raw blocks
    (with when they were captured), so nothing slow ever runs on the audio thread. With an echo
    canceller, every chunk goes through it, and while the skill's voice may be in the room the
    chunks handed on are the cancelled ones (otherwise the microphone's own, as without one).
    """

    def __init__(self, device: int | str | None = None, canceller=None) -> None:
        import sounddevice

        self._sd = sounddevice
        try:
            info = sounddevice.query_devices(device, "input")
        except (ValueError, sounddevice.PortAudioError) as error:
            raise SkillError(f"no microphone found ({_first_line(error)}); see: voice-skill devices") from None
        self.device = device
        self.name = info["name"]
        self.rate = self._pick_rate(device, int(info["default_samplerate"]))
        self.canceller = canceller  # voice_skill.echo.EchoCanceller, or None
        self._queue: queue.Queue[tuple[bytes, float]] = queue.Queue()
        self._resampler = None if self.rate == SAMPLE_RATE else soxr.ResampleStream(self.rate, SAMPLE_RATE, 1, dtype="float32")
        self._stream = None

    def _pick_rate(self, device: int | str | None, default_rate: int) -> int:
        try:
            self._sd.check_input_settings(device=device, samplerate=SAMPLE_RATE, channels=1, dtype="int16")
            return SAMPLE_RATE
        except (ValueError, self._sd.PortAudioError):
            return default_rate

    def __enter__(self) -> "Microphone":
        block = self.rate * CHUNK_MS // 1000 // 2  # half a chunk: the first words reach Vosk sooner
        try:
            self._stream = self._sd.RawInputStream(
                samplerate=self.rate, blocksize=block, device=self.device, channels=1, dtype="int16",
                callback=self._on_audio,
            )
            self._stream.start()
        except (ValueError, self._sd.PortAudioError) as error:
            raise SkillError(f"cannot open the microphone '{self.name}' ({_first_line(error)})") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stream is not None:
            self._stream.abort(ignore_errors=True)
            self._stream.close(ignore_errors=True)
            self._stream = None

    def _on_audio(self, data, frames, time, status) -> None:  # runs on PortAudio's thread
        delay = time.currentTime - time.inputBufferAdcTime  # PortAudio's timestamps, else the latency
        delay = delay if 0 < delay < 1 else self._stream.latency + frames / self.rate
        self._queue.put((bytes(data), clock.monotonic() - delay))

    def chunks(self, timeout_s: float = 2.0) -> Iterator[bytes]:
        """Yield chunks until the stream stops; SkillError if the device goes silent (lost)."""
        while True:
            try:
                data, captured_at = self._queue.get(timeout=timeout_s)
            except queue.Empty:
                raise SkillError(f"the microphone '{self.name}' stopped delivering audio") from None
            if self._resampler is not None:
                samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768
                data = to_pcm16(self._resampler.resample_chunk(samples))
            if self.canceller is None:
                yield data
            else:
                cleaned = self.canceller.process(data, captured_at)
                yield cleaned if self.canceller.echo_possible(clock.monotonic()) else data


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
