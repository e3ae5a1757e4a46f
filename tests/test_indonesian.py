"""Hearing Indonesian: the real Whisper model on the Indonesian recordings (tests/make_recordings_id.py),
through `voice-skill answer --lang id` as a user runs it."""

from __future__ import annotations

import csv
import json
import shutil
import zlib
from collections import defaultdict
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import RECORDINGS, run_cli
from make_recordings import LEAD_S, TAIL_S

from voice_skill.audio_in import file_chunks, read_file
from voice_skill.matcher import CONTROLS, Matcher, normalize
from voice_skill.whisper_engine import (MODEL_FILES, DecodeOptions, Decoded, SpeechDetector, WhisperRecognizer,
                                        control_prompt, domain_prompt, find_whisper_model, load_whisper, steered)

ID_RECORDINGS = RECORDINGS / "id"
BETIS_SAYA_KRAM = ID_RECORDINGS / "check" / "c_relief_01__id-f2.flac"


def manifest(set_name: str) -> list[dict]:
    with open(ID_RECORDINGS / "manifest.tsv", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle, delimiter="\t") if row["set"] == set_name]


def answer_all(rows: list[dict]) -> list[dict]:
    files = [str(ID_RECORDINGS / row["path"]) for row in rows]
    done = run_cli("answer", "--json", "--lang", "id", *files, timeout=900)
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["file"] for a in answers] == files
    return answers


@pytest.fixture(scope="module")
def held_out() -> list[tuple[dict, dict]]:
    """The check set: wordings and voices not used while tuning."""
    rows = manifest("check")
    return list(zip(rows, answer_all(rows)))


def test_held_out_requests_reach_the_right_intent(held_out):
    by_intent: dict[str, list[bool]] = defaultdict(list)
    for row, answer in held_out:
        by_intent[row["intent"]].append(answer["intent"] == row["intent"])
    relief = by_intent["cramp_relief"]
    everything = [ok for oks in by_intent.values() for ok in oks]
    wrong = [(row["text"], row["voice"], answer["transcript"], answer["intent"])
             for row, answer in held_out if answer["intent"] != row["intent"]]
    # Measured (bench/indonesian.py): relief 19/22, all 51/68 with text the words place nowhere compared
    # by ear (47/68 before; 42/68 before the controls' second listen). Floors a little below, so that a
    # real regression fails; the targets (95%, 80%) are not reached yet with Whisper base.
    assert sum(relief) / len(relief) >= 0.8, wrong
    assert sum(everything) / len(everything) >= 0.7, wrong


def test_the_relief_request_brings_the_first_indonesian_step(held_out, kb):
    for row, answer in held_out:
        if row["id"] == "c_relief_01":  # "betis saya kram", in two voices
            assert answer["response"].startswith(kb.lines("cramp_relief", "id")[0]), answer


def test_the_controls_are_heard_and_never_taken_for_one_another(held_out):
    controls = [(row, answer) for row, answer in held_out if row["intent"] in ("next", "repeat", "stop")]
    said = [(row["text"], row["voice"], answer["transcript"], answer["intent"]) for row, answer in controls]
    # A control heard as another control acts wrongly ("ulangi" as "Berhenti." would stop the steps):
    # worse than no action. Measured: never (the n-best check and the prompt-echo guard drop such text).
    wrong_control = [(row["text"], row["voice"], answer["transcript"], answer["intent"]) for row, answer in controls
                     if answer["intent"] in CONTROLS and answer["intent"] != row["intent"]]
    assert wrong_control == []
    for row, answer in controls:
        if row["text"] == "berhenti":  # the stop word the steps' hint teaches, in both its voices
            assert answer["intent"] == "stop", said
    assert sum(answer["intent"] == row["intent"] for row, answer in controls) >= 11, said  # measured 13/18


def test_silence_noise_music_and_english_talk_are_unknown():
    rows = manifest("negatives")
    answers = answer_all(rows)
    assert {row["voice"] for row in rows} >= {"silence", "noise", "music", "english"}
    accepted = [(row["id"], answer["transcript"], answer["intent"]) for row, answer in zip(rows, answers)
                if answer["intent"] != "unknown"]
    assert accepted == []


