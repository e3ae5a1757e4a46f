"""Several microphones: which channels are heard, and how they become one voice (issue 28).

No audio device here: files are written by the tests, and the microphone's device is a stand-in
for sounddevice's answers, its audio queued as PortAudio's callback would queue it. The beamformer
is replaced by one whose output is known (it hands on one of its channels), so what is checked is
the audio-in stage around it, whatever the real beamformer comes to do inside.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from conftest import RECORDINGS, run_cli
from voice_skill import audio_in
from voice_skill.audio_in import SAMPLE_RATE, Microphone, file_chunks, parse_channels
from voice_skill.errors import SkillError

DEMO = RECORDINGS / "demo" / "my-calf-is-cramping.wav"


def fingerprint(path: Path) -> tuple[int, str]:
    """How many chunks, and a hash of each chunk's length and bytes in order."""
    digest = hashlib.sha256()
    chunks = list(file_chunks(path))
    for chunk in chunks:
        digest.update(len(chunk).to_bytes(4, "little") + chunk)
    return len(chunks), digest.hexdigest()


def noise(seconds: float, rate: int, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * rate)) * 3000).astype(np.int16)


def test_a_mono_file_is_heard_byte_for_byte_as_before(tmp_path):
    # Fingerprints taken with audio_in.file_chunks as it was before several channels were heard (7f334ee).
    assert fingerprint(DEMO) == (21, "dcb9ff34c24469cad9c9d7ac9dbaf98df88544655138adebc5735ca3b162797f")
    soundfile.write(tmp_path / "n44.wav", noise(2, 44_100, seed=28), 44_100, subtype="PCM_16")  # resampled
    assert fingerprint(tmp_path / "n44.wav") == (21, "149937936329b1a88c0819389bb3f2baccd2e2170000a9170244970b2970f554")


@pytest.mark.parametrize("text, channels", [("1", [0]), ("1,2", [0, 1]), ("4,2", [3, 1]), (" 2", [1])])
def test_channels_are_counted_from_one(text, channels):
    assert parse_channels(text) == channels


@pytest.mark.parametrize("text, reason", [("0", "counted from 1"), ("-1", "counted from 1"), ("a", "like 1,2"),
                                          ("1,,2", "like 1,2"), ("", "like 1,2"), ("2,2", "twice")])
