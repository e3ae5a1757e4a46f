"""What may cut the skill short while it speaks: the rule (text in, no audio), what the loop does with
a command heard then, and the narrow grammar the second decoder listens with."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice_skill.barge_in import Command
from voice_skill.conversation import Conversation
from voice_skill.for_us import INTERRUPTING, interrupts
from voice_skill.listen import HandsFree
from voice_skill.matcher import Matcher

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def matcher(kb) -> Matcher:
    return Matcher(kb)


@pytest.mark.parametrize("text", ["stop", "next", "next step", "repeat that", "say that again", "be quiet",
                                  "cancel", "continue", "my calf is cramping"])
def test_a_short_clear_command_interrupts(matcher, text):
    assert interrupts(text, matcher.match(text), matcher)


@pytest.mark.parametrize("text", [
    "[unk] stop",  # a word it was unsure of: as likely its own voice leaking through
    "next [unk]",
    "say next for the next step repeat to hear it again or stop",  # its own hint, heard whole
    "what causes calf cramps",  # a question: it waits for a gap
    "how do i prevent them",
    "ow",  # one of the relief request's phrasings, but naming no calf and no cramp
    "",
])
def test_anything_else_heard_over_its_voice_does_not(matcher, text):
    assert not interrupts(text, matcher.match(text), matcher)


@pytest.mark.parametrize("chunk_level, likeness, removed_db, counts", [
    (0.02, 0.1, 3.0, True),  # a person's voice over what is left of the echo
    (0.02, 0.6, 3.0, False),  # the skill's own voice, let through by the canceller: it follows what was played
    (0.001, 0.1, 3.0, False),  # the canceller's near-silence
    (0.02, 0.1, 25.0, False),  # what is left of a loud echo once most of it was taken out
])
def test_only_loud_sound_unlike_its_own_echo_counts_towards_a_command(chunk_level, likeness, removed_db, counts):
    from voice_skill.barge_in import persons_sound

    assert persons_sound(chunk_level, likeness, removed_db) is counts


@pytest.mark.parametrize("text, intent", [
    ("top", "stop"), ("up", "stop"), ("op", "stop"),  # "stop" with its quiet "st" cut by the canceller
    ("next", "next"),  # anything else: the matcher's reading
    ("up up", "unknown"), ("top of my calf", "cramp_relief"),  # a clipped form only counts alone
])
def test_what_the_canceller_leaves_of_stop_reads_as_stop_only_alone(kb, matcher, text, intent):
    from voice_skill.for_us import as_command
    from voice_skill.recognizer import MODEL_LANGUAGE

    clipped = kb.clipped(MODEL_LANGUAGE, INTERRUPTING)
    assert as_command(text, matcher, clipped).intent == intent
    assert as_command(text, matcher, {}).intent != "stop"  # without the data, no such reading


def test_the_clipped_forms_are_heard_only_while_it_speaks(kb):
    """The main decoder (idle) never hears "up" or "top" alone as anything: only the narrow grammar has them."""
    from voice_skill.recognizer import MODEL_LANGUAGE, find_model, grammar_phrases, load_model

    model = load_model(find_model())
    clipped = set(kb.clipped(MODEL_LANGUAGE, INTERRUPTING))
    assert clipped and clipped <= set(grammar_phrases(kb, model, INTERRUPTING))
    assert not clipped & set(grammar_phrases(kb, model))


def test_the_grammar_while_speaking_holds_only_the_interrupting_intents(kb):
    from voice_skill.recognizer import MODEL_LANGUAGE, UNK, find_model, grammar_phrases, load_model

    model = load_model(find_model())
    narrow = set(grammar_phrases(kb, model, INTERRUPTING)) - set(kb.clipped(MODEL_LANGUAGE, INTERRUPTING))
    full = set(grammar_phrases(kb, model))
    assert {"stop", "next", "repeat", "help", "my calf is cramping", UNK} <= narrow
    assert narrow < full
    assert not any("prevent" in phrase or "dehydrat" in phrase for phrase in narrow)


class Speaking:
    """The speaker as the loop sees it while a line plays: it records what it is told."""

    def __init__(self) -> None:
        self.speaking, self.last_sound_at = True, 0.0
        self.said: list[str] = []
        self.interrupted = 0
        self.ducked = False

    def duck(self, on: bool) -> None:
        self.ducked = on

    def say(self, lines) -> None:
        self.said += list(lines)

    def interrupt(self) -> None:
        self.interrupted += 1
        self.speaking = False


class Hears:
    """The command decoder as the loop sees it: gives one command on the chunk it is told to."""

    def __init__(self, command: Command | None, judged: str | None = None) -> None:
        self.command = command
        self.hearing_someone = False
        self.judged, self.judged_loud_s = judged, 0.8  # an utterance it judged not a command
        self.judged_words = "stop 0.31 up 0.93" if judged else ""
        self.judged_quiet_before_s = 0.4  # and it began 0.4 s after other talk

    def feed(self, chunk: bytes) -> Command | None:
        command, self.command = self.command, None
        return command

    def reset(self) -> None:
        pass


def walking_the_steps(kb, heard: Command | None, barge_in: bool = True) -> tuple[HandsFree, Speaking]:
    speaker = Speaking()
    loop = HandsFree(recognizer=None, conversation=Conversation(kb, hands_free=True), speaker=speaker,
                     emit=lambda _: None, clock=lambda: 0.0, commands=Hears(heard) if barge_in else None)
    loop.conversation.hear("my calf is cramping")  # step 1 is being spoken
    return loop, speaker


def test_stop_heard_while_speaking_cuts_it_off_and_says_nothing(kb, matcher):
    loop, speaker = walking_the_steps(kb, Command("stop", matcher.match("stop")))
    loop.feed(bytes(1600))
    assert speaker.interrupted == 1 and speaker.said == []
    assert not loop.conversation.dialogue.active


@pytest.mark.parametrize("command, step", [("next", 1), ("repeat", 0)])
def test_next_or_repeat_heard_while_speaking_cut_the_line_and_go_on(kb, matcher, command, step):
    loop, speaker = walking_the_steps(kb, Command(command, matcher.match(command)))
    loop.feed(bytes(1600))
    assert speaker.interrupted == 1
    assert speaker.said == [kb.lines("cramp_relief", "en")[step]]


def test_it_lowers_its_voice_while_someone_talks_over_it_and_not_after(kb):
    loop, speaker = walking_the_steps(kb, None)
    loop.commands.hearing_someone = True
    loop.feed(bytes(1600))
    assert speaker.ducked
    loop.commands.hearing_someone = False  # their words were not a command
    loop.feed(bytes(1600))
    assert not speaker.ducked


@pytest.mark.parametrize("verbose", [True, False])
def test_what_it_heard_over_its_voice_and_did_not_act_on_is_shown_only_when_asked(kb, verbose):
    """--verbose: a tinkerer whose "stop" was not taken sees what the command decoder made of it."""
    shown: list[str] = []
    loop = HandsFree(recognizer=None, conversation=Conversation(kb, hands_free=True), speaker=Speaking(),
                     emit=shown.append, clock=lambda: 0.0, commands=Hears(None, judged="[unk] up"),
                     show_unacted=verbose)
    loop.conversation.hear("my calf is cramping")
    loop.feed(bytes(1600))
    loop.feed(bytes(1600))  # shown once, not again with every chunk
    assert shown == (["(while speaking, heard '[unk] up' (stop 0.31 up 0.93) with 0.80 s of a person's sound, 0.4 s after other talk: not acted on)"] if verbose else [])


def test_without_barge_in_it_is_deaf_while_speaking(kb, matcher):
    loop, speaker = walking_the_steps(kb, Command("stop", matcher.match("stop")), barge_in=False)
    loop.feed(bytes(1600))
    assert speaker.interrupted == 0 and speaker.said == []
    assert loop.conversation.dialogue.step == 0


class Args:
    no_barge_in = False
    lang = "en"


class Played:
    on_played = None


def test_no_barge_in_means_no_canceller(capsys):
    from voice_skill.listen import open_canceller

    args = Args()
    args.no_barge_in = True
    assert open_canceller(args, Played()) is None
    assert capsys.readouterr().err == ""


def test_a_canceller_that_cannot_run_is_one_line_and_the_deaf_loop(monkeypatch, capsys):
    from voice_skill import listen
    from voice_skill.errors import SkillError

    def unavailable():
        raise SkillError("echo cancellation is not available (no livekit)")

    monkeypatch.setattr(listen, "EchoCanceller", unavailable)
    speaker = Played()
    assert listen.open_canceller(Args(), speaker) is None and speaker.on_played is None
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "not listening while speaking" in error


def test_the_canceller_is_fed_what_the_speaker_plays():
    from voice_skill.listen import open_canceller

    speaker = Played()
    canceller = open_canceller(Args(), speaker)
    assert canceller is not None and speaker.on_played == canceller.played


def test_indonesian_speech_is_not_listened_to_while_speaking_yet(capsys):
    from voice_skill.listen import open_canceller

    args = Args()
    args.lang = "id"
    assert open_canceller(args, Played()) is None
    assert capsys.readouterr().err.count("\n") == 1


class FallsSilent(Speaking):
    """The speaker as the loop sees it: speaking until `until` on the loop's clock, then silent."""

    def __init__(self, clock: list[float], until: float) -> None:
        super().__init__()
        self.clock, self.until = clock, until

    @property
    def speaking(self) -> bool:
        return self.clock[0] < self.until and not self.interrupted

    @speaking.setter
    def speaking(self, value: bool) -> None:
        pass

    @property
    def last_sound_at(self) -> float:
        return min(self.clock[0], self.until)

    @last_sound_at.setter
    def last_sound_at(self, value: float) -> None:
        pass