def test_the_voice_activity_detector_passes_speech_and_nothing_else():
    detector = SpeechDetector()
    speech = read_file(BETIS_SAYA_KRAM).astype(np.float32) / 32768
    silence = np.zeros(16_000 * 2, np.float32)
    utterances = detector.feed(np.concatenate([silence, speech, silence]))
    assert len(utterances) == 1 and 0.5 < len(utterances[0]) / 16_000 < len(speech) / 16_000 + 0.5
    noise = np.random.default_rng(3).standard_normal(16_000 * 4).astype(np.float32) * 0.1
    assert detector.feed(noise) == [] and detector.flush() is None


def test_the_prompt_is_made_of_the_knowledge_bases_own_phrasings(kb):
    examples = {tuple(normalize(e)) for entry in kb.entries.values() for e in entry.examples["id"]}
    sentences = [tuple(normalize(s)) for s in domain_prompt(kb).split(".") if s.strip()]
    assert sentences and all(s in examples for s in sentences)
    assert sentences[-1] in {tuple(normalize(e)) for e in kb.entries["cramp_relief"].examples["id"]}


def test_the_guards_drop_what_whisper_invents(kb):
    """The rules on what a decoded segment must be to count (Whisper's own figures as it reports them)."""
    recognizer = WhisperRecognizer(None, DecodeOptions(prompt=domain_prompt(kb)))

    def why(text: str, logprob: float = -0.2, no_speech: float = 0.01, seconds: float = 1.5) -> str:
        segment = SimpleNamespace(text=text, avg_logprob=logprob, no_speech_prob=no_speech,
                                  compression_ratio=len(text) / max(1, len(zlib.compress(text.encode()))))
        return recognizer._rejection(segment, seconds)

    assert why(" Betis saya kram.") == ""  # what a clear request decodes to
    assert why(" Betis saya kram.", logprob=-0.8) == "the prompt repeated"  # what English talk became
    assert why(" Betis kiri saya kram sekali.", logprob=-0.8) == ""  # not the prompt: the floor is -1
    assert why(" Berikutnya.", no_speech=0.8) == "no speech"
    assert why(" Berikutnya." * 5, seconds=3.7) == "repetitive"
    assert why(" Lanjut. Berhenti.") == "the prompt repeated"
    assert why(" Berhenti berhenti berhenti.", logprob=-0.8) == "repetitive"  # English talk, heard for the controls
    assert why(" Apa yang bisa kamu lakukan sekarang.", logprob=-1.2) == "improbable"


def test_a_control_acts_only_if_the_n_best_hypotheses_mostly_mean_it(kb):
    """'ulangi' decoded 'Berhenti.' must not stop the steps: the other hypotheses say otherwise."""
    recognizer = WhisperRecognizer(None, steered(kb))

    def hypotheses(*said: tuple[str, float]) -> list[Decoded]:
        return [Decoded(text, logprob / 3, 0.0, 1.0, logprob) for text, logprob in said]

    assert recognizer._needs_confirming("Berhenti.") and not recognizer._needs_confirming("Betis saya kram.")
    agreeing = hypotheses(("Berhenti.", -0.2), ("Berkhenti.", -1.5), ("Bantuan.", -2.5))
    assert recognizer._unconfirmed("Berhenti.", agreeing) == ""
    split = hypotheses(("Berhenti.", -0.5), ("Ulangi.", -0.6), ("Bulangi.", -1.0))
    assert recognizer._unconfirmed("Berhenti.", split) == "unconfirmed stop"


def test_the_control_prompt_is_made_of_the_controls_own_phrasings(kb):
    entries = [kb.entries[intent] for intent in CONTROLS]
    phrasings = {tuple(normalize(p)) for entry in entries for p in (*entry.examples["id"], *entry.keywords["id"])}
    sentences = [tuple(normalize(s)) for s in control_prompt(kb).split(".") if s.strip()]
    assert sentences and all(s in phrasings for s in sentences)
    for intent in CONTROLS:  # every control, with all its example phrasings
        assert {tuple(normalize(e)) for e in kb.entries[intent].examples["id"]} <= set(sentences), intent
    assert len(sentences) == len(set(sentences))


def test_only_text_that_names_no_answer_by_its_phrasing_is_heard_again(kb):
    """What the first listen made of a short command decides whether the controls get a second listen."""
    matcher = Matcher(kb)
    assert matcher.unplaced("Beti kan.")  # "hentikan": about the calf by its sound, like no phrasing
    assert matcher.unplaced("Berhenti kram.") and matcher.unplaced("Gua ini.")
    assert not matcher.unplaced("Betis saya kram.") and not matcher.unplaced("Berhenti.")
    assert not matcher.unplaced("Kenapa betis saya kram?")


