"""The hands-free loop's rules for what is meant for it, and its end-of-speech detector (no audio).

The rules take words as the recogniser gives them, `[unk]` for a word it was unsure of. The
recogniser itself is not used by them, so none is built here; test_listen_room covers the loop with
real audio in a virtual room.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from voice_skill.audio_in import SAMPLE_RATE
from voice_skill.endpoint import QuietDetector
from voice_skill.for_us import (answer, belied, endings, heard_surely, is_for_us, mean_confidence, mostly_sure,
                                needs_second_opinion, reads_as_request, standing_out_db, stands_out, swallowed,
                                understand)
from voice_skill.matcher import Match, Matcher, Mentions
from voice_skill.tuning import (COMMAND_SPAN_S, ENDPOINT_QUIET_S, HELP_CONFIDENCE, MAX_REQUEST_WORDS, QUESTION_CONFIDENCE,
                                QUESTION_PROMINENCE_DB, RELIEF_FLOOR, RELIEF_PROMINENCE_DB, REQUEST_SPAN_S,
                                START_CONFIDENCE, START_WORD_CONFIDENCE)


@pytest.fixture(scope="module")
def matcher(kb) -> Matcher:
    return Matcher(kb)


def understood(matcher: Matcher, text: str, active: bool = False) -> str | None:
    found = understand(text, matcher, active)
    return found[1].intent if found else None


@pytest.mark.parametrize("text, intent", [
    ("the cramp [unk] passed but my leg aches", "aftercare"),  # one unsure word inside a clear request
    ("how do i prevent [unk] calf cramps", "prevention"),
    ("can pregnancy [unk] leg cramps", "cause_pregnancy"),
    ("[unk] nerve damage cause my cramps", "cause_nerve_disorders"),  # a soft first word ("could")
    ("do i need to get my leg checked by a doctor", "see_doctor"),  # a question may name just the leg
    ("my calf is cramping", "cramp_relief"),
    ("my calf just cramped up", "cramp_relief"),  # like no example, but the complaint stated outright
    ("my calf muscle [unk] seize up", "cramp_relief"),
    ("the match was good and then my calf is cramping", "cramp_relief"),  # a request ending other talk
    ("ow my leg is cramping [unk]", "cramp_relief"),  # the complaint stated outright, trailing off
    ("[unk] my calf just cramp [unk]", "cramp_relief"),
])
def test_a_clear_request_starts_it_from_idle(matcher, text, intent):
    assert understood(matcher, text) == intent


@pytest.mark.parametrize("text", [
    "the cramp has passed but my leg aches [unk]",  # unsure at the end: talk running on
    "my calf hurts [unk]",  # the same, and no cramp stated: trailing off is no excuse
    "my cramp is gone [unk]",  # a cramp, but no calf or leg
    "the cramp [unk] passed [unk] my leg aches",  # two unsure words
    "calf [unk] cramp",  # too few sure words around the unsure one
    "is it because i don't drink enough water",  # names no calf and no cramp
    "the calf after the show was fine",  # a calf, but no cramp
    "we went out [unk] and then my leg hurt",  # just the leg, and like no request
])
def test_doubtful_or_off_topic_talk_is_ignored_from_idle(matcher, text):
    assert understood(matcher, text) is None


def test_mid_conversation_an_unsure_word_does_not_hide_a_command(matcher):
    assert understood(matcher, "[unk] next") is None
    assert understood(matcher, "[unk] next", active=True) == "next"


def test_when_only_the_end_of_an_utterance_is_for_us_that_end_is_answered(matcher):
    text, match = understand("[unk] the game [unk] was fun and my calf is cramping", matcher, False)
    assert text.endswith("my calf is cramping") and "[unk]" not in text and match.intent == "cramp_relief"


# --- a recording heard whole (`voice-skill answer`): a request, or talk forced onto the grammar? ---

def answered(matcher: Matcher, text: str, reread: str = "", freely: str | None = None,
             spoken_s: float | None = None) -> str:
    return answer(text, matcher, lambda: reread, lambda: freely, spoken_s)[1].intent


@pytest.mark.parametrize("text, intent", [
    ("can diabetes cause leg cramps", "cause_nerve_disorders"),  # every word sure: as matched
    ("is it because i'm getting old", "cause_aging"),
    ("the cramp [unk] passed but my leg aches", "aftercare"),  # an unsure word in a phrasing's words
    ("ouch [unk] leg is cramping", "cramp_relief"),  # the relief request, a third unsure at most
    ("next", "next"),
])
def test_a_recording_that_reads_as_a_request_is_answered(matcher, text, intent):
    assert answered(matcher, text) == intent


@pytest.mark.parametrize("text", [
    # ordinary speech (four-second pieces, espeak voices) as the grammar decoded it
    "[unk] water after them often want all and out i'm thirsty",
    "should weak bring something baby a thyroid problem often [unk]",
    "about leg weak and how was that repeat that the [unk]",
    "[unk] and fluid is liver the next morning [unk]",
])
def test_talk_forced_onto_the_grammar_gets_no_answer(matcher, text):
    assert answered(matcher, text) == "unknown"


def test_a_swallowed_recording_is_read_again_for_the_relief_request_only(matcher):
    assert answered(matcher, "[unk]", reread="help my calf is cramping") == "cramp_relief"
    assert answered(matcher, "[unk] [unk]", reread="what causes calf cramps") == "unknown"  # a question: no
    assert answered(matcher, "[unk] [unk]", reread="ouch") == "unknown"  # relief, but names no calf or cramp
    assert answered(matcher, "what causes calf cramps", reread="my calf is cramping") == "causes"  # not swallowed


def test_the_second_reading_is_asked_for_only_when_it_is_needed(matcher):
    asked = []
    answer("my calf is cramping", matcher, lambda: asked.append(1) or "")
    answer("[unk] my calf is [unk] [unk] now", matcher, lambda: asked.append(1) or "")  # 3 of 7 unsure: not swallowed
    assert asked == []
    answer("[unk] [unk] the", matcher, lambda: asked.append(1) or "")
    assert asked == [1]


# --- a second opinion: the same audio decoded with no grammar ---------------------------------------
# (pairs of transcripts as the grammar and free decoding gave them, on the bench's ordinary speech
# and the test recordings)

@pytest.mark.parametrize("heard, freely", [
    ("how do my stop my [unk] artery", "how do i stopped my bob marley"),  # "how do i stop my dog barking"
    ("the muscle when the old still stiff again still feels", "when possible within the old still safe again deal"),
    ("and needles [unk] leg older", "the end he thought that if the do slightly golden eggs [unk]"),
    ("[unk] didn't hear", "saying that she would rather than [unk] food in peace and feast in fear"),  # a third unsure
])
def test_talk_the_free_decoding_does_not_bear_out_gets_no_answer(matcher, heard, freely):
    assert matcher.match(heard).intent != "unknown"  # the grammar's words alone would be answered
    assert answered(matcher, heard, freely=freely) == "unknown"


@pytest.mark.parametrize("heard, freely, intent", [
    ("i'm pregnant and my legs cramp at night", "i'm pregnant and my legs dreamt up i", "cause_pregnancy"),
    ("i have swollen my legs", "i had swollen my legs", "cause_varicose_veins"),
    ("what actually happens when i muscle cramp", "lots i'm sure what happens when i muscle drama", "what_is"),
])
def test_a_request_whose_words_survive_free_decoding_is_answered(matcher, heard, freely, intent):
    assert needs_second_opinion(heard, matcher.match(heard), matcher)
    assert answered(matcher, heard, freely=freely) == intent


def test_the_free_decoding_is_asked_for_only_when_the_answer_needs_it(matcher):
    asked = []
    def freely() -> str:
        asked.append(1)
        return ""
    assert answer("can diabetes cause leg cramps", matcher, lambda: "", freely)[1].intent == "cause_nerve_disorders"
    assert answer("what time is it", matcher, lambda: "", freely)[1].intent == "unknown"
    assert asked == []  # follows a phrasing closely; no answer at all
    assert answer("how do my stop my [unk] artery", matcher, lambda: "", freely)[1].intent == "unknown"
    assert asked == [1]


def test_an_answer_heard_beyond_doubt_in_a_request_s_span_is_not_second_guessed(matcher):
    # bench clean: the free decoding lost "varicose", which the grammar heard (every word sure)
    heard, freely = "do varicose means give you cramps", "do [unk] close means gave you promise"
    assert answered(matcher, heard, freely=freely, spoken_s=2.2) == "cause_varicose_veins"
    assert answered(matcher, heard, freely=freely, spoken_s=REQUEST_SPAN_S + 0.5) == "unknown"  # running talk
    assert answered(matcher, heard, freely=freely) == "cramp_relief"  # span not measured: checked as before
    unsure = "do varicose [unk] give you cramps"  # an unsure word: still checked
    assert answered(matcher, unsure, freely=freely, spoken_s=2.2) != "cause_varicose_veins"


def test_a_relief_request_of_a_request_s_length_is_never_second_guessed(matcher):
    # in noise its words are the ones the grammar still hears, and free decoding loses them
    for heard in ("help me my leg a cramp", "ow my calf eating gone", "my calf just cramp woke [unk]",
                  "my leg muscle leave all get up and it hurts"):  # 10 words, loosely fitting: still a request
        match = matcher.match(heard)
        assert match.intent == "cramp_relief" and not needs_second_opinion(heard, match, matcher)
        assert not belied(heard, match, matcher, lambda: "made my living on the prom")


# `answer`'s readings of 4 s pieces of ordinary speech (bench/work/audio/ordinary), with their free decoding
@pytest.mark.parametrize("heard, freely", [
    ("is there in a calf lot in pause i thanks there", "is there any coffee left in pot i think there"),
    ("has the calf that do not leads what have by cramping that shut",
     "was be careful that do not lose what have by grabbing that shadow"),
    ("and calf hurts no the cramp up ahead enough an [unk]",
     "there covered in snow the grasshopper had nothing and he came"),
])
def test_running_talk_that_named_the_calf_is_not_taken_for_the_relief_request(matcher, heard, freely):
    match = matcher.match(heard)
    assert match.intent == "cramp_relief" and needs_second_opinion(heard, match, matcher)
    assert answered(matcher, heard, freely=freely) == "unknown"


def test_running_talk_the_garbage_model_swallowed_is_not_read_again_into_the_relief_request(matcher):
    # the grammar heard "[unk] [unk] [unk] [unk]"; read again without [unk], the talk became a salad naming the calf
    salad = "and calf hurts no the cramp up ahead enough an [unk]"
    assert matcher.match(salad).intent == "cramp_relief"
    assert answered(matcher, "[unk] [unk] [unk] [unk]", reread=salad,
                    freely="there covered in snow the grasshopper had nothing and he came") == "unknown"
    assert answered(matcher, "[unk] [unk] [unk]", reread="[unk] my calf is cramping",
                    freely="the inside in my mafia") == "cramp_relief"  # a request's length: never second-guessed


def test_a_long_relief_request_whose_words_survive_free_decoding_is_answered(matcher):
    heard = "my leg muscle is a lot in up and it hurts"  # tv10: the background added words
    assert needs_second_opinion(heard, matcher.match(heard), matcher)
    assert answered(matcher, heard, freely="my leg muscle [unk] or not it up and get hurt") == "cramp_relief"


# `answer`'s readings of 4 s pieces of ordinary speech whose words ran 3.2-3.9 s, with their free decoding
@pytest.mark.parametrize("heard, freely", [
    ("then a calf talking to move on [unk] [unk]", "they normally are starting to rope on will be retiring"),
    ("cramp in the and is [unk] pause", "drop off in the end is there any coffee left in the part"),
    ("[unk] a calf and my [unk]", "so the other valuables [unk] out that off and [unk] fox and read them [unk]"),
])
def test_seconds_of_talk_that_named_the_calf_are_not_taken_for_the_relief_request(matcher, heard, freely):
    match = matcher.match(heard)
    assert match.intent == "cramp_relief"
    assert answered(matcher, heard, freely=freely) == "cramp_relief"  # as many words as a request: it would stand
    assert answered(matcher, heard, freely=freely, spoken_s=REQUEST_SPAN_S + 0.5) == "unknown"


def test_a_relief_request_said_in_a_request_s_time_is_never_second_guessed(matcher):
    for heard in ("help me my leg a cramp", "ow my calf eating gone", "my calf just cramp woke [unk]"):
        assert answered(matcher, heard, freely="made my living on the prom", spoken_s=REQUEST_SPAN_S) == "cramp_relief"


def test_a_long_relief_request_that_follows_a_phrasing_or_is_borne_out_is_answered(matcher):
    long_s = REQUEST_SPAN_S + 1.0  # said slowly, or at length
    assert answered(matcher, "i have a cramp in my calf", freely="", spoken_s=long_s) == "cramp_relief"
    assert answered(matcher, "my leg muscle is a lot in up and it hurts", spoken_s=long_s,
                    freely="my leg muscle [unk] or not it up and get hurt") == "cramp_relief"


@pytest.mark.parametrize("heard", ["[unk] [unk] again again [unk] missed", "while and [unk] the [unk] did that okay once more",
                                   "[unk] the next", "[unk] will what are you [unk] [unk]"])
def test_a_command_made_of_seconds_of_talk_is_no_command(matcher, heard):
    intent = matcher.match(heard).intent
    assert intent in ("next", "repeat", "help")
    assert answered(matcher, heard, spoken_s=REQUEST_SPAN_S + 0.4) == "unknown"


@pytest.mark.parametrize("heard, intent", [("next", "next"), ("can you say that again please", "repeat"),
                                           ("okay stop now", "stop")])
def test_a_command_said_in_a_command_s_time_is_answered(matcher, heard, intent):
    assert answered(matcher, heard, spoken_s=1.6) == intent
    assert answered(matcher, heard) == intent  # unmeasured (an engine that does not say): no evidence against it


def test_a_question_the_free_decoding_belies_that_names_the_calf_is_taken_for_the_relief_request(matcher):
    heard = "how do i my calf problem"  # tv10, "how do i stop a calf cramp": the grammar made it prevention
    assert matcher.match(heard).intent == "prevention"
    assert answered(matcher, heard, freely="thousand nine coffee rommel", spoken_s=1.6) == "cramp_relief"
    assert answered(matcher, heard, freely="how do i prevent calf problems", spoken_s=1.6) == "prevention"  # borne out
    # naming only the leg is not enough; seconds of talk naming the calf are checked as the relief request is
    assert answered(matcher, "my leg muscle the morning after done it eased",
                    freely="my leg muscle the ball and [unk] on on the horizon", spoken_s=2.2) == "unknown"
    talk = "don't morning did you [unk] will vein calf"  # ordinary speech: "good morning did you sleep well ..."
    assert matcher.match(talk).intent == "cause_varicose_veins"
    assert answered(matcher, talk, freely="good morning did you sleep well the rain kept me",
                    spoken_s=REQUEST_SPAN_S + 0.6) == "unknown"


def test_a_swallowed_command_said_as_one_is_read_again(matcher):
    # "be quiet" and "say that again" under a talker 10 dB down: the garbage model took them whole
    assert answered(matcher, "[unk]", reread="quiet", spoken_s=0.9) == "stop"
    assert answered(matcher, "[unk] [unk]", reread="say again", spoken_s=1.6) == "repeat"
    assert answered(matcher, "[unk]", reread="quiet") == "unknown"  # unmeasured: no evidence it was short
    assert answered(matcher, "[unk] [unk]", reread="say again", spoken_s=COMMAND_SPAN_S + 0.5) == "unknown"
    assert answered(matcher, "[unk] [unk] [unk]", reread="okay stop the next step please", spoken_s=1.8) == "unknown"
    assert answered(matcher, "[unk] [unk]", reread="please some use", spoken_s=0.9) == "unknown"  # help: not read again


def test_with_no_second_opinion_to_be_had_the_grammar_stands(matcher):  # an engine with no grammar (Whisper)
    assert answered(matcher, "how do my stop my [unk] artery") == "cause_peripheral_artery_disease"


@pytest.mark.parametrize("text, expected", [("[unk]", True), ("", True), ("[unk] my [unk]", True),
                                            ("[unk] my calf", False), ("my calf is cramping", False)])
def test_swallowed_means_unk_took_half_or_more(text, expected):
    assert swallowed(text) is expected


def test_with_no_unsure_word_the_words_need_not_follow_a_phrasing(matcher):
    talk, match = "should weak bring something baby a thyroid problem often", Match("cause_medical_conditions", 0.7)
    assert reads_as_request(talk, match, matcher)  # a known limit: sure words in no phrasing still pass
    assert not reads_as_request(talk + " [unk]", match, matcher)


# --- the rule itself, with a stand-in matcher whose verdicts the test sets ------------------------


@dataclass
class Verdicts:
    """A matcher stand-in: every text names what `named` says; `threshold` as the real one's."""

    named: Mentions
    threshold: float = 0.65

    def match(self, text: str) -> Match:
        raise AssertionError("is_for_us is given the match; it must not match again")

    def mentions(self, text: str) -> Mentions:
        return self.named


