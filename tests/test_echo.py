"""The echo canceller (WebRTC AEC3 through livekit) on a simulated room: the skill's own rendered
voice played, its echo (delayed, with a reverberant tail) in the microphone, with and without a
person speaking over it. The canceller is the real one; only the room is simulated."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from conftest import RECORDINGS
from voice_skill.audio_in import SAMPLE_RATE, read_file
from voice_skill.echo import EchoCanceller

CHUNK = SAMPLE_RATE // 20  # the microphone's 50 ms blocks
BLOCK = 1024  # the speaker's blocks


@pytest.fixture(scope="module")
def voice(kb) -> tuple[np.ndarray, int]:
    from voice_skill.speech_out import Synthesizer

    synthesizer = Synthesizer("en")
    line = " ".join(kb.lines("cramp_relief", "en")[:2])
    return synthesizer.render(line), synthesizer.output_rate()


def room(played: np.ndarray, rate: int, delay_s: float = 0.04) -> np.ndarray:
    """The echo at the microphone: a direct path after `delay_s` and a short decaying tail."""
    at16 = soxr.resample(played, rate, SAMPLE_RATE)
    rng = np.random.default_rng(1)
    tail = rng.standard_normal(1600) * np.exp(-np.arange(1600) / 800) * 0.02
    response = np.zeros(int(delay_s * SAMPLE_RATE) + 1600)
    response[int(delay_s * SAMPLE_RATE)] = 1.0
    response[-1600:] += tail
    return 0.3 * np.convolve(at16, response)[:len(at16)]


def run(canceller: EchoCanceller, played: np.ndarray, rate: int, mic: np.ndarray,
        clock_error_s: float = 0.0) -> np.ndarray:
    """Play and capture on one clock; the speaker's timestamps off by `clock_error_s`."""
    pcm = (np.clip(mic, -1, 1) * 32767).astype("<i2")
    out, handed = [], 0
    for at in range(0, len(pcm) - CHUNK + 1, CHUNK):
        now = at / SAMPLE_RATE
        while handed * BLOCK / rate < now + 0.1:  # blocks are handed over before they are heard
            block = played[handed * BLOCK:(handed + 1) * BLOCK]
            canceller.played(np.pad(block, (0, BLOCK - len(block))), rate, handed * BLOCK / rate + clock_error_s)
            handed += 1
        out.append(canceller.process(pcm[at:at + CHUNK].tobytes(), now))
    return np.frombuffer(b"".join(out), dtype="<i2").astype(np.float64) / 32768


def db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(x * x) + 1e-12)


@pytest.mark.parametrize("clock_error_s", [0.05, 0.0, -0.1, -0.3])
def test_its_own_voice_is_removed_whatever_the_devices_report(voice, clock_error_s):
    """The reported latency may be off either way; AEC3 alone copes with only some 10 to 90 ms."""
    played, rate = voice
    echo = room(played, rate)
    canceller = EchoCanceller()
    cleaned = run(canceller, played, rate, echo, clock_error_s)
    assert abs(canceller.lag_s - (0.04 - clock_error_s)) < 0.03, f"echo found {canceller.lag_s:.3f} s behind"
    settled = slice(5 * SAMPLE_RATE, len(cleaned))  # once it has found the delay and adapted
    removed = db(echo[settled][:len(cleaned[settled])]) - db(cleaned[settled])
    # AEC3 (livekit's build) runs in one of two modes for a whole process, seen in 1 process in 8:
    # 53-59 dB removed here, or 28-42 dB in the weaker one; 25 dB holds in both, and a canceller
    # that is off or misaligned removes next to nothing.
    assert removed > 25, f"only {removed:.1f} dB of echo removed"


def test_a_person_speaking_over_it_is_kept(voice):
    played, rate = voice
    echo = room(played, rate)
    person = read_file(RECORDINGS / "demo" / "stop.wav").astype(np.float64) / 32768
    person *= np.sqrt(np.mean(echo ** 2) / np.mean(person[np.abs(person) > 0.01] ** 2))  # about 0 dB
    at = 3 * SAMPLE_RATE
    mic = echo.copy()
    mic[at:at + len(person)] += person
    cleaned = run(EchoCanceller(), played, rate, mic)
    span = slice(at, at + len(person))
    kept = db(cleaned[span]) - db(person)
    assert kept > -10, f"the person's speech came out {kept:.1f} dB down"