@pytest.mark.parametrize("early_s", [-0.3, 0.1, 0.2, 0.3])  # -0.3: said just after, in the gap
@pytest.mark.parametrize("recording", ["next_02__piper-joe.wav", "next_03__espeak-en-us-f3.wav"])
def test_a_command_begun_as_its_voice_dies_away_is_heard_whole(kb, matcher, recording, early_s):
    """People say "next" as a line ends, not after a pause: the word starts while the skill may still
    be heard (the command decoder's time) and ends after (the main decoder's). Heard in halves, it was
    lost; it must be acted on."""
    import numpy as np

    from voice_skill.audio_in import CHUNK_MS, SAMPLE_RATE, read_file
    from voice_skill.barge_in import CommandListener
    from voice_skill.recognizer import Recognizer, find_model, grammar_phrases, load_model
    from voice_skill.tuning import ECHO_TAIL_S

    model = load_model(find_model())
    word = read_file(ROOT / "tests" / "recordings" / "clean" / recording)
    onset = int(np.flatnonzero(np.abs(word) > 0.03 * np.abs(word).max())[0])
    line_ends = 2.0
    starts_at = int((line_ends + ECHO_TAIL_S - early_s) * SAMPLE_RATE) - onset  # its sound begins early_s before
    audio = np.zeros(starts_at + len(word) + SAMPLE_RATE, np.int16)
    audio[starts_at:starts_at + len(word)] = word
    clock = [0.0]
    speaker = FallsSilent(clock, until=line_ends)
    commands = CommandListener(Recognizer(model, grammar_phrases(kb, model, INTERRUPTING)), matcher)
    loop = HandsFree(recognizer=Recognizer(model, grammar_phrases(kb, model)), conversation=Conversation(kb, hands_free=True),
                     speaker=speaker, emit=lambda _: None, clock=lambda: clock[0], commands=commands)
    loop.conversation.hear("my calf is cramping")  # step 1 is being spoken
    step = SAMPLE_RATE * CHUNK_MS // 1000
    for at in range(0, len(audio) - step + 1, step):
        clock[0] = at / SAMPLE_RATE
        loop.feed(audio[at:at + step].tobytes())
    assert speaker.said == [kb.lines("cramp_relief", "en")[1]], f"heard as: {speaker.said}"


