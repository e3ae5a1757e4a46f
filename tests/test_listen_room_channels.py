"""A microphone of several channels in the virtual room (issue 28): each channel reaches the skill as
its own, through PulseAudio, ALSA's pulse plugin and sounddevice, and `listen --channels 1,2` answers
a request heard on two of them.

The channels are told apart by tones: channel n of the file played into the room's microphone holds
a tone of its own, and what the skill's Microphone hands its beamformer must hold each tone on its
own channel and no other (PulseAudio mixes channels whose names it cannot match: with aux0, aux1 the
plugin's stream was silent, with a 4-channel file and no channel map the tones came out mixed).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from conftest import RECORDINGS, ROOT
from room import RATE, RoomError, VirtualRoom

pytestmark = pytest.mark.audio

REQUEST = RECORDINGS / "demo" / "my-calf-is-cramping.wav"
ANSWER_WITHIN_S = 3.0  # from the end of the request to the printed answer (as tests/test_listen_room.py)
TONES_HZ = (300, 500, 700, 900)  # channel n's tone; each stands alone in the others' spectra
CAPTURE_S = 2.5
TONE_S = 1.5

# Runs in the room, as the skill would: the Microphone captures the channels named in argv[2], and a
# beamformer that keeps every block it is handed stands in for the real one.
CAPTURE = """
import sys, numpy as np
from voice_skill import audio_in
blocks = []
class Keep:
    def __init__(self, channels): pass
    def process(self, block):
        blocks.append(block.copy())
        return block[:, 0]
audio_in.open_beamformer = lambda channels: Keep(channels) if channels > 1 else None
microphone = audio_in.Microphone(None, None, [int(c) - 1 for c in sys.argv[2].split(",")])
with microphone:
    print(microphone.describe(), flush=True)
    heard = 0
    for chunk in microphone.chunks():
        heard += len(chunk) // 2
        if heard >= audio_in.SAMPLE_RATE * float(sys.argv[3]):
            break
np.save(sys.argv[1], np.concatenate(blocks))
"""


@pytest.fixture(scope="module", params=[2, 4], ids=["2 channels", "4 channels"])
def room(request):
    try:
        with VirtualRoom(mic_channels=request.param) as started:
            yield started
    except RoomError as error:
        pytest.fail(f"the virtual room could not be set up: {error}")


def tones(path: Path, channels: int) -> Path:
    t = np.arange(int(TONE_S * RATE)) / RATE
    soundfile.write(path, np.stack([0.3 * np.sin(2 * np.pi * TONES_HZ[c] * t) for c in range(channels)], axis=1),
                    RATE, subtype="PCM_16")
    return path


def tone_levels_db(block: np.ndarray) -> np.ndarray:
    """(channel, tone): each tone's level in each channel, dB re the strongest anywhere."""
    spectrum = np.abs(np.fft.rfft(block * np.hanning(len(block))[:, None], axis=0))
    bins = [int(round(hz * len(block) / RATE)) for hz in TONES_HZ[:block.shape[1]]]
    levels = np.stack([spectrum[b - 2:b + 3].max(axis=0) for b in bins], axis=1)
    return 20 * np.log10(levels / levels.max() + 1e-12)


def loudest_second(samples: np.ndarray) -> np.ndarray:
    """The second of a (frames, channels) recording with the most sound: inside the tones."""
    energy = np.convolve((samples.astype(np.float64) ** 2).sum(axis=1), np.ones(RATE), mode="valid")
    start = int(energy.argmax())
    return samples[start:start + RATE].astype(np.float64)


def assert_each_tone_on_its_channel_alone(samples: np.ndarray, what: str) -> None:
    levels = tone_levels_db(loudest_second(samples))
    own, others = np.diag(levels), levels[~np.eye(len(levels), dtype=bool)]
    assert (own > -3).all() and (others < -40).all(), f"{what}: tone levels (dB, channel x tone):\n{levels.round(1)}"


def test_parec_hears_each_channel_of_the_room_microphone_apart(room, tmp_path):
    with room.record("mic", channels=room.mic_channels) as recording:
        room.play(tones(tmp_path / "tones.wav", room.mic_channels), sink="micfeed")
    assert recording.samples.shape[1] == room.mic_channels
    assert_each_tone_on_its_channel_alone(recording.samples, "parec -d mic")


def test_the_skills_microphone_hands_the_beamformer_each_channel_apart(room, tmp_path):
    everything = ",".join(str(c + 1) for c in range(room.mic_channels))
    capture = subprocess.Popen([sys.executable, "-c", CAPTURE, str(tmp_path / "blocks.npy"), everything,
                                str(CAPTURE_S)], cwd=ROOT, env=room.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    described = capture.stdout.readline()  # the stream is open: now the tones
    time.sleep(0.2)
    room.play(tones(tmp_path / "tones.wav", room.mic_channels), sink="micfeed")
    _, errors = capture.communicate(timeout=30)
    assert capture.returncode == 0, errors
    assert described == f"microphone 'default': channels {everything.replace(',', ', ')} of {room.mic_channels} " \
                        f"at {RATE} Hz\n"
    blocks = np.load(tmp_path / "blocks.npy")
    assert blocks.shape[1] == room.mic_channels and len(blocks) >= (CAPTURE_S - 0.2) * RATE
    assert_each_tone_on_its_channel_alone(blocks, "the Microphone's blocks")


def test_devices_gives_each_inputs_channels_and_what_a_sound_servers_count_means(room):
    done = subprocess.run([sys.executable, "-m", "voice_skill", "devices"], cwd=ROOT, env=room.env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "default, ALSA (32 in, 32 out)" in done.stdout, done.stdout
    hint = "(32 in or more: a sound server's device, whatever its microphone has"
    assert done.stdout.splitlines()[-1].startswith(hint), done.stdout


# --- hands-free ---------------------------------------------------------------------------------------


def two_channel_request(path: Path, delay_ms: float = 0.5, gain: float = 0.7) -> Path:
    """The request as two microphones a few centimetres apart hear it: the second later and softer."""
    voice = soundfile.read(REQUEST, dtype="float32")[0]
    lag = int(round(delay_ms / 1000 * RATE))
    second = gain * np.concatenate([np.zeros(lag, dtype=np.float32), voice[:len(voice) - lag]])
    soundfile.write(path, np.stack([voice, second], axis=1), RATE, subtype="PCM_16")
    return path


def test_listen_hears_a_request_on_two_channels_and_answers_with_step_one(tmp_path, kb):
    try:
        with VirtualRoom(mic_channels=2) as room:
            room.start_skill("--channels", "1,2", "--verbose")
            assert "(microphone 'default': channels 1, 2 of 2 at 16000 Hz)" in room.lines(), room.lines()
            done = room.converse(two_channel_request(tmp_path / "request.wav"))
            assert room.stop_skill() == 0
    except RoomError as error:
        pytest.fail(str(error))
    heard = [line for line in done.lines if line.startswith("heard:")]
    assert len(heard) == 1 and "[cramp_relief " in heard[0], done.lines
    first = kb.lines("cramp_relief", "en")[0]
    assert done.printed_within(f"say: {first}", ANSWER_WITHIN_S), done.printed
    assert done.latency is not None, f"nothing came out of the speaker after the request: {done.timing}"
    assert not [line for line in room.errors() if line.startswith("voice-skill:")], room.errors()
