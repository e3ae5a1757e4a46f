"""The recogniser keeps the words of the loudest talker: pure checks of the level filter."""

from __future__ import annotations

import numpy as np

from voice_skill.audio_in import SAMPLE_RATE
from voice_skill.recognizer import RecentAudio, foreground
from voice_skill.tuning import BACKGROUND_MARGIN_DB


def words(*names: str) -> list[dict]:
    return [{"word": name, "start": i * 0.5, "end": (i + 1) * 0.5, "conf": 1.0} for i, name in enumerate(names)]


def test_words_far_below_the_loudest_are_someone_else():
    heard = words("the", "game", "my", "calf", "is", "cramping", "tonight")
    levels = [58.0, 57.0, 70.0, 72.0, 66.0, 71.0, 59.0]  # the TV at about -12 dB, around the request
    assert [w["word"] for w in foreground(heard, levels)] == ["my", "calf", "is", "cramping"]


def test_a_softer_word_of_the_request_itself_stays():
    heard = words("my", "calf", "is", "cramping")
    levels = [68.0, 72.0, 72.0 - BACKGROUND_MARGIN_DB + 1, 71.0]
    assert foreground(heard, levels) == heard


def test_nothing_heard_is_nothing_kept():
    assert foreground([], []) == []


def test_recent_audio_measures_a_word_by_stream_time_across_chunks():
    recent = RecentAudio(seconds=1.0)
    for index in range(30):  # 3 s of 100 ms chunks, each at its own constant level
        recent.add(np.full(SAMPLE_RATE // 10, index * 100, dtype="<i2").tobytes())
    both = (2800.0**2 + 2900.0**2) / 2  # 2.85-2.95 s spans the last two chunks, half each
    assert abs(recent.level_db(2.85, 2.95) - 10 * np.log10(both + 1)) < 0.01
    assert recent.level_db(0.0, 0.5) == float("-inf")  # older than the second it keeps


def test_recent_audio_gives_frame_levels_and_forgets_but_keeps_counting():
    recent = RecentAudio(seconds=5.0)
    recent.add(np.full(SAMPLE_RATE // 10, 1000, dtype="<i2").tobytes())  # 0.0-0.1 s
    recent.add(np.zeros(SAMPLE_RATE // 10, dtype="<i2").tobytes())  # 0.1-0.2 s: silence
    levels = recent.frame_levels_db(0.0, 0.2, 0.05)
    assert len(levels) == 4 and np.allclose(levels[:2], 10 * np.log10(1000.0**2 + 1)) and np.allclose(levels[2:], 0)
    recent.forget()
    assert recent.frame_levels_db(0.0, 0.2, 0.05).size == 0 and recent.level_db(0.0, 0.2) == float("-inf")
    recent.add(np.full(SAMPLE_RATE // 10, 100, dtype="<i2").tobytes())  # after a reset, time goes on: 0.2-0.3 s
    assert abs(recent.level_db(0.2, 0.3) - 10 * np.log10(100.0**2 + 1)) < 0.01
