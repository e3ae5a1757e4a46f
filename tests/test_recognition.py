"""Hearing recorded files with the real Vosk model, as `voice-skill answer` does."""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import numpy as np
import pytest
import soundfile

from conftest import RECORDINGS, run_cli
from voice_skill.audio_in import SAMPLE_RATE, read_file

DEMO = RECORDINGS / "demo" / "my-calf-is-cramping.wav"


def manifest(condition: str) -> list[dict]:
    with open(RECORDINGS / "manifest.tsv", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle, delimiter="\t") if row["condition"] == condition]


def answer_all(rows: list[dict], *extra: str) -> list[dict]:
    files = [str(RECORDINGS / row["path"]) for row in rows]
    done = run_cli("answer", "--json", *extra, *files, timeout=600)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


# Decoding is deterministic (the dither is seeded), so the floors sit close under what is measured
# (.venv/bin/python -m bench.answer): clean 95.7%, babble 84.3%, one talker 10 dB below 75.7% (60.0%
# without the level filter, 65.7% without the second reading), TV 67.1%; and the relief request on
# its own 19/20, 8/10, 8/10 (4/10 without the second reading), 9/10.
@pytest.mark.parametrize("condition, floor, relief_floor", [("clean", 0.93, 0.95), ("babble10", 0.82, 0.8),
                                                            ("talk10", 0.74, 0.8), ("tv10", 0.65, 0.9)])
def test_recordings_reach_the_right_intent(condition, floor, relief_floor):
    rows = manifest(condition)
    answers = answer_all(rows)
    assert [a["file"] for a in answers] == [str(RECORDINGS / r["path"]) for r in rows]  # one per input, in order
    by_intent: dict[str, list[bool]] = defaultdict(list)
    for row, answer in zip(rows, answers):
        by_intent[row["intent"]].append(answer["intent"] == row["intent"])
    misses = {k: f"{sum(v)}/{len(v)}" for k, v in by_intent.items() if not all(v)}
    assert sum(sum(v) for v in by_intent.values()) / len(rows) >= floor, misses
    assert np.mean(by_intent["cramp_relief"]) >= relief_floor, misses


def test_a_request_swallowed_whole_by_the_talk_behind_it_is_read_again():
    """One talker 10 dB below "ow my calf": the grammar's [unk] takes the whole request; read again
    without [unk], the relief request comes back (what else a second reading may bring: test_hands_free)."""
    path = RECORDINGS / "talk10" / "relief_03__espeak-en-us-f4.wav"
    heard = run_cli("transcribe", str(path))
    assert set(heard.stdout.split(":", 1)[1].split()) == {"[unk]"}, heard.stdout
    [answer] = answer_all([{"path": "talk10/relief_03__espeak-en-us-f4.wav"}])
    assert answer["intent"] == "cramp_relief" and "calf" in answer["transcript"]


def test_the_cramp_request_is_answered_with_the_first_step(kb):
    [answer] = answer_all([{"path": "demo/my-calf-is-cramping.wav"}])
    assert answer["transcript"] == "my calf is cramping" and answer["error"] is None
    assert answer["intent"] == "cramp_relief"
    assert answer["response"].startswith(kb.lines("cramp_relief", "en")[0])


def test_indonesian_answers_on_request(kb):  # --lang id hears Indonesian too (tests/test_indonesian.py)
    done = run_cli("answer", "--json", "--lang", "id", str(RECORDINGS / "id" / "check" / "c_relief_01__id-f2.flac"))
    assert json.loads(done.stdout)["response"].startswith(kb.lines("cramp_relief", "id")[0])


