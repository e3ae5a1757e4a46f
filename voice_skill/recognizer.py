"""Speech to text: one interface, an engine per language (ENGINES). English is Vosk's: finding the
model, and decoding against the skill's own vocabulary; Indonesian is Whisper's (whisper_engine.py),
loaded only when Indonesian is asked for.

By default the recogniser decodes against a runtime grammar built from the knowledge base's
example phrasings (Vosk turns the phrase list into a small bigram language model), with `[unk]`
absorbing every word outside it. In a closed domain that is far more robust to noise than the
model's full vocabulary, and out-of-domain speech comes out as `[unk]` and lands on `unknown`.
"""

from __future__ import annotations

import collections
import ctypes
import functools
import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_skill.audio_in import SAMPLE_RATE
from voice_skill.errors import SkillError
from voice_skill.knowledge import KnowledgeBase
from voice_skill.matcher import normalize
# A word Vosk itself is unsure of is more often noise or out-of-domain speech forced onto the grammar
# than what was said, so it becomes [unk]; and [unk] gets extra weight in the grammar, so that foreign
# words fall to it more readily. Someone talking to the device is the loudest voice in the room: a word
# heard far below the utterance's loudest word is someone else (a TV), and dropped. (Measured: tuning.py.)
from voice_skill.tuning import (BACKGROUND_MARGIN_DB, LOUD_FRAME_PERCENTILE, MIN_WORD_CONFIDENCE, PROMINENCE_FRAME_S,
                                PROMINENCE_GUARD_S, PROMINENCE_LOOKBACK_S, SPOKEN_MARGIN_DB, UNK_WEIGHT)

DEFAULT_MODEL_NAME = "vosk-model-small-en-us-0.15"
PROJECT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
VOSK_CACHE_DIRS = (Path("/usr/share/vosk"), Path.home() / ".cache" / "vosk")
MODEL_MARKERS = ("am/final.mdl", "conf/model.conf")
UNK = "[unk]"
# Kaldi dithers every audio frame with Gaussian noise drawn from the C library's process-wide rand(),
# so without a fixed seed the same audio decodes differently depending on how much audio the process
# decoded before (word confidences moved by up to 0.1, enough to change transcripts: the test suite's
# soak failed one run in three for that reason alone). Each stream starts from this seed.
DITHER_SEED = 1
RECENT_AUDIO_S = 30.0  # how much audio is kept to measure words by: longer than any utterance

MODEL_LANGUAGE = "en"  # the language the model hears: the grammar is built from its phrasings


def is_model_dir(path: Path) -> bool:
    return all((path / marker).is_file() for marker in MODEL_MARKERS)


def find_model(explicit: str | Path | None = None) -> Path:
    """The model to use: --model, then $VOSK_MODEL_PATH, then models/, then vosk's own cache."""
    if explicit is not None:
        path = Path(explicit)
        if not is_model_dir(path):
            raise SkillError(f"{path}: not a Vosk model directory (expected {' and '.join(MODEL_MARKERS)})")
        return path
    env = os.environ.get("VOSK_MODEL_PATH")
    if env:
        path = Path(env)
        if is_model_dir(path):
            return path
        found = _model_in(path)
        if found:
            return found
        raise SkillError(f"VOSK_MODEL_PATH={env} holds no Vosk model")
    for directory in (PROJECT_MODELS_DIR, *VOSK_CACHE_DIRS):
        found = _model_in(directory)
        if found:
            return found
    raise SkillError("no Vosk model found; get one with: voice-skill model fetch")


def _model_in(directory: Path) -> Path | None:
    """The default model in `directory` if it is there, else any English model found in it."""
    if not directory.is_dir():
        return None
    preferred = directory / DEFAULT_MODEL_NAME
    if is_model_dir(preferred):
        return preferred
    candidates = sorted(p for p in directory.iterdir() if p.name.startswith("vosk-model") and "en" in p.name)
    return next((p for p in candidates if is_model_dir(p)), None)


def load_model(path: Path):
    """Load a Vosk model quietly (Kaldi's log lines are not for the user)."""
    import vosk

    vosk.SetLogLevel(-1)
    try:
        return vosk.Model(str(path))
    except Exception:  # vosk raises a bare Exception when the files are not a usable model
        raise SkillError(f"{path}: Vosk could not load this model (damaged or not a model)") from None


