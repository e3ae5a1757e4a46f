"""Is what was heard meant for the skill? The rules, as plain functions of text.

With no wake word the skill overhears the whole room, so from idle only a clear request about a
calf cramp may start it; once a conversation is under way, any match will do ("next", "stop").
A recording heard whole (`answer`) is answered only if its words read as a request, not as talk
the grammar forced onto the skill's words, and, where they need it, if the same audio decoded with no
grammar bears them out. Nothing here touches audio or a clock: these functions
take the words as the recogniser gave them (`[unk]` for a word it was unsure of), the matcher, and
whether a conversation is under way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from voice_skill.dialogue import RELIEF
from voice_skill.matcher import CONTROLS, UNKNOWN, Match, Mentions
from voice_skill.recognizer import UNK
# From idle a weaker match is more likely overheard talk than a request. One word Vosk was unsure of
# may pass among enough sure ones: in noise a real request often has one ("the cramp [unk] passed but
# my leg aches"); overheard talk forced onto the grammar has more. (The numbers, measured: tuning.py.)
from voice_skill.tuning import (COMMAND_CONFIDENCE, COMMAND_SPAN_S, FREE_FIT, HELP_CONFIDENCE, MAX_COMMAND_WORDS,
                                MAX_REQUEST_WORDS, MAX_UNSURE_WORDS, MIN_SURE_WORDS, QUESTION_CONFIDENCE,
                                QUESTION_PROMINENCE_DB, RELIEF_FLOOR, RELIEF_PROMINENCE_DB, RELIEF_SELF_EVIDENT_WORDS,
                                RELIEF_UNSURE_SHARE, REQUEST_SPAN_S, REREAD_COMMAND_WORDS, SELF_EVIDENT_FIT,
                                SELF_EVIDENT_UNSURE_SHARE, START_CONFIDENCE, START_WORD_CONFIDENCE,
                                SURE_ANSWER_CONFIDENCE, UNSURE_FIT)

STEERING = ("stop", "next", "repeat")  # the commands that steer the steps
INTERRUPTING = (*STEERING, "help", RELIEF)  # what may cut the skill short while it speaks


class Understanding(Protocol):
    """What the rules need of the matcher (voice_skill.matcher.Matcher)."""

    threshold: float

    def match(self, text: str) -> Match: ...
    def by_words(self, text: str) -> Match: ...
    def mentions(self, text: str) -> Mentions: ...
    def fit(self, text: str, intent: str) -> float: ...


def answer(text: str, matcher: Understanding, reread: Callable[[], str],
           hear_freely: Callable[[], str | None] = lambda: None, spoken_s: float | None = None) -> tuple[str, Match]:
    """What a recording heard whole (`voice-skill answer`) asks for, and the words it rests on.

    Its match, if the words read as a request (reads_as_request) and nothing speaks against it
    (borne_out: a command was not seconds of talk and, where they need it, a free decoding of the
    same audio, `hear_freely`, asked for only then, bears the words out); if [unk] swallowed it,
    the relief request when a second reading without [unk] (`reread`, asked for only then) states
    it and, where it needs it, the free decoding bears it out, or a command said as one
    (said_as_command); else `unknown`: talk forced onto the grammar's words is not a question.
    `spoken_s`: how long the recording's speech ran (Recognizer.spoken_s), None if not measured."""
    match = matcher.match(text)
    hear_freely = functools.cache(hear_freely)  # one free decoding, however many answers it weighs
    if match.intent != UNKNOWN and reads_as_request(text, match, matcher):
        return text, borne_out(text, match, matcher, hear_freely, spoken_s)
    if swallowed(text):
        again = reread()
        found = matcher.match(again)
        if (found.intent == RELIEF and reads_as_request(again, found, matcher) and matcher.mentions(again).complaint
                and not belied(again, found, matcher, hear_freely, spoken_s)):
            return again, found
        if said_as_command(again, found, matcher, spoken_s):
            return again, found
    return text, match if match.intent == UNKNOWN else not_a_request(match)


