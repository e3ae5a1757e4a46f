"""The echo canceller (WebRTC AEC3 through livekit) on a simulated room: the skill's own rendered
voice played, its echo (delayed, with a reverberant tail) in the microphone, with and without a
person speaking over it. The canceller is the real one; only the room is simulated."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import soxr

from conftest import RECORDINGS
from voice_skill.audio_in import SAMPLE_RATE, level, read_file
from voice_skill.barge_in import persons_sound
from voice_skill.echo import EchoCanceller

CHUNK = SAMPLE_RATE // 20  # the microphone's 50 ms blocks
BLOCK = 1024  # the speaker's blocks
QUIET_S = 300.0  # a quiet spell between what it said at start-up and its first sentence


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
        clock_error_s: float = 0.0, counted: list[bool] | None = None,
        chunks: list[tuple[bytes, float, float]] | None = None) -> np.ndarray:
    """Play and capture on one clock; the speaker's timestamps off by `clock_error_s`. Into `counted`,
    for each chunk, whether the command decoder would count it as a person's sound; into `chunks`,
    each chunk as the canceller gave it, with its echo_likeness and removed_db."""
    pcm = (np.clip(mic, -1, 1) * 32767).astype("<i2")
    out, handed = [], 0
    for at in range(0, len(pcm) - CHUNK + 1, CHUNK):
        now = at / SAMPLE_RATE
        while handed * BLOCK / rate < now + 0.1:  # blocks are handed over before they are heard
            block = played[handed * BLOCK:(handed + 1) * BLOCK]
            canceller.played(np.pad(block, (0, BLOCK - len(block))), rate, handed * BLOCK / rate + clock_error_s)
            handed += 1
        out.append(canceller.process(pcm[at:at + CHUNK].tobytes(), now))
        if counted is not None:
            counted.append(persons_sound(level(out[-1]), canceller.echo_likeness, canceller.removed_db))
        if chunks is not None:
            chunks.append((out[-1], canceller.echo_likeness, canceller.removed_db))
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
    # AEC3 (livekit's build) removes different amounts from one process to the next, whatever the
    # audio: 53-59 dB here, 28-42 dB in a weaker mode (1 process in 8), and once, in a fresh clone's
    # full suite (session 7), 17.2 dB at no clock error; run alone in fresh processes it gave 39.3 dB
    # six times in six. Fed the wrong reference it removes -4.8 dB; fed the right one 0.5 s late, 9.5 dB
    # (/tmp probes, session 7). The cause of the spread is inside livekit; 14 dB tells working from not.
    assert removed > 14, f"only {removed:.1f} dB of echo removed"


def test_a_person_speaking_over_it_is_kept(voice):
    played, rate = voice
    person = read_file(RECORDINGS / "demo" / "stop.wav").astype(np.float64) / 32768
    at = 6 * SAMPLE_RATE  # once it has learnt the room (the first 3-5 s of its first speech: see the next test)
    while len(played) * SAMPLE_RATE / rate < at + len(person) + SAMPLE_RATE:  # it is still talking when they do
        played = np.concatenate([played, voice[0]])  # (the two lines last 6.4 s or so, not always enough)
    echo = room(played, rate)
    # About +6 dB over the echo. (At 0 dB AEC3's suppressor, once past its first seconds, takes most of
    # the person's voice away in this room; this test passed at 0 dB only while AEC3 was still leaking.)
    person *= 2 * np.sqrt(np.mean(echo ** 2) / np.mean(person[np.abs(person) > 0.01] ** 2))
    mic = echo.copy()
    mic[at:at + len(person)] += person
    cleaned = run(EchoCanceller(), played, rate, mic)
    span = slice(at, at + len(person))
    kept = db(cleaned[span]) - db(person)  # -14 dB here; a canceller handing on silence: -80
    assert kept > -20, f"the person's speech came out {kept:.1f} dB down"


def said_over_its_voice(voice: tuple[np.ndarray, int], speaker: str, at: int, counted: list[bool] | None = None,
                        chunks: list[tuple[bytes, float, float]] | None = None) -> tuple[np.ndarray, ...]:
    """A person's "stop" (tests/recordings/demo/SPEAKER) at the echo's level, from sample `at` of the
    skill's speech (its line played again as often as needed): the person, the echo, and what our
    canceller made of both."""
    played, rate = voice
    person = read_file(RECORDINGS / "demo" / speaker / "stop.wav").astype(np.float64) / 32768
    while len(played) * SAMPLE_RATE / rate < at + len(person) + SAMPLE_RATE:
        played = np.concatenate([played, voice[0]])
    echo = room(played, rate)
    person *= np.sqrt(np.mean(echo ** 2) / np.mean(person[np.abs(person) > 0.01] ** 2))
    mic = echo.copy()
    mic[at:at + len(person)] += person
    canceller = EchoCanceller()
    assert canceller.notice is None, canceller.notice
    return person, echo, run(canceller, played, rate, mic, counted=counted, chunks=chunks)


def test_stop_said_as_loud_as_its_voice_is_kept_and_its_voice_still_removed(voice):
    """AEC3 with our settings (tuning.AEC3_SETTINGS) takes a person's voice for the person's sooner
    and then suppresses less. "stop" at the echo's level, 6 s into its speech: with livekit's defaults
    it came out 17-29 dB down (its suppressor took it for echo), with ours 3-10.5 dB down. The figures
    move with the rendering of its voice, which differs a little with each new espeak voice in a process
    (so with the tests run before this one), and with where in that voice "stop" falls."""
    at = 6 * SAMPLE_RATE
    person, echo, cleaned = said_over_its_voice(voice, "", at)
    before = slice(at - SAMPLE_RATE, at)  # its voice alone, just before
    assert db(echo[before]) - db(cleaned[before]) > 14, "its own voice was not removed"
    kept = db(cleaned[at:at + len(person)]) - db(person)
    assert kept > -15, f"the person's stop came out {kept:.1f} dB down"


def high_band_db(x: np.ndarray) -> float:
    """Energy at 4-8 kHz, where "s" and "t" are loud and the skill's voice is not."""
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    return 10 * np.log10(spectrum[np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE) >= 4000].sum() + 1e-12)