CALF = Mentions(complaint=True, leg=True, cramp=False)
LEG_AND_CRAMP = Mentions(complaint=True, leg=True, cramp=True)
JUST_LEG = Mentions(complaint=False, leg=True, cramp=False)
NOTHING = Mentions(complaint=False, leg=False, cramp=False)
BELOW, ABOVE = -0.01, 0.0


@pytest.mark.parametrize("intent, confidence, named, whole, expected", [
    ("cramp_relief", START_CONFIDENCE + ABOVE, CALF, False, True),  # the relief request, even as an ending
    ("cramp_relief", START_CONFIDENCE + BELOW, CALF, True, False),  # too weak
    ("cramp_relief", 0.5, LEG_AND_CRAMP, True, True),  # weak, but the complaint stated outright, whole
    ("cramp_relief", 0.5, LEG_AND_CRAMP, False, False),  # ... not at the end of other talk
    ("cramp_relief", 0.99, NOTHING, True, False),  # names no calf and no cramp
    ("prevention", QUESTION_CONFIDENCE + ABOVE, CALF, True, True),
    ("prevention", QUESTION_CONFIDENCE + BELOW, CALF, True, False),
    ("prevention", 0.99, CALF, False, False),  # a question must be heard whole
    ("see_doctor", 0.99, JUST_LEG, True, True),  # a question heard whole may name just the leg
    ("cramp_relief", 0.99, JUST_LEG, True, True),
    ("cramp_relief", 0.99, JUST_LEG, False, False),
    ("help", HELP_CONFIDENCE + ABOVE, NOTHING, True, True),  # "help" alone, heard beyond doubt
    ("help", HELP_CONFIDENCE + BELOW, NOTHING, True, False),
    ("help", 0.99, NOTHING, False, False),  # ... and whole: "... all the commands" ends other talk
    ("next", 1.0, NOTHING, True, False),  # the controls are for a conversation under way
    ("unknown", 1.0, CALF, True, False),
])
def test_from_idle_it_takes_a_clear_request_about_the_complaint(intent, confidence, named, whole, expected):
    verdict = is_for_us("my calf", Match(intent, confidence), Verdicts(named), active=False, whole=whole)
    assert verdict is expected