def said_as_command(text: str, match: Match, matcher: Understanding, spoken_s: float | None) -> bool:
    """Is a second reading of swallowed speech a command that steers the steps ("be quiet" under a
    talker came out "[unk]", read again "quiet")? Only in speech as short as a command
    (COMMAND_SPAN_S), read as a few words (REREAD_COMMAND_WORDS) Vosk was sure of, matching well, as
    a command heard over the skill's voice must (interrupts): seconds of talk read again without
    [unk] come out as many words, or as a salad, never as a bare command. Unmeasured: no."""
    return (match.intent in STEERING and spoken_s is not None and spoken_s <= COMMAND_SPAN_S
            and len(text.split()) <= REREAD_COMMAND_WORDS and interrupts(text, match, matcher))


def borne_out(text: str, match: Match, matcher: Understanding, hear_freely: Callable[[], str | None],
              spoken_s: float | None) -> Match:
    """The grammar's answer, if nothing speaks against it. If the free decoding does not bear an
    answer out but the words name the calf or a cramp, the relief steps, as for any words about calf
    cramps like no answer in particular (Matcher.match's floor), where those stand: in noise a
    request's words are forced onto a question's ("how do i my calf problem" -> prevention) as
    often as talk's are. Else `unknown`."""
    if outlasts_command(match, spoken_s):
        return not_a_request(match)
    if not belied(text, match, matcher, hear_freely, spoken_s):
        return match
    steps = Match(RELIEF, RELIEF_FLOOR)
    if match.intent != RELIEF and matcher.mentions(text).complaint and not belied(text, steps, matcher, hear_freely,
                                                                                  spoken_s):
        return steps
    return not_a_request(match)


def not_a_request(match: Match) -> Match:
    return Match(UNKNOWN, round(1.0 - match.confidence, 3))


def outlasts_command(match: Match, spoken_s: float | None) -> bool:
    """Was a command (next, repeat, stop, help) seconds of speech? A command is a word or a short
    sentence; talk forced onto the grammar's words makes one now and then ("... did that okay once
    more" -> repeat), from speech that runs on for as long as it was heard."""
    return match.intent in CONTROLS and runs_long(spoken_s)


def runs_long(spoken_s: float | None) -> bool:
    """Did the speech run longer than a request said on its own (REQUEST_SPAN_S)? Unmeasured: no."""
    return spoken_s is not None and spoken_s > REQUEST_SPAN_S


def belied(text: str, match: Match, matcher: Understanding, hear_freely: Callable[[], str | None],
           spoken_s: float | None = None) -> bool:
    """Does a free decoding of the same audio (asked for only if the answer needs it) fail to bear
    the grammar's answer out?"""
    return needs_second_opinion(text, match, matcher, spoken_s) and not confirmed(hear_freely(), match, matcher)


def needs_second_opinion(text: str, match: Match, matcher: Understanding, spoken_s: float | None = None) -> bool:
    """Must a free decoding bear this answer out? A grammar makes other people's talk a fluent salad
    of the skill's words, every word "sure", or a few of its words among many it was unsure of
    ("[unk] didn't hear" -> repeat); so an answer whose sure words follow none of its phrasings
    closely (Matcher.fit below SELF_EVIDENT_FIT), or with more than SELF_EVIDENT_UNSURE_SHARE of
    its words unsure, is checked. The relief request only when it runs longer than a request (more
    than RELIEF_SELF_EVIDENT_WORDS words, or speech longer than REQUEST_SPAN_S) and follows none of
    its phrasings closely: that is seconds of running talk that named the calf ("is there in a calf
    lot in pause i thanks there"). A shorter one never: in noise its words are the ones the grammar
    still hears and free decoding loses ("help me my leg a cramp" came out "made my living on the
    prom"), and it must not be lost."""
    if match.intent == UNKNOWN:
        return False
    words = text.split()
    loose = matcher.fit(sure_words(text), match.intent) < SELF_EVIDENT_FIT
    if match.intent == RELIEF:
        return loose and (len(words) > RELIEF_SELF_EVIDENT_WORDS or runs_long(spoken_s))
    if said_surely(words, match, spoken_s):
        return False
    return words.count(UNK) > SELF_EVIDENT_UNSURE_SHARE * len(words) or loose


