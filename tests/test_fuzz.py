"""Random bytes, random audio and random text: the front ends refuse or answer, never crash."""

from __future__ import annotations


import numpy as np
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice_skill.audio_in import SAMPLE_RATE, file_chunks
from voice_skill.errors import SkillError
from voice_skill.matcher import Matcher

_MATCHERS: dict[int, Matcher] = {}


def _matcher(kb) -> Matcher:
    if id(kb) not in _MATCHERS:  # building a Matcher per example would dominate the test's time
        _MATCHERS[id(kb)] = Matcher(kb)
    return _MATCHERS[id(kb)]


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(data=st.binary(max_size=4096), suffix=st.sampled_from([".wav", ".flac", ".ogg", ".mp3", ".txt"]))
def test_random_bytes_are_refused_with_a_skill_error_or_decoded(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("fuzz") / f"input{suffix}"
    path.write_bytes(data)
    try:
        audio = b"".join(file_chunks(path))
    except SkillError as error:
        assert "\n" not in str(error)
    else:
        assert len(audio) % 2 == 0


@FAST
@given(rate=st.sampled_from([8000, 11025, 16000, 22050, 44100, 48000]), channels=st.integers(1, 3),
       seconds=st.floats(0.001, 1.5), seed=st.integers(0, 2**16))
def test_random_audio_of_any_shape_comes_out_as_16k_mono(tmp_path_factory, rate, channels, seconds, seed):
    frames = max(1, int(rate * seconds))
    noise = np.random.default_rng(seed).uniform(-1, 1, (frames, channels)).astype(np.float32)
    path = tmp_path_factory.mktemp("fuzz") / "noise.wav"
    soundfile.write(str(path), noise, rate, subtype="FLOAT")
    samples = np.frombuffer(b"".join(file_chunks(path)), dtype="<i2")
    assert abs(len(samples) - frames * SAMPLE_RATE / rate) <= SAMPLE_RATE * 0.01 + 2


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_random_text_always_gets_an_intent(kb, text):
    match = _matcher(kb).match(text)
    assert match.intent in kb.entries and 0.0 <= match.confidence <= 1.0