@pytest.mark.parametrize("intent, confidence, expected", [
    ("next", 0.65, True), ("stop", 0.64, False), ("prevention", 0.7, True), ("unknown", 1.0, False),
])
def test_in_a_conversation_any_match_above_the_threshold_will_do(intent, confidence, expected):
    verdict = is_for_us("[unk] [unk] next [unk]", Match(intent, confidence), Verdicts(NOTHING), active=True, whole=False)
    assert verdict is expected


def test_an_ending_with_an_unsure_word_is_not_for_us_from_idle():
    assert not is_for_us("[unk] calf is cramping", Match("cramp_relief", 0.9), Verdicts(CALF), active=False, whole=False)
    assert is_for_us("[unk] calf is cramping", Match("cramp_relief", 0.9), Verdicts(CALF), active=False, whole=True)


# --- standing out from what came before (Recognizer.prominences_db measures it; test_standing_out) --

@pytest.mark.parametrize("intent, prominence, expected", [
    ("prevention", QUESTION_PROMINENCE_DB, True),  # after a pause, or over the room
    ("prevention", QUESTION_PROMINENCE_DB - 0.1, False),  # talk going on at its own level
    ("prevention", None, True),  # not measured (a partial result, an engine that doesn't): no evidence
    ("cramp_relief", RELIEF_PROMINENCE_DB, True),  # the relief request gets a looser bar ...
    ("cramp_relief", RELIEF_PROMINENCE_DB - 0.1, False),  # ... but a bar
    ("help", QUESTION_PROMINENCE_DB, True),  # "help" (what can you do?) is asked as a question is ...
    ("help", QUESTION_PROMINENCE_DB - 0.1, False),  # ... not a TV's "options" run on at its own level
])
def test_from_idle_a_request_must_stand_out_from_what_came_before(intent, prominence, expected):
    verdict = is_for_us("my calf", Match(intent, 0.99), Verdicts(CALF), active=False, whole=True,
                        prominence_db=prominence)
    assert verdict is expected


