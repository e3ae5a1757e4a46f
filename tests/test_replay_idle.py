"""bench/replay_idle.py: utterances logged by bench.rooms weighed again by the rules as they are now."""

from __future__ import annotations

import pytest

from bench.replay_idle import RELIEF, TALK, TV_ALONE, label, replayed, summary
from voice_skill.matcher import Matcher

MANIFESTS = {"dev": {"relief_01.wav": {"intent": RELIEF, "start_s": "3.00"}}}


def record(text: str, prominence_db: float, recording: str = "", at_s: float = 0.0,
           intent: str | None = None) -> dict:
    words = text.split()
    return {"split": "dev", "condition": "1 mic", "recording": recording, "at_s": at_s, "text": text,
            "prominences_db": [prominence_db] * len(words), "confidences": [0.9] * len(words),
            "took": text if intent else None, "intent": intent}


@pytest.fixture(scope="module")
def matcher(kb):
    return Matcher(kb)


def test_an_utterance_is_labelled_by_where_it_was_heard():
    assert label(record("x", 0.0), MANIFESTS) == TALK
    assert label(record("x", 0.0, "relief_01.wav", at_s=2.5), MANIFESTS) == TV_ALONE  # before the request began
    assert label(record("x", 0.0, "relief_01.wav", at_s=4.0), MANIFESTS) == RELIEF


def test_the_rules_as_they_are_now_weigh_each_utterance_again(matcher):
    assert replayed(record("my calf is cramping", 12.0), matcher) == ("my calf is cramping", RELIEF)
    # logged as taken by rules that let a statement merely naming leg and cramp need not stand out
    talk = record("leg cramps time [unk]", 0.2, intent=RELIEF)
    assert replayed(talk, matcher) == (None, None)


def test_the_summary_counts_replies_to_talk_and_the_tv_and_requests_taken():
    records = [record("a", 0.0, intent=RELIEF), record("b", 0.0),  # talk: one reply
               record("c", 0.0, "relief_01.wav", at_s=2.0, intent="prevention"),  # a reply to the TV alone
               record("d", 0.0, "relief_01.wav", at_s=4.0, intent=RELIEF)]  # the request, taken
    labels = [label(r, MANIFESTS) for r in records]
    outcomes = [(r["took"], r["intent"]) for r in records]
    assert summary(records, labels, outcomes) == [
        "1 mic: replies to talk 1, to the TV alone 1, relief requests taken 1 of 1"]
    missed = [(None, None) if r["text"] == "d" else o for r, o in zip(records, outcomes)]
    assert summary(records, labels, missed) == [
        "1 mic: replies to talk 1, to the TV alone 1, relief requests taken 0 of 1"]
