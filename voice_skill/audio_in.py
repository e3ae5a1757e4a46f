"""Audio in: recorded files and the live microphone, both as 16 kHz mono 16-bit chunks for Vosk.

Files of any rate, channel count and sample format are read in blocks (so a long recording is
never loaded whole), resampled with soxr, and handed on in chunks the size a microphone would
deliver: the recogniser sees a file exactly as it would see live speech. Several channels (all, or
those chosen) are resampled together and turned into one voice by the beamformer, as the
microphone's are; one channel takes the plain mono path.
"""

from __future__ import annotations

import queue
import time as clock
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import soundfile
import soxr

from voice_skill.beamformer import Beamformer, open_beamformer
from voice_skill.errors import SkillError

SAMPLE_RATE = 16_000
CHUNK_MS = 100
CHUNK_FRAMES = SAMPLE_RATE * CHUNK_MS // 1000
MIC_BLOCK_MS = CHUNK_MS // 2  # what the live microphone hands over at a time: the first words reach Vosk sooner
# ALSA's `pulse` and `default` devices (PulseAudio, here 16.1) offer 32 input channels: the most a
# stream may have, not how many microphones there are. Capturing all 32 gave silence on every one,
# so from such a device only the channels named (--channels) are taken, else one, as before.
SOUND_SERVER_CHANNELS = 32


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] to little-endian 16-bit PCM, clipping what overshoots."""
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def level(chunk: bytes) -> float:
    """RMS of 16-bit PCM audio, full scale 1."""
    samples = np.frombuffer(chunk, dtype="<i2").astype(np.float32) / 32768
    return float(np.sqrt(np.mean(samples * samples))) if samples.size else 0.0


def to_mono(block: np.ndarray) -> np.ndarray:
    return block.mean(axis=1) if block.ndim == 2 else block


def parse_channels(text: str) -> list[int]:
    """'1,3' (1-based, as a user counts them) -> [0, 2]; ValueError saying what is wrong."""
    try:
        numbers = [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"'{text}' is not a list of channel numbers like 1,2") from None
    if any(number < 1 for number in numbers):
        raise ValueError(f"'{text}': channels are counted from 1")
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"'{text}' names a channel twice")
    return [number - 1 for number in numbers]


def select_channels(wanted: Sequence[int] | None, available: int, source: str) -> list[int]:
    """The 0-based channels to use of `available`: all when none were named; SkillError for one
    that is not there."""
    if wanted is None:
        return list(range(available))
    missing = [channel + 1 for channel in wanted if channel >= available]
    if missing:
        noun = "channel" if available == 1 else "channels"
        raise SkillError(f"{source} has {available} {noun}, so no channel {missing[0]}")
    return list(wanted)


def file_chunks(path: Path | str, channels: Sequence[int] | None = None, learn_first: bool = True) -> Iterator[bytes]:
    """Yield a recording as 16 kHz mono PCM16 chunks of CHUNK_MS; SkillError if it can't be read.
    `channels`: 0-based, which to hear (default all); several go through the beamformer, which
    (with `learn_first`) hears the whole recording once before it is heard: the room, the TV and
    where the person is are then known from its first word on, as a live device knows them after a
    while in the room (dev rooms, `answer`, all intents: 69% -> 81% with 2 microphones, 71% -> 84%
    with 4; see tuning.BEAM_*)."""
    return iter(Recording(path, channels, learn_first))


class Recording:
    """A recording heard chunk by chunk (file_chunks) that, like a Microphone, can hear its last
    seconds again as its beamformer is steered now (hear_again): the live loop's path, from a file.
    `block_ms`: how much is read at a time (MIC_BLOCK_MS: handed over as the live microphone does)."""

    def __init__(self, path: Path | str, channels: Sequence[int] | None = None, learn_first: bool = True,
                 block_ms: int = CHUNK_MS) -> None:
        self.path, self.channels, self.learn_first, self.block_ms = Path(path), channels, learn_first, block_ms
        self.beamformer: Beamformer | None = None

    def hear_again(self, seconds: float) -> bytes | None:
        return replayed(self.beamformer, seconds)

    def __iter__(self) -> Iterator[bytes]:
        path = self.path
        _check_readable(path)
        try:
            with soundfile.SoundFile(str(path)) as audio:
                if audio.frames == 0:
                    raise SkillError(f"{path}: no audio in the file")
                picked = select_channels(self.channels, audio.channels, str(path))
                self.beamformer = beamformer = open_beamformer(len(picked))
                if beamformer is None:  # one channel: mono, byte for byte as before
                    yield from (to_pcm16(block) for block in _blocks_16k(audio, picked, self.block_ms))
                    return
                if self.learn_first:
                    for block in _blocks_16k(audio, picked, self.block_ms):
                        beamformer.process(block)
                    audio.seek(0)
                yield from (to_pcm16(beamformer.process(block)) for block in _blocks_16k(audio, picked, self.block_ms))
        except soundfile.LibsndfileError as error:
            raise SkillError(f"{path}: not a readable audio file ({_describe(error)})") from None
        except (RuntimeError, ValueError) as error:  # libsndfile reports truncated data this way
            raise SkillError(f"{path}: the audio data is damaged or truncated ({error})") from None


def _blocks_16k(audio: soundfile.SoundFile, picked: list[int], block_ms: int) -> Iterator[np.ndarray]:
    """The chosen channels at 16 kHz, `block_ms` at a time: (frames,) for one, else (frames, channels)."""
    width = len(picked)
    resampler = soxr.ResampleStream(audio.samplerate, SAMPLE_RATE, width, dtype="float32")
    block_frames = max(1, audio.samplerate * block_ms // 1000)
    for block in audio.blocks(blocksize=block_frames, dtype="float32", always_2d=True):
        picked_block = block if width == audio.channels else block[:, picked]
        converted = resampler.resample_chunk(picked_block if width > 1 else to_mono(picked_block))
        if len(converted):
            yield converted
    tail = resampler.resample_chunk(np.zeros((0, width) if width > 1 else 0, dtype=np.float32), last=True)
    if len(tail):
        yield tail


def replayed(beamformer: Beamformer | None, seconds: float) -> bytes | None:
    """The last `seconds` the beamformer heard, beamformed again as it is steered now, as 16 kHz
    PCM16; None with one channel, or when the beam has not turned since (Beamformer.replay)."""
    again = None if beamformer is None else beamformer.replay(seconds)
    return None if again is None else to_pcm16(again)


def read_file(path: Path | str, channels: Sequence[int] | None = None) -> np.ndarray:
    """A whole recording as 16 kHz mono int16 samples (for tests and tools that need it all)."""
    return np.frombuffer(b"".join(file_chunks(path, channels)), dtype="<i2")


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
    """The audio devices sounddevice sees, as it prints them (> marks default input, < output; each
    with its input and output channel counts), and what a sound server's channel count means."""
    import sounddevice

    devices = sounddevice.query_devices()
    listing = str(devices)
    if any(device["max_input_channels"] >= SOUND_SERVER_CHANNELS for device in devices):
        listing += (f"\n({SOUND_SERVER_CHANNELS} in or more: a sound server's device, whatever its microphone has; "
                    "listen hears one channel of it unless --channels names them)")
    return listing