def test_the_complaint_stated_outright_need_not_stand_out():  # "ow ... my calf is cramping"
    def verdict(intent: str, whole: bool) -> bool:
        return is_for_us("my calf is cramping", Match(intent, 0.99), Verdicts(LEG_AND_CRAMP), active=False,
                         whole=whole, prominence_db=-20.0)

    assert verdict("cramp_relief", whole=True)
    assert not verdict("cramp_relief", whole=False)  # the end of talk at its own level: "... leg cramps"
    assert not verdict("prevention", whole=True)


def test_words_that_merely_name_leg_and_cramp_must_stand_out():  # talk at its own level: "leg cramps time [unk]"
    def verdict(confidence: float, prominence: float) -> bool:
        return is_for_us("leg cramps time", Match("cramp_relief", confidence), Verdicts(LEG_AND_CRAMP), active=False,
                         whole=True, prominence_db=prominence)

    assert not verdict(RELIEF_FLOOR, RELIEF_PROMINENCE_DB - 0.1)  # like none of its phrasings (the matcher's floor)
    assert verdict(RELIEF_FLOOR, RELIEF_PROMINENCE_DB)  # said over the room, it is a request
    assert verdict(RELIEF_FLOOR + 0.01, -20.0)  # like a phrasing, if loosely: "my calf is cramping again" after "ow ow"