def _variants(tmp_path):
    """The demo request re-encoded in the shapes people's recordings come in."""
    speech = read_file(DEMO).astype(np.float32) / 32768
    shapes = [("8k int16 mono.wav", 8000, 1, "PCM_16"), ("44k1 stereo 24-bit.flac", 44100, 2, "PCM_24"),
              ("48k float stereo.wav", 48000, 2, "FLOAT"), ("22k ogg vorbis.ogg", 22050, 1, "VORBIS"),
              ("44k1 mp3 ünïcødé name.mp3", 44100, 2, "MPEG_LAYER_III"), ("8-bit 16k.wav", 16000, 1, "PCM_U8")]
    for name, rate, channels, subtype in shapes:
        resampled = np.interp(np.arange(0, len(speech), SAMPLE_RATE / rate), np.arange(len(speech)), speech)
        data = np.repeat(resampled[:, None], channels, axis=1)
        path = tmp_path / name
        soundfile.write(str(path), data, rate, subtype=subtype)
        yield path


def test_every_common_format_and_rate_is_heard(tmp_path):
    files = [str(p) for p in _variants(tmp_path)]
    done = run_cli("answer", "--json", *files)
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr
    assert [(a["file"], a["intent"]) for a in answers] == [(f, "cramp_relief") for f in files]


def test_bad_files_get_one_line_each_and_the_rest_are_answered(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "noise.wav").write_bytes(np.random.default_rng(1).bytes(5000))
    (tmp_path / "text.mp3").write_text("this is not audio\n")
    truncated = tmp_path / "truncated.flac"
    soundfile.write(str(truncated), read_file(DEMO), SAMPLE_RATE, format="FLAC")
    truncated.write_bytes(truncated.read_bytes()[:300])
    (tmp_path / "a directory.wav").mkdir()
    bad = ["empty.wav", "noise.wav", "text.mp3", "truncated.flac", "a directory.wav", "missing.wav"]
    files = [str(DEMO)] + [str(tmp_path / name) for name in bad] + [str(DEMO)]
    done = run_cli("answer", "--json", *files)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["file"] for a in answers] == files
    assert answers[0]["intent"] == answers[-1]["intent"] == "cramp_relief"
    for answer in answers[1:-1]:
        assert answer["intent"] is None and answer["error"], answer
        assert "\n" not in answer["error"] and answer["file"] in answer["error"]


def test_silence_is_unknown_not_a_cramp_answer(tmp_path):
    silence = tmp_path / "silence.wav"
    soundfile.write(str(silence), np.zeros(10 * SAMPLE_RATE, dtype=np.int16), SAMPLE_RATE)
    done = run_cli("answer", "--json", str(silence))
    answer = json.loads(done.stdout)
    assert (answer["transcript"], answer["intent"], answer["error"]) == ("", "unknown", None)


def test_transcribe_prints_what_was_said():
    done = run_cli("transcribe", str(DEMO), str(RECORDINGS / "demo" / "next.wav"))
    assert done.returncode == 0
    assert done.stdout.splitlines() == [f"{DEMO}: my calf is cramping", f"{RECORDINGS / 'demo' / 'next.wav'}: next"]


def test_no_model_is_one_clear_line(tmp_path):
    done = run_cli("answer", str(DEMO), "--model", str(tmp_path))
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "not a Vosk model" in done.stderr
    empty_home = {"VOSK_MODEL_PATH": str(tmp_path)}
    done = run_cli("answer", str(DEMO), env=empty_home)
    assert done.returncode != 0 and "holds no Vosk model" in done.stderr and "Traceback" not in done.stderr


def test_the_same_audio_is_heard_the_same_whatever_was_heard_before():
    """Kaldi dithers audio with noise from the process-wide rand(); unseeded, a recording's transcript
    depended on what the process had decoded before it (the suite's soak failed one run in three)."""
    from voice_skill import knowledge
    from voice_skill.hearing import FileListener

    listener = FileListener.open(None, knowledge.load())
    babble = RECORDINGS / "babble.wav"  # overheard talk: words on the edge of the confidence cut-off
    first = listener.transcribe(babble)
    for row in manifest("babble10")[:3]:
        listener.transcribe(RECORDINGS / row["path"])
    assert [listener.transcribe(babble) for _ in range(3)] == [first] * 3


# --- a second opinion: the same audio decoded with no grammar (voice_skill.for_us.belied) ----------