class Microphone:
    """Live capture: 16 kHz mono PCM16 chunks from an input device, resampled if it needs to be.

    Use as a context manager and iterate `chunks()`; the audio callback only queues raw blocks
    (with when they were captured), so nothing slow ever runs on the audio thread. All the device's
    channels are captured (or those chosen); several become one voice through the beamformer, which
    sees every chunk so that it keeps learning the room. With an echo canceller, every chunk's first
    chosen channel goes through it (the canceller is mono), and while the skill's voice may be in
    the room the chunks handed on are the cancelled ones (otherwise the beamformer's, or with one
    channel the microphone's own, as without a canceller).
    """

    def __init__(self, device: int | str | None = None, canceller=None,
                 channels: Sequence[int] | None = None) -> None:
        import sounddevice

        self._sd = sounddevice
        try:
            info = sounddevice.query_devices(device, "input")
        except (ValueError, sounddevice.PortAudioError) as error:
            raise SkillError(f"no microphone found ({_first_line(error)}); see: voice-skill devices") from None
        self.device = device
        self.name = info["name"]
        # the 0-based channels heard, of how many captured
        self.channels, self.captured = _capture_channels(channels, int(info["max_input_channels"]), self.name)
        self.rate = self._pick_rate(device, int(info["default_samplerate"]))
        self.canceller = canceller  # voice_skill.echo.EchoCanceller, or None
        self.beamformer = open_beamformer(len(self.channels))
        self._queue: queue.Queue[tuple[bytes, float]] = queue.Queue()
        resampled = 1 if self.beamformer is None else len(self.channels)  # every channel the beamformer hears
        self._resampler = None if self.rate == SAMPLE_RATE else soxr.ResampleStream(self.rate, SAMPLE_RATE, resampled, dtype="float32")
        self._stream = None

    def describe(self) -> str:
        """Which device, which channels (as a user counts them) and at what rate it captures."""
        noun = "channels" if len(self.channels) > 1 else "channel"
        return (f"microphone '{self.name}': {noun} {', '.join(str(c + 1) for c in self.channels)} "
                f"of {self.captured} at {self.rate} Hz")

    def _pick_rate(self, device: int | str | None, default_rate: int) -> int:
        try:
            self._sd.check_input_settings(device=device, samplerate=SAMPLE_RATE, channels=self.captured, dtype="int16")
            return SAMPLE_RATE
        except (ValueError, self._sd.PortAudioError):
            return default_rate

    def __enter__(self) -> "Microphone":
        block = self.rate * MIC_BLOCK_MS // 1000
        try:
            self._stream = self._sd.RawInputStream(
                samplerate=self.rate, blocksize=block, device=self.device, channels=self.captured, dtype="int16",
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
            echo_possible = self.canceller is not None and self.canceller.echo_possible(clock.monotonic())
            if self.beamformer is not None:
                self.beamformer.learning = not echo_possible
            first, voice = self._one_channel(data) if self.beamformer is None else self._beamformed(data)
            if self.canceller is None:
                yield voice
            else:
                cleaned = self.canceller.process(first, captured_at)
                yield cleaned if self.canceller.echo_possible(clock.monotonic()) else voice

    def hear_again(self, seconds: float) -> bytes | None:
        """The last `seconds` heard, beamformed as the beam is steered now (see replayed)."""
        return replayed(self.beamformer, seconds)

    def _one_channel(self, data: bytes) -> tuple[bytes, bytes]:
        """(the channel, the voice): both the one chosen channel at 16 kHz."""
        if self.captured > 1:
            data = np.ascontiguousarray(self._chosen(data)[:, 0]).tobytes()
        if self._resampler is not None:
            samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768
            data = to_pcm16(self._resampler.resample_chunk(samples))
        return data, data

    def _beamformed(self, data: bytes) -> tuple[bytes, bytes]:
        """(the first chosen channel, the beamformer's voice), both at 16 kHz."""
        chosen = self._chosen(data)
        block = chosen.astype(np.float32) / 32768
        if self._resampler is None:
            first = np.ascontiguousarray(chosen[:, 0]).tobytes()
        else:
            block = self._resampler.resample_chunk(block)
            first = to_pcm16(block[:, 0])
        return first, to_pcm16(self.beamformer.process(block)) if len(block) else b""

    def _chosen(self, data: bytes) -> np.ndarray:
        """The chosen channels of a captured block, (frames, chosen) int16."""
        return np.frombuffer(data, dtype="<i2").reshape(-1, self.captured)[:, self.channels]


def _capture_channels(wanted: Sequence[int] | None, available: int, name: str) -> tuple[list[int], int]:
    """(the 0-based channels to hear, how many to capture). A device states its channels and takes
    only all of them; a sound server's takes any number up to its maximum (SOUND_SERVER_CHANNELS)."""
    if available >= SOUND_SERVER_CHANNELS and wanted is None:
        return [0], 1
    chosen = select_channels(wanted, available, f"the microphone '{name}'")
    return chosen, max(chosen) + 1 if available >= SOUND_SERVER_CHANNELS else available


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
