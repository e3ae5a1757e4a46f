"""`voice-skill listen` in a virtual room: a real microphone and speaker (PulseAudio), real speech.

One private PulseAudio server and one skill process serve the whole module, and the tests follow
one conversation in order: the request, "next", "stop", then the device hearing itself. Each test
first brings the conversation to the state it needs if an earlier one did not (so any test can be
run on its own with -k), and each asserts on what it alone did: what was printed, what came out of
the speaker (transcribed here, independently of the skill, by Vosk with its full vocabulary), and
how soon. If PulseAudio cannot be started these tests fail; they never skip.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from conftest import RECORDINGS
from room import RATE, RoomError, VirtualRoom, request_speech_s, speech_segments

pytestmark = pytest.mark.audio

DEMO = RECORDINGS / "demo"
REQUEST, NEXT, STOP = DEMO / "my-calf-is-cramping.wav", DEMO / "next.wav", DEMO / "stop.wav"
ANSWER_WITHIN_S = 3.0  # from the end of the request to the printed answer
MAX_LATENCY_S = 0.8  # from the end of the request to the first sound of the answer
STEP1_WORDS = {"ankle", "toward", "toes", "stretch", "calf", "muscle"}
STEP2_WORDS = {"massage", "gently", "calf", "muscle", "cramping"}  # Vosk hears "the calf muscle" best
STEP1_ONLY = {"flex", "ankle", "toward", "toes", "stretch"}  # not in step 2: it must not be step 1 again


@pytest.fixture(scope="module")
def room():
    try:
        with VirtualRoom() as started:
            yield started
    except RoomError as error:
        pytest.fail(f"the virtual room could not be set up: {error}")


@pytest.fixture(scope="module")
def skill(room):
    try:
        room.start_skill()
    except RoomError as error:
        pytest.fail(str(error))
    yield room
    if room.skill is not None and room.skill.poll() is None:
        room.stop_skill()


@pytest.fixture(scope="module")
def ear():
    """An independent listener: Vosk with its full vocabulary, in this process."""
    import vosk

    from voice_skill.recognizer import find_model

    vosk.SetLogLevel(-1)
    model = vosk.Model(str(find_model()))

    def transcribe(samples: np.ndarray) -> str:
        recognizer = vosk.KaldiRecognizer(model, RATE)
        data = np.asarray(samples, dtype="<i2").tobytes()
        texts = []
        for at in range(0, len(data), 8000):
            if recognizer.AcceptWaveform(data[at:at + 8000]):
                texts.append(json.loads(recognizer.Result()).get("text", ""))
        texts.append(json.loads(recognizer.FinalResult()).get("text", ""))
        return " ".join(t for t in texts if t)

    return transcribe


def steps(kb) -> tuple[str, ...]:
    return kb.lines("cramp_relief", "en")


def last_turn(room) -> list[str]:
    """The lines printed for the latest turn: its `heard:` line and what followed."""
    lines = room.lines()
    starts = [i for i, line in enumerate(lines) if line.startswith("heard:")]
    return lines[starts[-1]:] if starts else []


def bring_to_step(room, kb, step: int) -> None:
    """Make sure the skill has just spoken relief step `step` (0 or 1), replaying what is missing."""
    turn = last_turn(room)
    if step == 1 and f"say: {steps(kb)[1]}" in turn:
        return
    if f"say: {steps(kb)[0]}" not in turn:
        done = room.converse(REQUEST)
        assert f"say: {steps(kb)[0]}" in done.lines, f"setup: the request brought no first step: {done.lines}"
    if step == 1:
        done = room.converse(NEXT)
        assert f"say: {steps(kb)[1]}" in done.lines, f"setup: next brought no second step: {done.lines}"


def words_in(text: str, wanted: set[str]) -> set[str]:
    return set(text.split()) & wanted


def test_request_is_answered_with_the_first_step_out_loud_and_fast(skill, kb, ear):
    done = skill.converse(REQUEST)
    first = steps(kb)[0]
    heard = [line for line in done.lines if line.startswith("heard:")]
    assert len(heard) == 1 and "[cramp_relief " in heard[0], done.lines
    assert done.printed_within(f"say: {first}", ANSWER_WITHIN_S), \
        f"no `say: {first}` within {ANSWER_WITHIN_S} s of the request: {done.printed}"
    assert done.timing is not None, "the request is not on the speaker recording"
    assert done.latency is not None, f"nothing came out of the speaker after the request: {done.timing}"
    assert done.latency < MAX_LATENCY_S, f"first sound {done.latency:.3f} s after the request ended ({done.timing})"
    spoken = ear(done.after_request())
    print(f"latency {done.latency:.3f} s; the speaker said: {spoken}")
    assert len(words_in(spoken, STEP1_WORDS)) >= 2, f"the speaker said: '{spoken}'"


def test_next_brings_the_second_step(skill, kb, ear):
    bring_to_step(skill, kb, 0)
    done = skill.converse(NEXT)
    assert any(line.startswith("heard:") and "[next " in line for line in done.lines), done.lines
    assert done.printed_within(f"say: {steps(kb)[1]}", ANSWER_WITHIN_S), done.printed
    assert done.latency is not None and done.latency < MAX_LATENCY_S, done.timing
    spoken = ear(done.after_request())
    print(f"latency {done.latency:.3f} s; the speaker said: {spoken}")
    assert len(words_in(spoken, STEP2_WORDS)) >= 2, f"the speaker said: '{spoken}'"
    assert len(words_in(spoken, STEP1_ONLY)) <= 1, f"the speaker said step 1 again: '{spoken}'"


def test_stop_silences_it_and_a_later_next_is_not_for_it(skill, kb):
    bring_to_step(skill, kb, 1)
    printed_before = len(skill.lines())
    # The requests go to the microphone only: anything on the speaker recording is the skill.
    with skill.record() as recording:
        skill.play(STOP, sink="micfeed")
        time.sleep(3.0)
        after_stop = skill.lines()[printed_before:]
        quiet_after_stop = speech_segments(recording.now())
        skill.play(NEXT, sink="micfeed")
        time.sleep(2.5)
    printed = skill.lines()[printed_before:]
    assert any(line.startswith("heard:") and "[stop " in line for line in after_stop), after_stop
    assert not [line for line in after_stop if line.startswith("say:")], after_stop
    assert quiet_after_stop == [], f"the speaker was not silent for 3 s after stop: {quiet_after_stop}"
    assert printed == after_stop, f"'next' after stop was answered: {printed[len(after_stop):]}"
    assert speech_segments(recording.samples) == [], "the speaker made a sound after stop"


def test_hearing_itself_does_not_make_it_go_on_or_stop(skill, kb):
    if last_turn(skill) and not any("[stop " in line for line in last_turn(skill)):
        skill.converse(STOP, sink="micfeed")  # start from quiet
    skill.loopback(True)
    try:
        printed_before = len(skill.lines())
        started = time.monotonic()
        # The person speaks into the microphone; the speaker (step 1 and the hint, which says
        # "next" and "stop") is fed back into it too.
        with skill.record("micfeed.monitor") as microphone:
            done = skill.converse(REQUEST, sink="micfeed", settle_s=2.0)
            time.sleep(max(0.0, 8.0 - (time.monotonic() - started)))
        printed = skill.lines()[printed_before:]
        assert speech_segments(done.samples), "the skill said nothing"
        heard_s = sum(end - start for start, end in speech_segments(microphone.samples))
        assert heard_s > request_speech_s(REQUEST) + 3.0, \
            f"the skill's voice did not reach its microphone ({heard_s:.1f} s of sound there)"
        assert len([line for line in printed if line.startswith("heard:")]) == 1, \
            f"the skill reacted to its own voice: {printed}"
        assert printed[1:] == [f"say: {steps(kb)[0]}", f"say: {kb.say('relief_hint', 'en')}"], printed

        done = skill.converse(NEXT, sink="micfeed", settle_s=1.5)
        assert any(line.startswith("heard:") and "[next " in line for line in done.lines), done.lines
        assert f"say: {steps(kb)[1]}" in done.lines, done.lines
        assert len([line for line in done.lines if line.startswith("heard:")]) == 1, done.lines
    finally:
        skill.loopback(False)


def test_still_running_and_ends_cleanly_on_ctrl_c(skill):
    assert skill.skill.poll() is None, f"the skill ended by itself: {skill.errors()}"
    assert skill.stop_skill() == 0
    assert skill.lines()[-1] == "Stopped."
    problems = [line for line in skill.errors() if line.startswith("voice-skill:")]
    assert not problems, problems