def grammar_phrases(kb: KnowledgeBase, model, intents: Iterable[str] | None = None) -> list[str]:
    """The phrase list for Vosk's runtime grammar, from the knowledge base, in the model's words.

    All intents and the common words around a request by default; with `intents`, only those
    intents' phrasings: the narrow grammar heard while the skill speaks, where every extra word is
    something its own leftover echo could be taken for."""
    chosen = kb.entries.values() if intents is None else [kb.entries[intent] for intent in intents]
    phrases: list[str] = []
    for entry in chosen:
        phrases += entry.examples[MODEL_LANGUAGE]
        phrases += entry.keywords[MODEL_LANGUAGE]
    if intents is None:
        phrases += kb.vocabularies[MODEL_LANGUAGE].request_words  # "can you tell me ...": heard as said
    else:  # what is left of them over its voice ("top" of "stop"): a form heard, to be read as the command
        phrases += list(kb.clipped(MODEL_LANGUAGE, intents))
    known: list[str] = []
    for phrase in phrases:
        words = [w for w in _speech_words(phrase) if model.vosk_model_find_word(w) >= 0]
        if words:
            known.append(" ".join(words))
    return sorted(set(known)) + [UNK] * UNK_WEIGHT + [f"{UNK} {UNK}"] * (UNK_WEIGHT - 1)


def without_garbage(grammar: list[str]) -> list[str]:
    """The phrase list with its garbage model ([unk]) left out: every sound must be one of its words."""
    return [phrase for phrase in grammar if UNK not in phrase.split()]


def _speech_words(phrase: str) -> list[str]:
    # Keep apostrophes: the model spells "what's" and "i'm" with them.
    return [w for w in phrase.lower().replace("\u2019", "'").split() if normalize(w)]


@dataclass(frozen=True)
class Heard:
    text: str
    final: bool


@dataclass(frozen=True)
class Reheard:
    """An utterance heard again (Utterances.hear_again): its words and, for each, how far the words
    from it on stood out (prominences_db) and how sure Vosk was of it (confidences); None: not measured."""

    text: str
    prominences_db: list[float] | None = None
    confidences: list[float] | None = None


class Utterances:
    """What every engine offers: accept() audio chunks as they come, finish() at the end of a stream
    or at our own endpoint, reset() to forget; and, built on those, transcribe() a whole stream."""

    def accept(self, chunk: bytes) -> Heard:
        raise NotImplementedError

    def finish(self) -> str:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def reread(self, chunks: Iterable[bytes]) -> str:
        """The audio read again without the grammar's garbage model; '' from an engine that has none
        (see Recognizer.reread)."""
        return ""

    def hear_freely(self, chunks: Iterable[bytes]) -> str | None:
        """The audio read again with no grammar, for a second opinion; None from an engine that has
        no grammar to be second-guessed (see Recognizer.hear_freely)."""
        return None

    def spoken_s(self) -> float | None:
        """How long the loudest talker's speech since the last reset ran, in seconds; None from an
        engine that does not say (see Recognizer.spoken_s)."""
        return None

    def prominences_db(self) -> list[float] | None:
        """For each word of the last finished utterance, how far the words from it on stood out from
        what was heard just before it, in dB; None from an engine that does not measure it (see
        Recognizer.prominences_db)."""
        return None

    def confidences(self) -> list[float] | None:
        """For each word of the last finished utterance, how sure the engine was of it (0 to 1); None
        from an engine that does not say (see Recognizer.confidences)."""
        return None

    def hear_again(self, chunks: Iterable[bytes]) -> Reheard | None:
        """Audio decoded by a twin of this decoder, this one's stream left as it is: the last
        utterance's words, how far each stood out and how surely it was heard; None from an engine
        that offers no twin (see Recognizer.hear_again)."""
        return None

    def transcribe(self, chunks: Iterable[bytes]) -> str:
        """Every utterance in a stream, joined: what a recording says (the same, whatever came before)."""
        self.reset()
        utterances = [heard.text for chunk in chunks if (heard := self.accept(chunk)).final]
        utterances.append(self.finish())
        return " ".join(u for u in utterances if u)


# Which engine hears which language. Vosk has no Indonesian model; Whisper hears English through
# background talk no better than Vosk and 10-20 times slower (issue 14), so each keeps its language.
ENGINES = {"en": "vosk", "id": "whisper"}


def open_recognizer(lang: str, kb: KnowledgeBase | None, model_path: Path | None = None) -> Utterances:
    """The recogniser for `lang`, its model loaded; with a knowledge base, steered by its phrasings
    (Vosk's grammar, Whisper's prompt), else free speech."""
    if ENGINES[lang] == "whisper":
        from voice_skill.whisper_engine import open_whisper  # faster-whisper loads only for Indonesian

        return open_whisper(kb, model_path)
    model = load_model(find_model(model_path))
    return Recognizer(model, grammar_phrases(kb, model) if kb else None)