def test_a_control_heard_again_replaces_an_action_only_if_it_is_the_likelier_reading(kb):
    recognizer = WhisperRecognizer(None, steered(kb))
    said = [Decoded("Hentikan.", -0.1, 0.0, 1.0, -0.3), Decoded("Kentikan.", -0.9, 0.0, 1.0, -2.7)]
    recognizer._hypotheses = lambda *args: said  # the decoder's n-best, as it reported it for "hentikan"
    assert recognizer._control_heard(None, 1.0, None) == "Hentikan."  # the first listen heard nothing
    assert recognizer._control_heard(None, 1.0, -0.5) == "Hentikan."  # ... or a vaguer "Beti kan."
    assert recognizer._control_heard(None, 1.0, -0.05) == ""  # a surer reading of something else stands
    said[:] = [Decoded("Gua ini.", -0.8, 0.0, 1.0, -2.4)]
    assert recognizer._control_heard(None, 1.0, None) == ""  # not a control: nothing
    said[:] = [Decoded("Saya lakukan. Kemudian.", -0.95, 0.0, 1.0, -5.7)]  # English talk, steered to a command
    assert recognizer._control_heard(None, 2.0, None) == ""


def test_a_control_below_readings_that_mean_nothing_is_heard_unless_another_reading_means_something_else(kb):
    """'oke berikutnya': the n-best led with 'Okamarikutia.' (no meaning) and then 'Oke berikutnya.' (next)."""
    recognizer = WhisperRecognizer(None, steered(kb))
    said = [Decoded("Okamarikutia.", -0.62, 0.0, 1.0, -3.1), Decoded("Oke berikutnya.", -0.6, 0.0, 1.0, -3.0),
            Decoded("Oke merikutnya.", -0.65, 0.0, 1.0, -3.3)]
    recognizer._hypotheses = lambda *args: said
    assert recognizer._control_heard(None, 1.6, None) == "Oke berikutnya."
    said.append(Decoded("Ulangi.", -0.6, 0.0, 1.0, -3.0))  # as likely a reading means another control
    assert recognizer._control_heard(None, 1.6, None) == ""


def test_only_a_loop_of_one_sentence_is_heard_as_that_sentence_once(kb):
    recognizer = WhisperRecognizer(None, steered(kb))  # these return before the decoder is asked

    def looped(text: str) -> Decoded:
        return Decoded(text, -0.06, 0.0, 3.0, -2.0)

    assert recognizer._said_once(None, looped("Apa itu kram betis."), 16_000) is None  # said once already
    assert recognizer._said_once(None, looped("Lanjut. Berhenti. Lanjut."), 16_000) is None  # not one sentence
    assert recognizer._said_once(None, looped("Kram. Kram. Betis."), 16_000) is None  # the last is no copy
    assert recognizer._said_once(None, looped("Kram betis. Kram betis. Kram bit"), 16_000) is None


def test_a_question_the_decoder_loops_on_is_heard_once_by_its_own_probability(whisper, kb):
    """Measured on dev: "apa itu kram betis" decoded as that sentence four times (and a cut-off fifth);
    its first copy, scored alone after the prompt, is near certain."""
    recognizer = WhisperRecognizer(whisper, steered(kb))
    seen: list[Decoded | None] = []
    said_once = recognizer._said_once
    recognizer._said_once = lambda *args: seen.append(said_once(*args)) or seen[-1]
    text = recognizer.transcribe(file_chunks(ID_RECORDINGS / "dev" / "d_what_01__id-f3.flac"))
    assert seen and seen[0] is not None and seen[0].avg_logprob > -0.5, seen  # it looped, and was scored
    assert Matcher(kb).match(text).intent == "what_is", text


@pytest.fixture(scope="module")
def whisper():
    return load_whisper(find_whisper_model())