def said_surely(words: list[str], match: Match, spoken_s: float | None) -> bool:
    """Was the answer heard beyond doubt: every word sure, matching at SURE_ANSWER_CONFIDENCE, in speech
    no longer than a request (REQUEST_SPAN_S)? Then a free decoding has nothing to add: it loses the
    rare words the grammar still hears ("do varicose veins give you cramps" came out "do [unk] close
    means gave you promise"), and talk forced onto the grammar runs longer or leaves words unsure.
    Unmeasured span: no."""
    return (UNK not in words and match.confidence >= SURE_ANSWER_CONFIDENCE and spoken_s is not None
            and not runs_long(spoken_s))


def confirmed(free_text: str | None, match: Match, matcher: Understanding) -> bool:
    """Does the audio decoded with no grammar still follow one of the answer's phrasings, if only
    loosely (FREE_FIT)? A request's words mostly survive free decoding ("i'm pregnant and my legs
    dreamt up i"); a salad's do not ("the muscle when the old still stiff again" was "when possible
    within the old still safe again"). None: the engine offers no second opinion, so the grammar's
    reading stands."""
    return free_text is None or matcher.fit(sure_words(free_text), match.intent) >= FREE_FIT


def sure_words(text: str) -> str:
    return " ".join(w for w in text.split() if w != UNK)


def reads_as_request(text: str, match: Match, matcher: Understanding) -> bool:
    """Do the words read as a request rather than talk the grammar forced onto the skill's words? Talk
    comes out as a salad with words Vosk was unsure of ([unk]) that follows no phrasing of its answer;
    so with any unsure word, the words must follow one closely (Matcher.fit). The relief request,
    naming the calf or a cramp, is let through with up to a third of its words unsure: it matters
    most, and through loud talk its words are the ones still heard."""
    words = text.split()
    unsure = words.count(UNK)
    if unsure == 0:
        return True
    if match.intent == RELIEF and matcher.mentions(text).complaint and unsure <= RELIEF_UNSURE_SHARE * len(words):
        return True
    return matcher.fit(sure_words(text), match.intent) >= UNSURE_FIT


def swallowed(text: str) -> bool:
    """Did the grammar's garbage model take most of the utterance ("[unk] [unk]", or nothing at all)?"""
    words = text.split()
    return words.count(UNK) * 2 >= len(words)


def understand(text: str, matcher: Understanding, active: bool, prominences_db: Sequence[float] | None = None,
               confidences: Sequence[float] | None = None) -> tuple[str, Match] | None:
    """The part of an utterance meant for the skill, and its match; None if none of it is.

    Listening without pause, an utterance often starts with the tail of other talk in the room
    ("... the game was good my calf is cramping"), so its endings are tried too (by their words alone,
    never by ear: Matcher.by_words). `prominences_db`:
    for each word, how far the words from it on stood out from what was heard before it
    (Recognizer.prominences_db); `confidences`: how sure Vosk was of each word (Recognizer.confidences);
    either None if not measured."""
    whole = matcher.match(text)
    prominence = standing_out_db(text, prominences_db)
    if is_for_us(text, whole, matcher, active=active, whole=True, prominence_db=prominence,
                 sureness=mean_confidence(text, text, confidences)):
        return text, whole  # the whole utterance is for us: its endings can only say less
    best: tuple[str, Match] | None = None
    for ending in endings(text):
        # by its words alone: a few words cut from the end of talk too easily sound like a command
        # ("masa itu" of "Apa masa itu?", English talk, sounded like "next" by ear in the quiet soak)
        match = matcher.by_words(ending)
        if is_for_us(ending, match, matcher, active=active, whole=False, prominence_db=prominence,
                     sureness=mean_confidence(ending, text, confidences)) and (
                best is None or match.confidence > best[1].confidence):
            best = (ending, match)
    return best