@pytest.fixture(scope="module")
def recorded_voice() -> tuple[np.ndarray, int]:
    """15 s of an espeak en-us voice (the skill's kind) from the recordings, with no pauses between
    them: the same samples whatever ran before (the skill's own rendering changes with the espeak
    voices made earlier in the process, in a fresh clone's run by a third)."""
    def trimmed(path) -> np.ndarray:
        audio = read_file(path).astype(np.float32) / 32768
        loud = np.flatnonzero(np.abs(audio) > 0.01)
        return audio[loud[0]:loud[-1] + 1]

    files = sorted((RECORDINGS / "clean").glob("*__espeak-en-us.wav"))[:8]
    return np.concatenate([trimmed(path) for path in files]), SAMPLE_RATE


@pytest.mark.parametrize("speaker", ["", "espeak-en-us-f2"])
def test_the_st_of_stop_said_over_its_voice_is_kept(recorded_voice, speaker):
    """AEC3's suppressor caps every gain above 2 kHz at the gain at 2 kHz until it takes the sound
    for a person's, which it judges below 2 kHz, where a word's start is quiet. So the "st" of
    "stop" said over the skill's voice was suppressed as deeply as the voice. "stop" at the echo's
    level, at 11 places 5-10 s into its speech: its first 130 ms at 4-8 kHz came out a median 21-22 dB
    down; with that cap off (our setting, voice_skill/native/aec3-hf-gains.patch) 2-5 dB."""
    kept = []
    for at_s in np.arange(5.0, 10.01, 0.5):
        at = int(at_s * SAMPLE_RATE)
        person, _, cleaned = said_over_its_voice(recorded_voice, speaker, at)
        start = np.flatnonzero(np.abs(person) > 0.01)[0] - 160
        onset = slice(start, start + int(0.13 * SAMPLE_RATE))
        kept.append(high_band_db(cleaned[at:][onset]) - high_band_db(person[onset]))
    assert np.median(kept) > -14, (
        f"the start of the person's stop came out a median {np.median(kept):.1f} dB down at 4-8 kHz: {np.round(kept)}")