# --- over its voice, in the simulated room of bench/barge_in.py: the real canceller (AEC3), real Vosk ---


@pytest.fixture(scope="module")
def simulated_room(kb):
    from bench.barge_in import Simulation
    from voice_skill.recognizer import find_model, load_model
    from voice_skill.speech_out import Synthesizer
    from voice_skill.tuning import DUCK_DB

    synthesizer = Synthesizer("en")
    return (Simulation(load_model(find_model()), kb, duck_db=DUCK_DB), synthesizer,
            synthesizer.render(kb.lines("help", "en")[0]))


def test_stop_said_as_loud_as_its_voice_stops_it_though_the_canceller_cuts_its_start(kb, simulated_room):
    """A held-out voice says "stop" over step 1, as loud as the echo. In this room (one draw of its
    reverberation and noise) AEC3's suppressor cuts the quiet "st" and the decoder hears only "up",
    after an empty result for the cut start: it takes the clipped form (responses/controls.toml), and
    the sound before it counting towards it (CommandListener), for stop. In other draws it hears
    "stop" or [unk]; bench/barge_in.py measures the rates."""
    import numpy as np

    from bench.barge_in import said_over
    from voice_skill.audio_in import read_file

    sim, synthesizer, primer = simulated_room
    voice = read_file(ROOT / "tests" / "recordings" / "demo" / "espeak-en-us-f2" / "stop.wav").astype(np.float32) / 32768
    step_1 = synthesizer.render(kb.lines("cramp_relief", "en")[0])
    said = said_over(sim, "stop", voice, step_1, primer, synthesizer.output_rate(), 0, np.random.default_rng(1))
    assert said.heard, f"heard as: {said.words}"