class Recognizer(Utterances):
    """A Vosk decoder for one audio stream; `grammar` is the phrase list, or None for free speech."""

    def __init__(self, model, grammar: list[str] | None = None, min_word_confidence: float = MIN_WORD_CONFIDENCE) -> None:
        import vosk

        self.model = model  # a second decoder (barge-in's) shares it rather than loading another copy
        self.grammar = grammar
        self.min_word_confidence = min_word_confidence  # a word Vosk is less sure of is read as [unk]
        args = (model, SAMPLE_RATE) if grammar is None else (model, SAMPLE_RATE, json.dumps(grammar))
        self._decoder = vosk.KaldiRecognizer(*args)
        self._decoder.SetWords(True)  # per-word confidences and times, for _final_text
        self._recent = RecentAudio(RECENT_AUDIO_S)
        self._rereader: Recognizer | None = None
        self._free: Recognizer | None = None
        self._twin: Recognizer | None = None
        self.last_words: list[dict] = []  # the last finished utterance's words (Vosk's, with "level" in dB)
        self._stream_words: list[dict] = []  # every word since the reset (the last RECENT_AUDIO_S), for spoken_s
        seed_dither()

    def accept(self, chunk: bytes) -> Heard:
        """Feed audio; returns the text so far (partial) or a finished utterance (final)."""
        self._recent.add(chunk)
        if self._decoder.AcceptWaveform(chunk):
            return Heard(self._final_text(self._decoder.Result()), final=True)
        return Heard(json.loads(self._decoder.PartialResult()).get("partial", "").strip(), final=False)

    def finish(self) -> str:
        """End the current utterance (end of stream, or our own endpoint) and return its text."""
        return self._final_text(self._decoder.FinalResult())

    def _final_text(self, result_json: str) -> str:
        """The utterance's words said by the loudest talker, each one Vosk is unsure of as [unk]."""
        words = json.loads(result_json).get("result", [])
        levels = [self._recent.level_db(w["start"], w["end"]) for w in words]
        measured = [w | {"level": level} for w, level in zip(words, levels)]
        self.last_words = foreground(measured, levels)
        self._remember_words(measured)
        return " ".join(w["word"] if w.get("conf", 1.0) >= self.min_word_confidence else UNK for w in self.last_words)

    def _remember_words(self, words: list[dict]) -> None:
        if words:
            recent_from = words[-1]["end"] - RECENT_AUDIO_S  # older words can no longer be measured anyway
            self._stream_words = [w for w in self._stream_words + words if w["end"] >= recent_from]

    def spoken_s(self) -> float | None:
        """How long the speech since the last reset ran: from the first to the last word of the loudest
        talker (the words within SPOKEN_MARGIN_DB of the loudest one, over every utterance), in
        seconds; 0.0 if no word was heard. A request said on its own is over in a few seconds; four
        seconds of running talk fill most of theirs (a long [unk] over a pause is quieter than words)."""
        spoken = foreground(self._stream_words, [w["level"] for w in self._stream_words], SPOKEN_MARGIN_DB)
        return spoken[-1]["end"] - spoken[0]["start"] if spoken else 0.0

    def prominences_db(self) -> list[float] | None:
        """For each word of the last finished utterance, how far the words from it on stand out from
        what the microphone heard just before it: the level of their loud frames (LOUD_FRAME_PERCENTILE)
        over that of the loud frames in the PROMINENCE_LOOKBACK_S before the word, in dB. Someone
        speaking to a device starts after a pause or speaks up over the room; talk that goes on at its
        own level stands out by about nothing. Audio not heard (before a reset) counts as silence."""
        if not self.last_words:
            return None
        end = self.last_words[-1]["end"]
        return [self._standing_out_db(word["start"], end) for word in self.last_words]

    def confidences(self) -> list[float] | None:
        """Vosk's confidence in each word of the last finished utterance (a word under
        min_word_confidence is in its text as [unk]); None if it had none."""
        return [word.get("conf", 1.0) for word in self.last_words] if self.last_words else None

    def _standing_out_db(self, start: float, end: float) -> float:
        before = self._recent.frame_levels_db(start - PROMINENCE_LOOKBACK_S, start - PROMINENCE_GUARD_S,
                                              PROMINENCE_FRAME_S)
        during = self._recent.frame_levels_db(start, end, PROMINENCE_FRAME_S)
        loud_before = float(np.percentile(before, LOUD_FRAME_PERCENTILE)) if before.size else 0.0
        return (float(np.percentile(during, LOUD_FRAME_PERCENTILE)) if during.size else 0.0) - loud_before

    def reset(self) -> None:
        """Forget the utterance under way and the audio before it: after a reset (a new stream, or the
        skill's own voice dying away) what came before is no one's talk to weigh a request against."""
        self._decoder.Reset()
        self._recent.forget()
        self._stream_words = []
        seed_dither()

    def reread(self, chunks: Iterable[bytes]) -> str:
        """The audio decoded again with the garbage model left out. Under one fluent talker, [unk]'s
        phone loop can fit the mixture better than any phrase and swallow a whole request ("i have a
        cramp in my leg" -> "[unk]"); made to choose among the skill's words, the decoder gives the
        request back, but it also forces other talk onto them, so only the caller's rules may decide
        what a second reading is worth (voice_skill.for_us.answer). Its decoder shares the model and
        is made the first time it is asked for."""
        if self.grammar is None:
            return ""
        if self._rereader is None:
            self._rereader = Recognizer(self.model, without_garbage(self.grammar))
        return self._rereader.transcribe(chunks)

    def hear_again(self, chunks: Iterable[bytes]) -> Reheard | None:
        """Audio heard again (the live loop's last seconds, beamformed anew: listen.HandsFree) by a
        decoder with this one's grammar, made the first time it is asked for: the last utterance in
        it is the one that ended last, the one heard again; with it, how far its words stood out
        from the audio before them and how surely each was heard."""
        if self._twin is None:
            self._twin = Recognizer(self.model, self.grammar, self.min_word_confidence)
        twin = self._twin
        twin.reset()
        last = Reheard("")
        for chunk in chunks:
            if (heard := twin.accept(chunk)).final and heard.text:
                last = Reheard(heard.text, twin.prominences_db(), twin.confidences())
        if text := twin.finish():
            last = Reheard(text, twin.prominences_db(), twin.confidences())
        return last

    def hear_freely(self, chunks: Iterable[bytes]) -> str | None:
        """The audio decoded again with the model's whole vocabulary and no grammar. A grammar makes
        every sound one of its words, so other people's talk comes out as a fluent salad of the
        skill's words, each one "sure"; decoded freely, that talk comes out as what it was, while a
        request's words come out again. About three times the grammar's CPU time (tuning.FREE_FIT), so
        the caller asks only when the grammar's answer needs it (voice_skill.for_us.needs_second_opinion). Its decoder shares the
        model and is made the first time it is asked for; None if this recogniser has no grammar."""
        if self.grammar is None:
            return None
        if self._free is None:
            self._free = Recognizer(self.model)
        return self._free.transcribe(chunks)