@pytest.mark.parametrize("speaker", ["", "espeak-en-us-f2"])
def test_stop_said_over_its_voice_counts_as_a_persons_sound(recorded_voice, speaker):
    """The command decoder counts a chunk as a person's only if the canceller did not bring it down by
    more than ECHO_REMOVED_MAX_DB (barge_in.persons_sound): what is left after it took out most of what
    was heard is its own voice's remainder. A person's "stop" at the echo's level is sound it cannot
    take out. At 11 places 5-10 s into its speech, the stops that still gave MIN_LOUD_S of a person's
    sound: piper 9 and espeak-en-us-f2 10 (with no such test 10 and 11; at 9 dB 7 and 9; at 6 dB 6 and 7)."""
    from voice_skill.tuning import MIN_LOUD_S

    counted_s = []
    for at_s in np.arange(5.0, 10.01, 0.5):
        at, counted = int(at_s * SAMPLE_RATE), []
        person, _, _ = said_over_its_voice(recorded_voice, speaker, at, counted)
        first, last = (at + np.flatnonzero(np.abs(person) > 0.01)[[0, -1]]) // CHUNK
        counted_s.append(sum(counted[first:last + 1]) * CHUNK / SAMPLE_RATE)
    assert sum(s >= MIN_LOUD_S for s in counted_s) >= 8, f"seconds of each stop counted as a person's: {counted_s}"


def test_stop_said_over_its_voice_is_heard_as_stop(kb, recorded_voice):
    """The whole way: "stop" at the echo's level, at 11 places 5-10 s into its speech, in two voices,
    through the real canceller to the command decoder (Vosk, the narrow grammar). Where the echo is loud
    as the vowel begins, AEC3's suppressor, though it has taken the sound for a person's, raised its gain
    3 dB a 4 ms block from deep down, and Vosk heard "s... ah": nothing. With the gain let up 6 times
    faster where the person is 20 dB over the echo (tuning.AEC3_SETTINGS): 17 of 22, and at one place
    "next"; before, 16 and that "next"; let up fast in every band, 19 and none, but in the virtual
    room its own voice came through. The margin is for AEC3's arithmetic on other CPUs."""
    from voice_skill.barge_in import CommandListener
    from voice_skill.for_us import INTERRUPTING
    from voice_skill.matcher import Matcher
    from voice_skill.recognizer import MODEL_LANGUAGE, Recognizer, find_model, grammar_phrases, load_model

    model, matcher = load_model(find_model()), Matcher(kb)
    grammar, clipped = grammar_phrases(kb, model, INTERRUPTING), kb.clipped(MODEL_LANGUAGE, INTERRUPTING)
    heard = []
    for speaker in ["", "espeak-en-us-f2"]:
        for at_s in np.arange(5.0, 10.01, 0.5):
            at, chunks = int(at_s * SAMPLE_RATE), []
            said_over_its_voice(recorded_voice, speaker, at, chunks=chunks)
            listener = CommandListener(Recognizer(model, grammar), matcher, None, clipped)
            commands = []
            for index, (cleaned, likeness, removed) in enumerate(chunks):
                listener.canceller = SimpleNamespace(echo_likeness=likeness, removed_db=removed)
                command = listener.feed(cleaned)
                if command is not None and index * CHUNK >= at:
                    commands.append(command.match.intent)
                    listener.reset()
            heard.append(commands[0] if commands else None)
    taken_for_another = [command for command in heard if command not in ("stop", None)]
    assert heard.count("stop") >= 15 and len(taken_for_another) <= 1, f"heard at each place: {heard}"