def worth_hearing_again(text: str, matcher: Understanding) -> bool:
    """From idle, is an utterance not taken worth hearing again with the beam turned to its talker
    (listen.HandsFree)? If it names the calf, the leg or a cramp, or has words Vosk was unsure of:
    a request whose first words the beam had not yet turned to comes out so ("my calf just [unk]");
    other talk heard whole and surely is what it was."""
    named = matcher.mentions(text)
    return named.complaint or named.leg or UNK in text.split()


def standing_out_db(text: str, prominences_db: Sequence[float] | None) -> float | None:
    """How far the utterance stood out from what came before it, from its start (an ending answered
    is weighed with the words before it: they are the same person's, or talk it was said over).
    Words Vosk was unsure of ([unk]) at the start may be other talk run into the request, or the
    request's own soft first words ("could", "can"): measured from each of them and from the first
    sure word, the most it stood out by. None if not measured."""
    words = text.split()
    if not words or prominences_db is None or len(prominences_db) != len(words):
        return None
    sure = next((k for k, word in enumerate(words) if word != UNK), len(words) - 1)
    return max(prominences_db[:sure + 1])


def mean_confidence(part: str, utterance: str, confidences: Sequence[float] | None) -> float | None:
    """How surely Vosk heard the words of `part` (the utterance or an ending of it) that it kept, not
    [unk]: the mean of their confidences, `confidences` being the utterance's words'. None if not
    measured, not measured for these words, or no word was kept."""
    words, whole = part.split(), utterance.split()
    if confidences is None or len(confidences) != len(whole) or whole[len(whole) - len(words):] != words:
        return None
    kept = [c for word, c in zip(words, confidences[len(whole) - len(words):]) if word != UNK]
    return sum(kept) / len(kept) if kept else None


def endings(text: str) -> list[str]:
    """The utterance's endings of 2 to MAX_REQUEST_WORDS words, longest first (never the whole)."""
    words = text.split()
    return [" ".join(words[start:]) for start in range(max(1, len(words) - MAX_REQUEST_WORDS), len(words) - 1)]


def is_for_us(text: str, match: Match, matcher: Understanding, *, active: bool, whole: bool,
              prominence_db: float | None = None, sureness: float | None = None) -> bool:
    """Is this meant for the skill? In a conversation, any match will do. From idle, with no wake
    word, it takes more: a confident match, naming the complaint (calf or cramp; a question heard
    whole may name just the leg), with hardly a word Vosk was unsure of (see mostly_sure; none in
    the ending of a longer utterance); and only the relief request may come at the end of other
    talk, a question must be heard whole. The relief request may also be any whole utterance
    stating the complaint outright, calf or leg and cramp together. And it must stand out from what
    came before it (stands_out), a question more than the relief request, which need not if it is a
    whole utterance stating the complaint outright in words like one of its phrasings (matching above
    RELIEF_FLOOR, if loosely: "my calf is cramping again"): "ow ... my calf is cramping" follows the
    person's own groan. Talk at its own level that merely names leg and cramp, like none of its
    phrasings ("leg cramps time [unk]"), must stand out.
    "help" ("what can you do") names no complaint: heard beyond doubt, whole, and standing
    out as a question must, or a TV's "options" and "menu" wake it. And its words must have been heard
    surely (heard_surely)."""
    if match.intent == UNKNOWN:
        return False
    if active:
        return match.confidence >= matcher.threshold
    if not heard_surely(sureness):
        return False
    if match.intent == "help":  # "help" alone may start it: heard beyond doubt, whole, and asked as a question is
        return whole and match.confidence >= HELP_CONFIDENCE and stands_out(prominence_db, QUESTION_PROMINENCE_DB)
    unsure_ok = (mostly_sure(text) or match.intent == RELIEF and trails_off(text, matcher)) if whole \
        else UNK not in text.split()
    named = matcher.mentions(text)
    if not (unsure_ok and (named.complaint or whole and named.leg)):
        return False
    if match.intent == RELIEF:  # a plain statement of the complaint, heard whole, will do too
        stated = whole and named.leg and named.cramp
        plainly = stated and match.confidence > RELIEF_FLOOR  # not merely naming both: like one of its phrasings
        return (match.confidence >= START_CONFIDENCE or stated) and (plainly or stands_out(prominence_db,
                                                                                           RELIEF_PROMINENCE_DB))
    return whole and match.confidence >= QUESTION_CONFIDENCE and stands_out(prominence_db, QUESTION_PROMINENCE_DB)