def test_a_bad_channel_list_says_why(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_channels(text)


class PickOne:
    """A stand-in beamformer: hands on one of its channels, and keeps the shape of every block."""

    def __init__(self, channels: int, pick: int = 0) -> None:
        self.channels, self.pick, self.blocks = channels, pick, []

    def process(self, block: np.ndarray) -> np.ndarray:
        assert block.dtype == np.float32 and block.ndim == 2 and block.shape[1] == self.channels
        self.blocks.append(block.shape)
        return block[:, self.pick].copy()


@pytest.fixture
def beamformers(monkeypatch) -> list[PickOne]:
    """Every beamformer audio_in opens (one for one channel would be a mistake: it gets None)."""
    opened: list[PickOne] = []

    def open_beamformer(channels: int) -> PickOne | None:
        if channels == 1:
            return None
        opened.append(PickOne(channels, pick=1))
        return opened[-1]

    monkeypatch.setattr(audio_in, "open_beamformer", open_beamformer)
    return opened


def three_channels(tmp_path: Path, rate: int) -> tuple[Path, list[Path]]:
    """A 3-channel recording of different noise in each, and each channel as a mono file of its own."""
    columns = [noise(1.5, rate, seed) for seed in (1, 2, 3)]
    soundfile.write(tmp_path / "three.wav", np.stack(columns, axis=1), rate, subtype="PCM_16")
    singles = []
    for index, column in enumerate(columns):
        singles.append(tmp_path / f"channel{index + 1}.wav")
        soundfile.write(singles[-1], column, rate, subtype="PCM_16")
    return tmp_path / "three.wav", singles


def test_one_chosen_channel_of_a_file_is_that_channel_alone(tmp_path, beamformers):
    three, singles = three_channels(tmp_path, 22_050)
    for index, single in enumerate(singles):
        assert list(file_chunks(three, [index])) == list(file_chunks(single))
    assert beamformers == []


@pytest.mark.parametrize("rate", [16_000, 44_100])
def test_several_channels_reach_the_beamformer_together_at_16_khz(tmp_path, beamformers, rate):
    three, singles = three_channels(tmp_path, rate)
    chosen = read(three, [2, 0])  # the stand-in hands on its second channel: the file's first
    [beamformer] = beamformers
    assert beamformer.channels == 2
    # heard twice, once to learn the room, then to be heard: as many frames out as in each time
    assert sum(frames for frames, _ in beamformer.blocks) == 2 * len(chosen)
    alone = read(singles[0])
    assert len(chosen) == len(alone) == round(1.5 * SAMPLE_RATE)
    assert np.abs(chosen.astype(int) - alone).max() <= 1  # the same channel, resampled alongside others

    everything = read(three)
    assert beamformers[1].channels == 3 and np.abs(everything.astype(int) - read(singles[1])).max() <= 1


def test_a_recording_heard_as_the_microphone_hears_it_comes_in_the_microphones_blocks(tmp_path, beamformers):
    # bench.rooms' live conditions: a recording handed over as `listen`'s microphone hands audio over
    three, _ = three_channels(tmp_path, SAMPLE_RATE)
    chunks = list(audio_in.Recording(three, learn_first=False, block_ms=audio_in.MIC_BLOCK_MS))
    [beamformer] = beamformers
    block = SAMPLE_RATE * audio_in.MIC_BLOCK_MS // 1000
    assert beamformer.blocks == [(block, 3)] * round(1.5 * SAMPLE_RATE / block)  # heard once, block by block
    assert [len(chunk) // 2 for chunk in chunks] == [block] * len(beamformer.blocks)


def read(path: Path, channels: list[int] | None = None) -> np.ndarray:
    return audio_in.read_file(path, channels)


def test_a_channel_a_file_lacks_is_a_one_line_error(tmp_path):
    three, _ = three_channels(tmp_path, 16_000)
    with pytest.raises(SkillError, match=r"^\S+three.wav has 3 channels, so no channel 4$"):
        list(file_chunks(three, [0, 3]))
    with pytest.raises(SkillError, match="has 1 channel, so no channel 2"):
        list(file_chunks(DEMO, [1]))


# --- the command line ---------------------------------------------------------------------------------


def request_on_channel_two(tmp_path: Path) -> Path:
    """Channel 1 quiet noise, channel 2 "my calf is cramping"."""
    request = soundfile.read(DEMO, dtype="int16")[0]
    hiss = (noise(len(request) / SAMPLE_RATE, SAMPLE_RATE, seed=5) // 30).astype(np.int16)
    path = tmp_path / "two.wav"
    soundfile.write(path, np.stack([hiss, request], axis=1), SAMPLE_RATE, subtype="PCM_16")
    return path


def test_answer_hears_the_channels_it_is_told_to_and_a_bad_one_costs_only_its_file(tmp_path, kb):
    two = str(request_on_channel_two(tmp_path))
    done = run_cli("answer", "--json", "--channels", "2", two, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["response"].startswith(kb.lines("cramp_relief", "en")[0])
    done = run_cli("answer", "--json", "--channels", "1", two, str(DEMO), timeout=300)
    on_one, demo = [json.loads(line) for line in done.stdout.splitlines()]
    assert on_one["intent"] != "cramp_relief" and on_one["error"] is None, on_one
    assert demo["intent"] == "cramp_relief", demo
    done = run_cli("transcribe", "--channels", "2", str(DEMO), two, timeout=300)
    assert done.returncode == 1
    assert done.stderr == f"voice-skill: {DEMO} has 1 channel, so no channel 2\n"
    assert done.stdout == f"{two}: my calf is cramping\n"


@pytest.mark.parametrize("command", ["answer", "transcribe", "listen"])
def test_a_bad_channels_value_is_one_line(command):
    done = run_cli(command, *(["x.wav"] if command != "listen" else []), "--channels", "0,1")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "--channels" in done.stderr and "counted from 1" in done.stderr


# --- the microphone -------------------------------------------------------------------------------------


class Canceller:
    """A stand-in echo canceller: keeps what it was given, hands back a marked copy."""

    def __init__(self) -> None:
        self.given: list[tuple[bytes, float]] = []
        self.echo = False

    def process(self, chunk: bytes, captured_at: float) -> bytes:
        self.given.append((chunk, captured_at))
        return b"cancelled" + chunk

    def echo_possible(self, now: float) -> bool:
        return self.echo


@pytest.fixture
def device(monkeypatch):
    """A stand-in input device: `device.channels` inputs, taking 16 kHz unless `device.rates` says not."""
    import sounddevice

    class Device:
        channels = 4
        rates = {16_000, 48_000}

    def query_devices(device=None, kind=None):
        return {"name": "array", "max_input_channels": Device.channels, "default_samplerate": 48_000.0}

    def check_input_settings(device=None, samplerate=None, channels=None, dtype=None):
        if samplerate not in Device.rates or channels > Device.channels:
            raise sounddevice.PortAudioError("Invalid sample rate")

    monkeypatch.setattr(sounddevice, "query_devices", query_devices)
    monkeypatch.setattr(sounddevice, "check_input_settings", check_input_settings)
    return Device


def captured(frames: int, channels: int) -> np.ndarray:
    """Interleaved int16 as the device delivers it: channel c holds its own noise."""
    return np.stack([noise(frames / SAMPLE_RATE, SAMPLE_RATE, seed) for seed in range(channels)], axis=1)


def test_the_microphone_hears_the_chosen_channels_and_the_canceller_the_first(device, beamformers):
    canceller = Canceller()
    microphone = Microphone(None, canceller, channels=[2, 0])  # "--channels 3,1" of four
    assert (microphone.channels, microphone.captured, microphone.rate) == ([2, 0], 4, SAMPLE_RATE)
    assert microphone.describe() == "microphone 'array': channels 3, 1 of 4 at 16000 Hz"
    audio = captured(800, 4)
    chunks = microphone.chunks(timeout_s=0.1)
    outputs = []
    for echo in (False, True, False):
        canceller.echo = echo
        microphone._queue.put((audio.tobytes(), 12.5))
        outputs.append(next(chunks))
    chosen = audio[:, [2, 0]]
    assert [given for given in canceller.given] == [(chosen[:, 0].tobytes(), 12.5)] * 3  # every chunk, exactly
    [beamformer] = beamformers
    assert beamformer.blocks == [(800, 2)] * 3  # while the skill may be heard too: it keeps learning the room
    mixed = np.frombuffer(outputs[0], dtype="<i2")
    assert np.abs(mixed.astype(int) - chosen[:, 1]).max() <= 1  # the beamformer's voice (here: channel 1)
    assert outputs[1] == b"cancelled" + chosen[:, 0].tobytes() and outputs[2] == outputs[0]


def test_a_microphone_without_16_khz_has_every_chosen_channel_resampled(device, beamformers):
    device.rates = {48_000}
    microphone = Microphone(None, None)
    assert (microphone.channels, microphone.rate) == ([0, 1, 2, 3], 48_000)
    chunks = microphone.chunks(timeout_s=0.1)
    audio = captured(4800, 4)
    out = []
    for _ in range(5):
        microphone._queue.put((audio.tobytes(), 0.0))
        out.append(next(chunks))
    [beamformer] = beamformers
    assert {channels for _, channels in beamformer.blocks} == {4}
    assert sum(frames for frames, _ in beamformer.blocks) == sum(len(chunk) for chunk in out) // 2
    assert 5 * 1600 - 600 < sum(len(chunk) for chunk in out) // 2 <= 5 * 1600  # 16 kHz, less soxr's delay


def test_one_channel_is_captured_and_handed_on_as_before(device, beamformers):
    device.channels = 1
    canceller = Canceller()
    microphone = Microphone(None, canceller)
    assert (microphone.channels, microphone.captured, microphone.beamformer) == ([0], 1, None)
    data = captured(800, 1).tobytes()
    microphone._queue.put((data, 3.0))
    assert next(microphone.chunks(timeout_s=0.1)) == data and canceller.given == [(data, 3.0)]
    assert beamformers == []


def test_one_chosen_channel_of_several_takes_the_one_channel_path(device, beamformers):
    microphone = Microphone(None, None, channels=[3])
    audio = captured(800, 4)
    microphone._queue.put((audio.tobytes(), 0.0))
    assert next(microphone.chunks(timeout_s=0.1)) == audio[:, 3].tobytes()
    assert (microphone.captured, beamformers) == (4, [])


def test_a_sound_servers_device_gives_one_channel_unless_told(device, beamformers):
    device.channels = 32  # ALSA's pulse and default devices: the most a stream may have
    assert (Microphone(None, None).channels, Microphone(None, None).captured) == ([0], 1)
    told = Microphone(None, None, channels=[0, 1])
    assert (told.channels, told.captured, len(beamformers)) == ([0, 1], 2, 1)


def test_a_channel_the_microphone_lacks_is_a_one_line_error(device):
    device.channels = 2
    with pytest.raises(SkillError, match=r"^the microphone 'array' has 2 channels, so no channel 3$"):
        Microphone(None, None, channels=[0, 2])