def test_in_a_conversation_standing_out_is_not_asked_for():
    assert is_for_us("next", Match("next", 0.9), Verdicts(NOTHING), active=True, whole=True, prominence_db=-20.0)


def test_the_relief_bar_is_the_looser_one():
    assert RELIEF_PROMINENCE_DB < QUESTION_PROMINENCE_DB
    assert stands_out(None, 100.0) and stands_out(3.0, 3.0) and not stands_out(2.9, 3.0)


def test_standing_out_is_measured_from_the_start_or_from_its_first_sure_word():
    text = "[unk] the game was fun and my calf is cramping"
    level = [0.0, 0.5, 0.2, 0.1, 0.0, 0.3, 12.0, 12.5, 12.2, 11.8]
    assert standing_out_db(text, level) == 0.5  # from the leading [unk] or the first sure word: the more
    assert standing_out_db(text, [7.0, *level[1:]]) == 7.0
    assert standing_out_db(text, level[:-1]) is None  # not the words measured: no evidence
    assert standing_out_db("", []) is None


def test_a_relief_request_at_the_end_of_talk_is_answered_if_the_utterance_stood_out(matcher):
    text = "[unk] the game [unk] was fun and my calf is cramping"  # too unsure whole: its endings are tried
    level = [9.0, 9.5, 9.2, 9.0, 9.1, 9.0, 9.3, 12.0, 12.5, 12.2, 11.8]  # said over the room (from its start)
    heard, match = understand(text, matcher, False, level)
    assert heard == "my calf is cramping" and match.intent == "cramp_relief"
    level = [0.0, 0.5, 0.2, 0.0, 0.1, 0.0, 0.3, 12.0, 12.5, 12.2, 11.8]  # the talk before at its own level
    assert understand(text, matcher, False, level) is None