def heard_surely(sureness: float | None) -> bool:
    """Did Vosk hear the words it kept surely on the whole (their mean confidence, `sureness`, at
    least START_WORD_CONFIDENCE)? Talk the grammar forces onto the skill's words comes out less sure
    than a request said to it ("cramp has calf", each word about 0.5). Unmeasured: no evidence against it."""
    return sureness is None or sureness >= START_WORD_CONFIDENCE


def stands_out(prominence_db: float | None, needed_db: float) -> bool:
    """Was it said after a pause, or over the room? Ordinary talk goes on at its own level and its
    words, forced onto the grammar, now and then make a question; a person asking the device starts
    after a pause, or speaks up over a TV. Unmeasured (None): no evidence against it."""
    return prominence_db is None or prominence_db >= needed_db


def mostly_sure(text: str) -> bool:
    """At most MAX_UNSURE_WORDS words Vosk was unsure of ([unk]), among at least MIN_SURE_WORDS, and
    not the last word. The first is often a softly spoken "could" or "do"; an unsure word at the end
    more often means talk running on after the words that matched (the soak test caught one)."""
    words = text.split()
    unsure = words.count(UNK)
    if unsure == 0:
        return True
    return (unsure <= MAX_UNSURE_WORDS and len(words) - unsure >= MIN_SURE_WORDS
            and words[-1] != UNK)


def trails_off(text: str, matcher: Understanding) -> bool:
    """Does the complaint, stated outright and heard surely, end in words Vosk was unsure of ("ow my
    leg is cramping [unk]": a groan, or "badly" said through the pain)? Only a plain statement of the
    complaint (calf or leg and a cramp) may: talk running on after words that merely matched must not."""
    words = text.split()
    while words and words[-1] == UNK:
        words.pop()
    stated = " ".join(words)
    named = matcher.mentions(stated)
    return len(words) < len(text.split()) and mostly_sure(stated) and named.leg and named.cramp


def as_command(text: str, matcher: Understanding, clipped: Mapping[str, str]) -> Match:
    """The match of words heard over the skill's voice. An utterance that is, whole, what the echo
    canceller leaves of a command (`clipped`: "top" or "up" of "stop", whose quiet unvoiced start its
    suppressor cut) is that command; a longer one containing it is not."""
    intent = clipped.get(text.strip())
    return Match(intent, 1.0) if intent is not None else matcher.match(text)


def interrupts(text: str, match: Match, matcher: Understanding) -> bool:
    """Heard over the skill's own voice (what the echo canceller left of it), is this a command to
    act on at once? A short utterance, every word of it heard surely, matching one of INTERRUPTING
    well; the relief request must also name the calf or the cramp ("ow", one of its phrasings, is
    too easily made of leftover echo)."""
    words = text.split()
    if not 0 < len(words) <= MAX_COMMAND_WORDS or UNK in words:
        return False
    if match.intent not in INTERRUPTING or match.confidence < COMMAND_CONFIDENCE:
        return False
    return match.intent != RELIEF or matcher.mentions(text).complaint