def test_a_question_the_grammar_forced_onto_talk_is_not_answered_when_free_decoding_belies_it(kb):
    from voice_skill.for_us import needs_second_opinion
    from voice_skill.matcher import Matcher

    matcher = Matcher(kb)
    talk, request = answer_all([{"path": "clean/ood_12__espeak-en-klatt.wav"},  # "how do i stop my dog barking"
                                {"path": "clean/pregnancy_01__espeak-en-us.wav"}])
    grammar_heard = matcher.match(talk["transcript"])
    assert grammar_heard.intent == "cause_peripheral_artery_disease"  # the grammar's words alone: answered
    assert talk["intent"] == "unknown"
    heard = matcher.match(request["transcript"])
    assert needs_second_opinion(request["transcript"], heard, matcher)  # checked too, and borne out
    assert request["intent"] == "cause_pregnancy"



def test_free_decoding_hears_talk_as_what_it_was(kb):
    """The second opinion's decoder: the same model, no grammar, so talk is not forced onto the skill's words."""
    from voice_skill.audio_in import file_chunks
    from voice_skill.recognizer import Recognizer, find_model, grammar_phrases, load_model

    model = load_model(find_model())
    recognizer = Recognizer(model, grammar_phrases(kb, model))
    talk = RECORDINGS / "clean/ood_12__espeak-en-klatt.wav"  # "how do i stop my dog barking"
    assert "artery" in recognizer.transcribe(file_chunks(talk))  # the grammar forced it onto a question ...
    freely = recognizer.hear_freely(file_chunks(talk))
    assert freely.startswith("how do i") and "artery" not in freely  # ... decoded freely: "how do i stop my ..."
    assert recognizer.transcribe(file_chunks(talk)) == recognizer.transcribe(file_chunks(talk))  # still the same
    assert Recognizer(model).hear_freely(file_chunks(talk)) is None  # free speech has no grammar to second-guess


def test_how_long_the_speech_ran_is_the_request_s_not_the_talk_behind_it_nor_the_silence(kb):
    """Recognizer.spoken_s, real Vosk: a request said on its own is over in its own time, whatever
    talk ran 10 dB under it; sentences of talk run back to back run past a request's time (not all
    of theirs: a long [unk] over a pause between words is quieter than the words)."""
    from voice_skill.audio_in import file_chunks
    from voice_skill.recognizer import Recognizer, find_model, grammar_phrases, load_model
    from voice_skill.tuning import REQUEST_SPAN_S

    model = load_model(find_model())
    recognizer = Recognizer(model, grammar_phrases(kb, model))
    clean = RECORDINGS / "clean/relief_02__espeak-en-gb-m3.wav"  # "i have a cramp in my leg", 0.9 s of silence padded
    recognizer.transcribe(file_chunks(clean))
    alone = recognizer.spoken_s()
    assert 0.8 < alone < len(read_file(clean)) / SAMPLE_RATE - 0.7
    recognizer.transcribe(file_chunks(RECORDINGS / "talk10/relief_02__espeak-en-gb-m3.wav"))  # the same, over talk
    assert recognizer.spoken_s() < min(alone + 0.5, REQUEST_SPAN_S)
    sentences = [read_file(RECORDINGS / f"clean/ood_{n:02d}__piper-joe.wav") for n in (1, 4, 7, 10, 13)]  # one voice
    trimmed = [s[int(0.3 * SAMPLE_RATE): len(s) - int(0.45 * SAMPLE_RATE)] for s in sentences]  # 0.3 s pauses
    talk = np.concatenate(trimmed).astype("<i2")  # 6.5 s of talking on
    recognizer.transcribe([talk[i:i + 1600].tobytes() for i in range(0, len(talk), 1600)])
    assert recognizer.spoken_s() > REQUEST_SPAN_S
    recognizer.transcribe(file_chunks(RECORDINGS / "clean/ood_01__piper-joe.wav"))
    assert recognizer.spoken_s() < len(trimmed[0]) / SAMPLE_RATE + 0.3  # a reset forgets the words before it