# --- heard surely: talk forced onto the grammar comes out unsure (Recognizer.confidences) ----------


def test_how_surely_words_were_heard_is_the_mean_over_the_words_kept():
    assert mean_confidence("my [unk] calf", "my [unk] calf", [0.8, 1.0, 0.6]) == pytest.approx(0.7)
    assert mean_confidence("calf cramp", "well my calf cramp", [0.3, 0.3, 0.9, 0.7]) == pytest.approx(0.8)
    assert mean_confidence("my calf", "my calf", [0.9]) is None  # not these words' confidences: no evidence
    assert mean_confidence("[unk] [unk]", "[unk] [unk]", [1.0, 1.0]) is None  # no word kept
    assert mean_confidence("my calf", "my calf", None) is None
    assert heard_surely(None) and heard_surely(START_WORD_CONFIDENCE) and not heard_surely(START_WORD_CONFIDENCE - 0.01)


def test_from_idle_a_request_heard_unsurely_does_not_start_it_but_in_a_conversation_it_counts(matcher):
    text = "my calf is cramping"
    assert understand(text, matcher, False, confidences=[0.95, 0.9, 1.0, 0.92])[1].intent == "cramp_relief"
    assert understand(text, matcher, False, confidences=[0.55, 0.6, 0.52, 0.58]) is None  # talk forced onto it
    assert understand(text, matcher, True, confidences=[0.55, 0.6, 0.52, 0.58])[1].intent == "cramp_relief"


