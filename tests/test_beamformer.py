"""The beamformer in simulated living rooms (issue 28): a request said over a TV, heard by 2 and 4
microphones, rendered here by tests/make_room_recordings.py (pyroomacoustics' image method; the
dev split's every EVERY-th request, with the person's and the TV's parts also written apart).

What is checked is what a broken beamformer gets wrong: it must tell the TV alone from someone
talking to it, take the TV down more than the person, and so let Vosk hear more requests than one
microphone does; and one channel must stay today's path.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile

import make_room_recordings as rooms
from conftest import run_cli
from voice_skill import beamformer as beamformer_module
from voice_skill.beamformer import Beamformer, open_beamformer

EVERY = 6  # 24 of the dev split's 140 requests, every intent
BLOCK = 1600  # 100 ms, as the microphone hands them on


@dataclass(frozen=True)
class Scene:
    name: str
    intent: str
    start_s: float
    end_s: float


@pytest.fixture(scope="module")
def room_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rooms")
    rooms.render("dev", out, parts=True, every=EVERY)
    return out / "dev"


@pytest.fixture(scope="module")
def scenes(room_dir) -> list[Scene]:
    with (room_dir / "manifest.tsv").open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [Scene(r["name"], r["intent"], float(r["start_s"]), float(r["end_s"])) for r in rows]


def read(room_dir: Path, folder: str, name: str) -> np.ndarray:
    return soundfile.read(room_dir / folder / name, dtype="float32", always_2d=True)[0]


def stream(beam: Beamformer, audio: np.ndarray) -> np.ndarray:
    return np.concatenate([beam.process(audio[at:at + BLOCK]) for at in range(0, len(audio), BLOCK)])


def talking_by_frame(beam: Beamformer, audio: np.ndarray) -> np.ndarray:
    """Whether the beamformer took each hop of `audio` for someone talking."""
    flags = []
    for at in range(0, len(audio) - beam.hop + 1, beam.hop):
        beam.process(audio[at:at + beam.hop])
        flags.append(beam.talking)
    return np.array(flags)


@pytest.mark.parametrize("mics", [2, 4])
def test_it_tells_the_tv_alone_from_someone_talking_to_it(room_dir, scenes, mics):
    tv_alone, request = [], []
    for scene in scenes:
        flags = talking_by_frame(Beamformer(mics), read(room_dir, f"{mics}ch", scene.name))
        hop_s = Beamformer(mics).hop / rooms.RATE
        times = np.arange(len(flags)) * hop_s
        # the request's own padding (0.3 s before the words, 0.6 s after) and the decision's delay aside
        tv_alone.append(flags[(times > rooms.LEAD_S - 2.0) & (times < scene.start_s)])
        request.append(flags[(times > scene.start_s + 0.5) & (times < scene.end_s - 0.6)])
    said_by_tv = float(np.mean(np.concatenate(tv_alone)))
    heard_person = float(np.mean(np.concatenate(request)))
    print(f"{mics} mics: 'someone talking' in {said_by_tv:.0%} of the TV alone, {heard_person:.0%} of the request")
    assert said_by_tv < 0.05
    assert heard_person > 0.6


@pytest.mark.parametrize("mics, least_db", [(2, 1.5), (4, 3.0)])
def test_once_it_has_heard_the_room_the_tv_comes_down_more_than_the_person(room_dir, scenes, mics, least_db,
                                                                           monkeypatch):
    # The beam alone (no post-filter, whose gain is worked out from what it hears, so it cannot be
    # run on each part apart): learnt on the whole scene, then run, frozen, on each part.
    monkeypatch.setattr(beamformer_module, "BEAM_POSTFILTER", False)
    gains = []
    for scene in scenes:
        beam = Beamformer(mics)
        stream(beam, read(room_dir, f"{mics}ch", scene.name))
        beam.learning = False
        span = slice(int(scene.start_s * rooms.RATE), int(scene.end_s * rooms.RATE))
        kept = {}
        for part in ("person", "tv"):
            heard = read(room_dir, f"{mics}ch-{part}", scene.name)
            out = stream(beam, heard)[beam_latency(beam):]
            kept[part] = power_db(out[span]) - power_db(heard[span, 0])
        gains.append(kept["person"] - kept["tv"])
    print(f"{mics} mics: the TV taken down more than the person by {np.round(gains, 1)} dB")
    assert float(np.median(gains)) >= least_db
    # A person far from it in a reverberant room sounds as spread out as the TV, and may go unnoticed
    # (then learnt as background): the beam may then miss them, in a few rooms, not in most.
    assert np.mean(np.array(gains) > 0.5) >= 0.8


def beam_latency(beam: Beamformer) -> int:
    return beamformer_module.BEAM_FRAME


def power_db(samples: np.ndarray) -> float:
    return 10 * float(np.log10(np.mean(np.square(samples, dtype=np.float64)) + 1e-20))


def test_vosk_hears_more_requests_through_the_beam_than_through_one_microphone(room_dir, scenes):
    right = {}
    for folder in ("1ch", "2ch", "4ch"):
        files = [str(room_dir / folder / scene.name) for scene in scenes]
        result = run_cli("answer", "--json", *files, timeout=600)
        answers = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        assert len(answers) == len(scenes)
        right[folder] = sum(answer["intent"] == scene.intent for answer, scene in zip(answers, scenes))
    print(f"intents right of {len(scenes)}: {right}")
    # measured here: 16, 18 and 19 of 24 (one short of these, for other CPUs' arithmetic)
    assert right["2ch"] >= right["1ch"] + 1
    assert right["4ch"] >= right["1ch"] + 2


def test_one_channel_needs_no_beamformer():
    assert open_beamformer(1) is None
    assert isinstance(open_beamformer(2), Beamformer)


def test_as_many_samples_come_out_as_go_in_a_frame_later():
    beam = Beamformer(2)
    rng = np.random.default_rng(5)
    same = rng.standard_normal((rooms.RATE, 1)).astype(np.float32) * 0.1
    out = np.concatenate([beam.process(np.hstack([same, same])[at:at + 700]) for at in range(0, rooms.RATE, 700)])
    assert len(out) == rooms.RATE
    delay = beamformer_module.BEAM_FRAME
    # one source heard the same at both microphones, before anyone is steered to: the first microphone
    assert np.allclose(out[delay:], same[:-delay, 0], atol=1e-4)


FIRST_WORDS_S = 0.4  # a request's first word or two


def steered_until(mics: int, audio: np.ndarray, until_s: float) -> Beamformer:
    """A beamformer that heard `audio` live up to `until_s`, frozen as it then stood."""
    beam = Beamformer(mics)
    stream(beam, audio[: int(until_s * rooms.RATE)])
    return beam.frozen()


@pytest.mark.parametrize("mics, least_db", [(2, 0.3), (4, 0.7)])
def test_heard_again_at_its_end_a_requests_first_words_have_more_of_the_beam(room_dir, scenes, mics, least_db,
                                                                              monkeypatch):
    # Live, the beam turns to the person within their first half second, so their first words get
    # less of it; the loop hears a missed utterance again as the beam stands at its end (replay).
    # The beam alone (no post-filter, as above) over the words' first FIRST_WORDS_S, frozen as it
    # stood halfway through them (live) and at the request's end (heard again), on each part apart.
    monkeypatch.setattr(beamformer_module, "BEAM_POSTFILTER", False)
    gains = []
    for scene in scenes:
        mixed = read(room_dir, f"{mics}ch", scene.name)
        words_s = scene.start_s + 0.3  # the rendering's padding before the words
        first_words = slice(int(words_s * rooms.RATE), int((words_s + FIRST_WORDS_S) * rooms.RATE))
        separation = []
        for beam in (steered_until(mics, mixed, words_s + FIRST_WORDS_S / 2), steered_until(mics, mixed, scene.end_s)):
            kept = {part: power_db(stream(beam.frozen(), read(room_dir, f"{mics}ch-{part}", scene.name))
                                   [beam_latency(beam):][first_words]) for part in ("person", "tv")}
            separation.append(kept["person"] - kept["tv"])
        gains.append(separation[1] - separation[0])
    print(f"{mics} mics: the first words' person-to-TV ratio heard again over live: {np.round(gains, 1)} dB, "
          f"median {np.median(gains):.1f}")
    # measured here: median 0.7 dB with 2 mics, 1.4 dB with 4 (the beam turns fast: the first words
    # already get much of it); heard again they are seldom worse off
    assert float(np.median(gains)) >= least_db
    assert np.mean(np.array(gains) > -0.5) >= 0.8


def test_replay_is_none_until_the_beam_has_turned_within_what_is_asked_for():
    beam = Beamformer(2)
    rng = np.random.default_rng(7)
    stream(beam, rng.standard_normal((3 * rooms.RATE, 2)).astype(np.float32) * 0.1)
    assert beam.replay(2.0) is None  # nobody heard: the beam never turned
    beam.steered, beam._steered_at = True, beam._heard_samples - 2 * rooms.RATE  # turned 2 s ago
    assert beam.replay(1.0) is None  # ... not within the last second
    assert beam.replay(2.5) is not None


def test_replay_gives_the_last_seconds_heard_sample_for_sample():
    beam = Beamformer(2)
    rng = np.random.default_rng(8)
    heard = rng.standard_normal((4 * rooms.RATE, 2)).astype(np.float32) * 0.1
    stream(beam, heard)
    beam.steered, beam._steered_at = True, beam._heard_samples  # steered as it started: the first microphone
    again = beam.replay(1.5)
    assert len(again) == int(1.5 * rooms.RATE)
    assert np.allclose(again[:-beam_latency(beam)], heard[-len(again):-beam_latency(beam), 0], atol=1e-4)
    kept = beam.replay(60.0)  # never more than it keeps
    assert len(kept) <= (beamformer_module.BEAM_REPLAY_S + 0.1) * rooms.RATE