def test_a_new_canceller_lets_none_of_its_first_lines_through(kb):
    """A new AEC3 removes 20 dB and more after a second or so of speech, then for a while some 3 s in
    passes its input nearly whole: the canceller hands on silence until AEC3 has shown it removes the
    echo (after that leak). Its first lines, with no one talking, never reach the level a command is
    counted at (a canceller that trusted AEC3 after 1.5 s let through 9 such chunks here)."""
    from voice_skill.speech_out import Synthesizer
    from voice_skill.tuning import LEVEL_FLOOR

    synthesizer = Synthesizer("en")
    rate = synthesizer.output_rate()
    played = np.concatenate([synthesizer.render(line) for line in kb.lines("cramp_relief", "en")[:3]])
    echo = room(played, rate)
    echo *= 0.025 / np.sqrt(np.mean(echo ** 2))  # about -32 dBFS at the microphone, as in the virtual room
    canceller = EchoCanceller()
    cleaned = run(canceller, played, rate, echo)
    chunks = cleaned[:len(cleaned) // CHUNK * CHUNK].reshape(-1, CHUNK)
    loud = np.flatnonzero(np.sqrt(np.mean(chunks ** 2, axis=1)) > LEVEL_FLOOR) * CHUNK / SAMPLE_RATE
    assert canceller.learnt and loud.size == 0, f"its own voice came through at {loud} s"


def test_its_echo_looks_like_what_was_played_and_a_person_does_not(recorded_voice):
    """The command decoder's test of a chunk (voice_skill.barge_in.persons_sound) rests on this: what
    the canceller lets through of the skill's voice is its echo, and correlates with what was played.
    On the recorded voice (echo 0.80, the person 0.07): the skill's own rendering changes with what
    ran before, and in a fresh clone's run once gave the person 0.154, over the bound."""
    from voice_skill.echo import LIKENESS_SHIFT_S, echo_likeness
    from voice_skill.tuning import ECHO_LIKENESS_MAX

    played, rate = recorded_voice
    reference = soxr.resample(played, rate, SAMPLE_RATE)
    echo = room(played, rate, delay_s=0.04)
    person = read_file(RECORDINGS / "demo" / "stop.wav").astype(np.float64) / 32768
    shift, lag = int(LIKENESS_SHIFT_S * SAMPLE_RATE), int(0.04 * SAMPLE_RATE)

    def likeness(heard: np.ndarray) -> list[float]:
        starts = [s for s in range(lag + shift, min(len(heard), len(reference) - CHUNK - shift), CHUNK)
                  if np.sqrt(np.mean(heard[s:s + CHUNK] ** 2)) > 0.01]  # its loud chunks
        return [echo_likeness(heard[s:s + CHUNK], reference[s - lag - shift:s - lag + CHUNK + shift]) for s in starts]

    assert np.median(likeness(echo)) > 2 * ECHO_LIKENESS_MAX
    assert np.median(likeness(person)) < ECHO_LIKENESS_MAX / 2, np.median(likeness(person))


@pytest.mark.parametrize("speaker", ["", "espeak-en-us-f2"])
def test_what_it_learnt_at_start_up_is_kept_through_a_quiet_spell(recorded_voice, speaker):
    """Issue 28: `listen` says its ready line at start-up so the canceller learns the room from it
    (voice_skill.echo.learn_room); a device that then sits quiet for minutes must still hear "stop"
    said 1.2 s into the first sentence it speaks, and still take its own voice out. Here: 5.4 s of
    speech, QUIET_S of silence, then 6 s more, with "stop" at the echo's level 1.2 s into it. Measured
    (after 300 s and 1800 s alike): the stop came out 0.7-1.1 dB down, its voice 60-62 dB down in the
    second before it, no chunk of its voice taken for a person's; with no start-up speech the stop came
    out 83 dB down (silence handed on while it learns)."""
    voice, rate = recorded_voice
    ready, sentence = voice[:int(5.4 * rate)], voice[int(6 * rate):int(12 * rate)]
    quiet = np.zeros(int(QUIET_S * rate), dtype=voice.dtype)
    played = np.concatenate([ready, quiet, sentence])
    begins = len(ready) + len(quiet)  # the sentence, in samples (16 kHz both)
    echo = room(played, rate)
    person = read_file(RECORDINGS / "demo" / speaker / "stop.wav").astype(np.float64) / 32768
    person *= np.sqrt(np.mean(echo[begins:] ** 2) / np.mean(person[np.abs(person) > 0.01] ** 2))
    at = begins + int(1.2 * SAMPLE_RATE)
    mic = echo.copy()
    mic[at:at + len(person)] += person[:len(mic) - at]
    counted: list[bool] = []
    cleaned = run(EchoCanceller(), played, rate, mic, counted=counted)
    first = (at + np.flatnonzero(np.abs(person) > 0.01)[0]) // CHUNK
    its_own = sum(counted[begins // CHUNK:first])  # chunks of its own voice taken for a person's
    before = slice(at - SAMPLE_RATE, at)
    removed = db(echo[before]) - db(cleaned[before])
    kept = db(cleaned[at:at + len(person)]) - db(person)
    assert its_own == 0 and removed > 14, f"its own voice: {removed:.1f} dB removed, {its_own} chunks taken for a person's"
    assert kept > -10, f"the person's stop came out {kept:.1f} dB down"