def test_the_request_at_the_end_of_unsure_talk_is_weighed_by_its_own_words(matcher):
    text = "[unk] the game [unk] was fun and my calf is cramping"
    talk_then_sure = [1.0, 0.55, 0.52, 1.0, 0.51, 0.6, 0.55, 0.97, 0.99, 0.95, 0.98]
    heard, match = understand(text, matcher, False, confidences=talk_then_sure)
    assert heard == "my calf is cramping" and match.intent == "cramp_relief"
    assert understand(text, matcher, False, confidences=[*talk_then_sure[:7], 0.55, 0.6, 0.52, 0.58]) is None


def test_a_question_running_on_from_talk_is_not_answered_but_after_a_pause_it_is(matcher):
    text = "how can i prevent leg cramps"
    assert understood(matcher, text) == "prevention"
    assert understand(text, matcher, False, [1.0] * 6) is None
    assert understand(text, matcher, False, [40.0] * 6)[1].intent == "prevention"


@pytest.mark.parametrize("text, expected", [
    ("my calf is cramping", True),
    ("[unk] my calf hurts", True),  # a soft first word
    ("my calf [unk] hurts", True),
    ("my calf hurts [unk]", False),  # the last word: talk running on
    ("[unk] calf [unk] hurts now", False),  # two
    ("[unk] calf cramp", False),  # only two sure words
    ("", True),
])
def test_mostly_sure(text, expected):
    assert mostly_sure(text) is expected


def test_endings_run_from_the_longest_request_to_two_words():
    words = [f"w{i}" for i in range(20)]
    found = endings(" ".join(words))
    assert found[0] == " ".join(words[-MAX_REQUEST_WORDS:])
    assert found[-1] == "w18 w19"
    assert len(found) == MAX_REQUEST_WORDS - 1
    assert endings("my calf is cramping") == ["calf is cramping", "is cramping"]  # never the whole
    assert endings("cramp") == []


# --- end of speech --------------------------------------------------------------------------------

CHUNK = SAMPLE_RATE // 10  # 100 ms, as a file is heard (the live microphone hands over half as much)


def tone(level: float) -> bytes:
    t = np.arange(CHUNK) / SAMPLE_RATE
    return (np.sin(2 * np.pi * 220 * t) * level * np.sqrt(2) * 32767).astype("<i2").tobytes()


def test_speech_ends_after_a_short_quiet_and_not_before():
    detector = QuietDetector()
    for _ in range(5):
        detector.update(tone(0.1))
    assert not detector.speech_ended
    detector.update(tone(0.0))
    assert not detector.speech_ended  # 100 ms of quiet is a pause between words
    for _ in range(int(np.ceil(ENDPOINT_QUIET_S / 0.1))):
        detector.update(tone(0.0))
    assert detector.speech_ended
    detector.reset()
    assert not detector.speech_ended


def test_quiet_alone_is_no_end_of_speech():
    detector = QuietDetector()
    for _ in range(30):
        detector.update(tone(0.001))
    assert not detector.speech_ended


def test_what_counts_as_speech_depends_on_the_room():
    quiet_room, noisy_room = QuietDetector(), QuietDetector()
    for _ in range(100):  # ten seconds of a steady hum: the estimate settles on the room's noise
        noisy_room.update(tone(0.01))
    assert not noisy_room.heard_speech  # the hum itself is not speech
    quiet_room.update(tone(0.025))
    noisy_room.update(tone(0.025))
    assert quiet_room.heard_speech and not noisy_room.heard_speech  # a murmur stands out only in quiet
    noisy_room.update(tone(0.2))
    assert noisy_room.heard_speech
