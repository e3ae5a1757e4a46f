"""`voice-skill listen --lang id` in the virtual room: Indonesian spoken into a real (virtual)
microphone is heard by Whisper and answered out loud in Indonesian, one conversation in order:
"betis saya kram", "lanjut", "berhenti". If PulseAudio cannot be started these tests fail."""

from __future__ import annotations

import pytest

from conftest import RECORDINGS
from room import RoomError, VirtualRoom, speech_segments

pytestmark = pytest.mark.audio

CHECK = RECORDINGS / "id" / "check"
REQUEST = CHECK / "c_relief_01__id-f2.flac"  # "betis saya kram"
# "lanjut" in espeak-ng's f4 voice. Its klatt3 take is heard only through Whisper's full 30 s window
# (with the 10 s window that makes latency fit, it decodes to "k" and is dropped): a known miss,
# counted in tests/test_indonesian.py's floors, not asserted here.
NEXT = CHECK / "c_next_01__id-f4.flac"
STOP = CHECK / "c_stop_01__id-f2.flac"  # "berhenti"
ANSWER_TIMEOUT_S = 8.0  # generous: the CPU is shared; latency is measured in bench/indonesian.py


@pytest.fixture(scope="module")
def skill():
    try:
        with VirtualRoom() as room:
            room.start_skill("--lang", "id")
            yield room
            if room.skill is not None and room.skill.poll() is None:
                room.stop_skill()
    except RoomError as error:
        pytest.fail(f"the virtual room could not be set up: {error}")


def test_betis_saya_kram_brings_the_first_indonesian_step_then_lanjut_and_berhenti(skill, kb):
    steps = kb.lines("cramp_relief", "id")
    done = skill.converse(REQUEST, sink="micfeed", answer_timeout=ANSWER_TIMEOUT_S, settle_s=1.5)
    heard = [line for line in done.lines if line.startswith("heard:")]
    assert len(heard) == 1 and "[cramp_relief " in heard[0], done.lines
    assert f"say: {steps[0]}" in done.lines, done.lines
    assert speech_segments(done.samples), "nothing came out of the speaker"

    done = skill.converse(NEXT, sink="micfeed", answer_timeout=ANSWER_TIMEOUT_S, settle_s=1.5)
    assert any(line.startswith("heard:") and "[next " in line for line in done.lines), done.lines
    assert f"say: {steps[1]}" in done.lines, done.lines

    done = skill.converse(STOP, sink="micfeed", answer_timeout=ANSWER_TIMEOUT_S, settle_s=1.5)
    assert any(line.startswith("heard:") and "[stop " in line for line in done.lines), done.lines
    assert not [line for line in done.lines if line.startswith("say:")], done.lines  # stop is silent


def test_still_running_and_ends_cleanly(skill):
    assert skill.skill.poll() is None, f"the skill ended by itself: {skill.errors()}"
    assert skill.stop_skill() == 0
    notices = [line for line in skill.errors() if line.startswith("voice-skill:")]
    # Listening while speaking is English-only for now: one line says so, and nothing else went wrong.
    assert notices == ["voice-skill: listening while speaking is not available for 'id' yet"], notices