def test_the_text_decoded_at_a_pause_is_the_answer_only_if_the_pause_was_the_end(whisper, kb):
    recognizer = WhisperRecognizer(whisper, steered(kb))
    decoded: list[int] = []
    decode = recognizer.decode
    recognizer.decode = lambda audio: decoded.append(len(audio)) or decode(audio)  # the real decoder, counted
    def speech_of(path):
        return read_file(path)[int(16_000 * LEAD_S):-int(16_000 * TAIL_S)]

    speech, more = speech_of(BETIS_SAYA_KRAM), speech_of(ID_RECORDINGS / "dev" / "d_relief_05__id-m3.flac")
    pause, silence = np.zeros(int(16_000 * 0.3), np.int16), np.zeros(16_000, np.int16)

    def hear(audio: np.ndarray) -> str:
        recognizer.reset()
        decoded.clear()
        texts = [recognizer.accept(audio[i:i + 1600].tobytes()).text for i in range(0, len(audio), 1600)]
        return " ".join(t for t in texts if t)

    first = hear(np.concatenate([speech, silence]))
    assert "kram" in first.lower() and len(decoded) == 1  # decoded once, at the pause; the end reused it
    both = hear(np.concatenate([speech, pause, more, silence]))  # 0.3 s: a pause, not an end
    # decoded at the pause between (then not used), and the whole at the pause that was its end
    assert len(decoded) == 2 and decoded[1] > decoded[0] + len(more)
    assert len(normalize(both)) >= len(normalize(first)) + 3, both  # "kaki kanan saya kram sekarang" too


def test_english_talk_is_dropped_by_whispers_own_language_detection(whisper, kb):
    """Steered by the prompt, Whisper writes English talk as the domain's Indonesian; its language
    detection, which sees the audio before any prompt, still hears English (the quiet soak's 5 actions)."""
    recognizer = WhisperRecognizer(whisper, steered(kb))
    assert recognizer.transcribe(file_chunks(RECORDINGS / "clean" / "relief_01__piper-joe.wav")) == ""
    assert recognizer.last_rejection.startswith("en talk"), recognizer.last_rejection
    assert "kram" in recognizer.transcribe(file_chunks(BETIS_SAYA_KRAM)).lower()  # Indonesian passes


def test_transcribe_in_indonesian():
    done = run_cli("transcribe", "--lang", "id", str(BETIS_SAYA_KRAM))
    assert done.returncode == 0, done.stderr
    assert "kram" in done.stdout.lower()


def test_a_missing_or_damaged_model_is_one_line_naming_the_fix(tmp_path):
    done = run_cli("answer", "--lang", "id", "--model", str(tmp_path), str(BETIS_SAYA_KRAM))
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "no Whisper model" in done.stderr and "voice-skill model fetch --lang id" in done.stderr
    real = find_whisper_model()
    for name in MODEL_FILES:
        if name != "model.bin":
            shutil.copy(real / name, tmp_path / name)
    with open(real / "model.bin", "rb") as whole:
        (tmp_path / "model.bin").write_bytes(whole.read(1_000_000))  # a cut-off download
    done = run_cli("answer", "--lang", "id", "--model", str(tmp_path), str(BETIS_SAYA_KRAM))
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "could not be loaded" in done.stderr and "voice-skill model fetch --lang id" in done.stderr


@pytest.mark.parametrize("name, intent", [("d_stop_01__id-f3", "stop"), ("d_next_02__id-m3", "next")])
def test_a_command_the_first_listen_drops_is_heard_against_the_controls(whisper, kb, name, intent):
    """Measured on the dev recordings: "berhenti" first came out "Bantuan." and "oke berikutnya" came out
    "Okamarikutia."; heard again against the controls' phrasings alone, each is its control."""
    options = steered(kb)
    matcher = Matcher(kb)
    path = ID_RECORDINGS / "dev" / f"{name}.flac"
    once = WhisperRecognizer(whisper, replace(options, control_prompt=None)).transcribe(file_chunks(path))
    twice = WhisperRecognizer(whisper, options).transcribe(file_chunks(path))
    assert matcher.match(once).intent != intent, once
    assert matcher.match(twice).intent == intent, twice


def test_a_command_is_confirmed_by_readings_that_sound_like_it(whisper, kb):
    """"sudah, terus apa" (dev, m3): "Sudap. Terus apa." means next, but by their words alone most of the
    n-best readings meant nothing, so it was unconfirmed and dropped; compared by ear they mean next too."""
    path = ID_RECORDINGS / "dev" / "d_next_03__id-m3.flac"
    by_ear = replace(steered(kb), control_prompt=None)  # the first listen alone
    by_words = replace(by_ear, meaning=by_ear.words_meaning)
    assert WhisperRecognizer(whisper, by_words).transcribe(file_chunks(path)) == ""
    heard = WhisperRecognizer(whisper, by_ear).transcribe(file_chunks(path))
    assert Matcher(kb).match(heard).intent == "next", heard