def test_its_own_stop_leaking_through_the_canceller_is_not_taken_for_one(kb, simulated_room):
    """Its lines that say "stop" (and "next", "repeat"), looped back with no one talking, at echo levels
    from 6 dB under to 6 dB over the usual: what leaks of its own "stop" may sound like "top" or "up"."""
    import numpy as np

    from bench.barge_in import ECHO_RMS, rms, speech_part

    sim, synthesizer, primer = simulated_room
    rate = synthesizer.output_rate()
    lines = [line for line in kb.all_lines("en") if "stop" in line.lower()]
    gap = np.zeros(int(0.4 * rate), np.float32)
    played = np.concatenate([primer, gap] + [part for line in lines for part in (synthesizer.render(line), gap)])
    rng = np.random.default_rng(5)
    for level_db in (-6, 0, 6):
        gain = ECHO_RMS * 10 ** (level_db / 20) / rms(speech_part(played))
        found = sim.run(played, rate, np.zeros(0, np.float32), 0.04, gain, rng)
        assert not found, f"at {level_db:+d} dB it took its own voice for: {[(o.text, o.intent) for o in found]}"


@pytest.mark.parametrize("gap_s, taken", [(0.8, False), (1.6, True)])
@pytest.mark.parametrize("command", ["stop_01__espeak-en-us.wav", "stop_01__piper-joe.wav"])
def test_a_command_in_other_talk_is_not_taken_and_said_on_its_own_it_is(kb, matcher, command, gap_s, taken,
                                                                        talk="fatigue_01__espeak-en-gb-m3.wav"):
    """A TV or a conversation talks on while the skill speaks: its "stop" in passing, begun under a second
    after its last words, is not meant for the skill; the same "stop" after a moment's quiet is. (Real
    Vosk, the command decoder's grammar, recordings; no echo here, so every sound is a person's.)"""
    import numpy as np

    from voice_skill.audio_in import CHUNK_MS, SAMPLE_RATE, read_file
    from voice_skill.barge_in import CommandListener
    from voice_skill.recognizer import Recognizer, find_model, grammar_phrases, load_model

    def spoken(name: str) -> np.ndarray:
        audio = read_file(ROOT / "tests" / "recordings" / "clean" / name)
        loud = np.flatnonzero(np.abs(audio) > 0.03 * np.abs(audio).max())
        return audio[loud[0]:loud[-1] + 1]

    model = load_model(find_model())
    silence = np.zeros(int(gap_s * SAMPLE_RATE), np.int16)
    audio = np.concatenate([np.zeros(SAMPLE_RATE // 2, np.int16), spoken(talk), silence, spoken(command),
                            np.zeros(SAMPLE_RATE, np.int16)])
    commands = CommandListener(Recognizer(model, grammar_phrases(kb, model, INTERRUPTING)), matcher)
    step = SAMPLE_RATE * CHUNK_MS // 1000
    found = [commands.feed(audio[at:at + step].tobytes()) for at in range(0, len(audio) - step + 1, step)]
    heard = [c.match.intent for c in found if c is not None]
    assert heard == (["stop"] if taken else []), f"judged last: {commands.judged!r} ({commands.judged_words})"