def seed_dither() -> None:
    """Make the decoding of what follows reproducible (see DITHER_SEED)."""
    _libc().srand(DITHER_SEED)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None)  # the process's own C library: the one Kaldi's rand() draws from


def foreground(words: list[dict], levels_db: list[float], margin_db: float | None = None) -> list[dict]:
    """The words within margin_db of the loudest one: those of the person talking to the device."""
    if not words:
        return words
    floor = max(levels_db) - (BACKGROUND_MARGIN_DB if margin_db is None else margin_db)
    return [word for word, level in zip(words, levels_db) if level >= floor]


class RecentAudio:
    """The last few seconds of a stream, addressed by time since the stream began (as Vosk's word
    times are: they count every sample fed, across resets)."""

    def __init__(self, seconds: float) -> None:
        self._keep = int(seconds * SAMPLE_RATE)
        self._chunks: collections.deque[tuple[int, np.ndarray]] = collections.deque()  # (first sample, samples)
        self._fed = 0  # samples fed since the stream began

    def add(self, chunk: bytes) -> None:
        samples = np.frombuffer(chunk, dtype="<i2").astype(np.float32)
        self._chunks.append((self._fed, samples))
        self._fed += len(samples)
        while self._chunks and self._chunks[0][0] + len(self._chunks[0][1]) < self._fed - self._keep:
            self._chunks.popleft()

    def forget(self) -> None:
        """Drop the audio kept so far; time goes on counting from where it was."""
        self._chunks.clear()

    def frame_levels_db(self, start_s: float, end_s: float, frame_s: float) -> np.ndarray:
        """The power of each whole frame of frame_s in the stretch, in dB; empty if none is kept."""
        stretch = self._stretch(start_s, end_s)
        size = max(1, int(frame_s * SAMPLE_RATE))
        frames = stretch[: len(stretch) // size * size].reshape(-1, size)
        return 10 * np.log10(np.mean(frames * frames, axis=1) + 1.0)

    def _stretch(self, start_s: float, end_s: float) -> np.ndarray:
        """The samples kept from start_s to end_s (stream time); empty if none are."""
        first, last = int(start_s * SAMPLE_RATE), int(end_s * SAMPLE_RATE)
        parts = [samples[max(first - at, 0):last - at] for at, samples in self._chunks
                 if at < last and at + len(samples) > first]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def level_db(self, start_s: float, end_s: float) -> float:
        """Mean power of the stretch, in dB (full-scale int16 is about 90 dB); -inf if none of it is kept."""
        stretch = self._stretch(start_s, end_s)
        if not stretch.size:
            return float("-inf")
        return 10 * math.log10(float(np.mean(stretch * stretch)) + 1.0)
