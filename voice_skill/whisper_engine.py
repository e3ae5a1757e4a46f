"""Indonesian speech to text: Whisper (faster-whisper on CTranslate2), behind a voice-activity detector.

Vosk publishes no Indonesian model, so Indonesian is heard by OpenAI's multilingual Whisper (base,
float32 on the CPU). Whisper is a whole-utterance decoder and, given silence or noise, it invents
text (with a domain prompt it repeats the prompt: 4 s of silence came out "Berhenti."). So:
- Silero VAD (the copy bundled with faster-whisper) listens to every 32 ms of audio; only what it
  calls speech is ever decoded, and an utterance ends after ENDPOINT_SILENCE_MS of non-speech.
- The encoder hears a 10 s window, not Whisper's 30 s (a third of the work, as accurate on the dev
  recordings), and decoding begins at each 200 ms pause, while the endpoint still waits.
- The decoder is steered by a prompt made of the knowledge base's own Indonesian phrasings.
- What comes back is checked before it counts: a segment Whisper itself thinks is no speech, or
  decodes with very low probability, or that loops, or that repeats the prompt (several of its
  sentences, or one decoded without real confidence), is dropped; and a control (it moves the steps)
  counts only if the decoder's n-best hypotheses mostly mean it too.
- Short speech the first listen placed nowhere is heard a second time against the controls'
  phrasings alone (a command is short, and Whisper base knows few of them by ear).
The recogniser has the same face as the Vosk one (accept/finish/reset/transcribe), so files and the
hands-free loop use it unchanged; it gives no partial text, only finished utterances.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_skill.audio_in import SAMPLE_RATE
from voice_skill.errors import SkillError
from voice_skill.knowledge import KnowledgeBase
from voice_skill.matcher import CONTROLS, RELIEF, UNKNOWN, Matcher, normalize
from voice_skill.recognizer import PROJECT_MODELS_DIR, Heard, Utterances
from voice_skill.tuning import (AVG_LOGPROB_MIN, COMPRESSION_RATIO_MAX, CONFIRM_BEAM, CONFIRM_SHARE,
                                CONTROL_RETRY_LOGPROB_MIN, CONTROL_RETRY_MAX_S, ENCODER_MARGIN_S, ENCODER_WINDOW_S,
                                ENDPOINT_SILENCE_MS, MAX_REPEATS, MAX_UTTERANCE_S, MAX_WORDS_PER_S, MIN_SPEECH_MS,
                                MIN_TOKENS, NO_SPEECH_MAX, OTHER_LANGUAGE_MAX, PAUSE_DECODE_MS, PRE_ROLL_MS,
                                PROMPT_ECHO_LOGPROB_MIN, PROMPT_EXAMPLES, SILENCE_PROB, SPEECH_PROB, TOKENS_PER_S)

WHISPER_MODEL_NAME = "whisper-base"
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
FETCH_HINT = "voice-skill model fetch --lang id"
LANGUAGE = "id"
OTHER_LANGUAGE = "en"  # the talk most likely in the room: the skill's other language
# float32, not int8: CTranslate2's int8 arithmetic differs with the CPU (Intel MKL on Intel; another
# library on AMD), and so do its scores and words. The thresholds here were tuned on Intel machines; on
# an AMD EPYC (AVX2) with int8 the held-out relief requests fell from 19 to 17 of 22, and the suite's
# floor (tests/test_indonesian.py) failed. float32 passes it there (71 s for the check set against int8's
# 50 s); forcing MKL on AMD (CT2_USE_MKL=1) passed too, but took 539 s.
COMPUTE_TYPE = "float32"

# Silero VAD, run on 512-sample windows (32 ms at 16 kHz) with 64 samples of context, as it was trained.
VAD_WINDOW = 512
VAD_CONTEXT = 64
FULL_WINDOW_S = 30  # Whisper's own input: 30 s of audio, 100 mel frames a second
FRAMES_PER_S = 100



def is_whisper_dir(path: Path) -> bool:
    return all((path / name).is_file() for name in MODEL_FILES)


def find_whisper_model(explicit: str | Path | None = None) -> Path:
    """The Whisper model: --model, else $WHISPER_MODEL_PATH, else models/whisper-base."""
    if explicit is not None:
        path = Path(explicit)
    elif os.environ.get("WHISPER_MODEL_PATH"):
        path = Path(os.environ["WHISPER_MODEL_PATH"])
    else:
        path = PROJECT_MODELS_DIR / WHISPER_MODEL_NAME
    if is_whisper_dir(path):
        return path
    raise SkillError(f"no Whisper model for Indonesian at {path} (expected {', '.join(MODEL_FILES)}); "
                     f"get it with: {FETCH_HINT}")


def load_whisper(path: Path):
    """Load the model for the CPU (COMPUTE_TYPE), one thread per core; SkillError if the files are unusable."""
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(str(path), device="cpu", compute_type=COMPUTE_TYPE, cpu_threads=os.cpu_count() or 1)
    except (RuntimeError, ValueError, OSError) as error:
        raise SkillError(f"{path}: the Whisper model could not be loaded ({str(error).splitlines()[0]}); "
                         f"fetch it again: {FETCH_HINT}") from None


def domain_prompt(kb: KnowledgeBase, lang: str = LANGUAGE, counts: dict[str, int] = PROMPT_EXAMPLES) -> str:
    """The words the skill expects, as sentences Whisper reads as what came before: example phrasings
    from responses/. Whisper then spells "kram" and "betis" as the knowledge base does, instead of
    "meti siak ram" (measured: bench/indonesian.py)."""
    def kind(intent: str) -> str:
        return RELIEF if intent == RELIEF else "control" if intent in CONTROLS else "question"

    order = {"question": 0, "control": 1, RELIEF: 2}
    entries = sorted(kb.entries.values(), key=lambda e: order[kind(e.intent)])
    sentences = [example[:1].upper() + example[1:] + "." for entry in entries
                 for example in entry.examples[lang][:counts[kind(entry.intent)]]]
    return " ".join(sentences)


def _longest_run(items: list) -> int:
    """The most times one item comes in a row."""
    longest = run = 0
    for i, item in enumerate(items):
        run = run + 1 if i and item == items[i - 1] else 1
        longest = max(longest, run)
    return longest


def _sentences(text: str) -> list[tuple[str, ...]]:
    return [tuple(normalize(s)) for s in re.split(r"[.?!]", text) if normalize(s)]


class SpeechDetector:
    """Streaming Silero VAD: feed 16 kHz float samples, get back finished utterances' audio."""

    def __init__(self, on_pause: Callable[[np.ndarray], None] | None = None) -> None:
        from faster_whisper.vad import get_vad_model

        self._session = get_vad_model().session  # the ONNX model; we keep its state across calls
        self.on_pause = on_pause  # called with the speech so far once PAUSE_DECODE_MS of it are silent
        self.reset()

    def reset(self) -> None:
        self._pending = np.zeros(0, np.float32)  # samples not yet a whole window
        self._context = np.zeros(VAD_CONTEXT, np.float32)
        self._state = (np.zeros((1, 1, 128), np.float32), np.zeros((1, 1, 128), np.float32))
        self._history: list[np.ndarray] = []  # recent windows before speech (pre-roll)
        self._speech: list[np.ndarray] = []
        self._in_speech = False
        self._speech_windows = 0
        self._silent_windows = 0

    def feed(self, samples: np.ndarray) -> list[np.ndarray]:
        """Add audio; returns the utterances (speech audio) that ended within it."""
        self._pending = np.concatenate([self._pending, samples])
        whole = len(self._pending) // VAD_WINDOW * VAD_WINDOW
        if whole == 0:
            return []
        windows = self._pending[:whole].reshape(-1, VAD_WINDOW)
        self._pending = self._pending[whole:]
        done = []
        for window, prob in zip(windows, self._probabilities(windows)):
            utterance = self._step(window, float(prob))
            if utterance is not None:
                done.append(utterance)
        return done

    def flush(self) -> np.ndarray | None:
        """End of stream: the utterance in progress, if it is long enough to be speech."""
        utterance = self._close() if self._in_speech else None
        self.reset()
        return utterance

    def _probabilities(self, windows: np.ndarray) -> np.ndarray:
        contexts = np.vstack([self._context, windows[:-1, -VAD_CONTEXT:]])
        self._context = windows[-1, -VAD_CONTEXT:].copy()
        batch = np.concatenate([contexts, windows], axis=1)
        probs, h, c = self._session.run(None, {"input": batch, "h": self._state[0], "c": self._state[1]})
        self._state = (h, c)
        return np.asarray(probs).reshape(-1)

    def _step(self, window: np.ndarray, prob: float) -> np.ndarray | None:
        if not self._in_speech:
            self._history = (self._history + [window])[-_windows(PRE_ROLL_MS):]
            if prob >= SPEECH_PROB:
                self._in_speech, self._speech = True, list(self._history)
                self._speech_windows, self._silent_windows = 1, 0
            return None
        self._speech.append(window)
        if prob >= SILENCE_PROB:
            self._speech_windows += prob >= SPEECH_PROB
            self._silent_windows = 0
        else:
            self._silent_windows += 1
            if self._silent_windows == _windows(PAUSE_DECODE_MS) and self.on_pause and self._long_enough():
                self.on_pause(np.concatenate(self._speech))
        too_long = len(self._speech) * VAD_WINDOW >= MAX_UTTERANCE_S * SAMPLE_RATE
        if self._silent_windows >= _windows(ENDPOINT_SILENCE_MS) or too_long:
            return self._close()
        return None

    def _long_enough(self) -> bool:
        return self._speech_windows >= _windows(MIN_SPEECH_MS)

    def _close(self) -> np.ndarray | None:
        speech, long_enough = self._speech, self._long_enough()
        self._in_speech, self._speech, self._history = False, [], []
        return np.concatenate(speech) if long_enough and speech else None


def _windows(ms: float) -> int:
    return max(1, round(ms * SAMPLE_RATE / 1000 / VAD_WINDOW))


@dataclass
class DecodeOptions:
    """How Whisper decodes: greedy at temperature 0 (no fallback: latency stays predictable).
    With `meaning` (text to intent), a transcript meaning one of `confirm` (the controls, which move
    the steps) is acted on only if the decoder's n-best hypotheses mostly mean it too."""

    beam_size: int = 1
    prompt: str | None = None
    window_s: int = ENCODER_WINDOW_S
    meaning: Callable[[str], str] | None = None
    confirm: frozenset[str] = frozenset()
    control_prompt: str | None = None  # a second listen, for short speech the first placed nowhere
    unplaced: Callable[[str], bool] = lambda text: False  # text that names no answer by its phrasing
    # what the second listen's readings mean: by their words alone (steered to the controls this hard,
    # Whisper writes talk as near-commands, so a reading only sounding like one is none); None: `meaning`
    words_meaning: Callable[[str], str] | None = None


@dataclass(frozen=True)
class Decoded:
    """One hypothesis, with the figures the guards judge it by (as faster-whisper reports a segment)."""

    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    logprob: float  # of the whole hypothesis: how likely it is against the others


def encoder_frames(samples: int, window_s: int = ENCODER_WINDOW_S) -> int:
    """Mel frames the encoder sees: `window_s` for an utterance that fits in it with room to spare
    (at 10 s, a third of the work of Whisper's 30 s window), else the full window."""
    seconds = window_s if samples / SAMPLE_RATE <= window_s - ENCODER_MARGIN_S else FULL_WINDOW_S
    return seconds * FRAMES_PER_S


class WhisperRecognizer(Utterances):
    """Indonesian speech in: the VAD finds each utterance, Whisper decodes it, the guards check it."""

    def __init__(self, model, options: DecodeOptions | None = None) -> None:
        self.model = model
        self.options = options or DecodeOptions()
        self.detector = SpeechDetector(on_pause=self._decode_at_pause)
        self._paused: tuple[np.ndarray, str] | None = None  # speech decoded at a pause, and its text
        self._prompt_sentences = set(_sentences(self.options.prompt or ""))
        self._control_sentences = set(_sentences(self.options.control_prompt or ""))
        self._start = self._start_tokens(self.options.prompt) if model is not None else []
        self._control_start = (self._start_tokens(self.options.control_prompt)
                               if model is not None and self.options.control_prompt else [])
        self.last_rejection = ""  # why the last utterance was dropped (for the benchmark's report)

    def accept(self, chunk: bytes) -> Heard:
        samples = np.frombuffer(chunk, dtype="<i2").astype(np.float32) / 32768
        texts = [self._text_of(utterance) for utterance in self.detector.feed(samples)]
        return Heard(" ".join(t for t in texts if t), final=bool(texts))

    def finish(self) -> str:
        utterance = self.detector.flush()
        return self.decode(utterance) if utterance is not None else ""

    def reset(self) -> None:
        self.detector.reset()
        self._paused = None

    def _decode_at_pause(self, speech: np.ndarray) -> None:
        """Decode while the endpoint is still waiting: if the pause becomes the end, the text is ready."""
        self._paused = (speech, self.decode(speech))

    def _text_of(self, utterance: np.ndarray) -> str:
        """The utterance's text: decoded at its last pause if nothing but that pause's silence came since."""
        if self._paused is not None:
            speech, text = self._paused
            self._paused = None
            silence_since = (_windows(ENDPOINT_SILENCE_MS) - _windows(PAUSE_DECODE_MS)) * VAD_WINDOW
            if len(utterance) == len(speech) + silence_since and np.array_equal(utterance[:len(speech)], speech):
                return text
        return self.decode(utterance)

    def _start_tokens(self, prompt_text: str | None) -> list[int]:
        """What the decoder is given before the speech: the prompt (its last tokens, as Whisper keeps
        them), then Indonesian, transcribe, no timestamps."""
        from faster_whisper.tokenizer import Tokenizer

        self.tokenizer = Tokenizer(self.model.hf_tokenizer, True, task="transcribe", language=LANGUAGE)
        prompt = self.tokenizer.encode(" " + prompt_text.strip()) if prompt_text else []
        before = [self.tokenizer.sot_prev, *prompt[-(self.model.max_length // 2 - 1):]] if prompt else []
        return before + list(self.tokenizer.sot_sequence) + [self.tokenizer.no_timestamps]

    def decode(self, audio: np.ndarray) -> str:
        """Whisper on one utterance: its best hypothesis, if it passes the guards (and, for a control,
        the n-best check)."""
        import ctranslate2
        from faster_whisper.audio import pad_or_trim

        seconds = len(audio) / SAMPLE_RATE
        features = pad_or_trim(self.model.feature_extractor(audio), encoder_frames(len(audio), self.options.window_s))
        encoded = self.model.model.encode(ctranslate2.StorageView.from_array(features[None]))
        other = self._other_language_probability(encoded)
        if other >= OTHER_LANGUAGE_MAX:  # English talk: whatever the prompt makes of it is invented
            self.last_rejection = f"{OTHER_LANGUAGE} talk (p={other:.2f})"
            return ""
        max_length = len(self._start) + MIN_TOKENS + int(TOKENS_PER_S * seconds)
        best = self._hypotheses(encoded, max_length, self.options.beam_size, 1)[0]
        reason = self._rejection(best, seconds)
        once = self._said_once(encoded, best, len(audio)) if reason == "repetitive" else None
        if once is not None:  # judged again as the one sentence, by its own probability
            best, reason = once, self._rejection(once, seconds)
        if not reason and self._needs_confirming(best.text):
            reason = self._unconfirmed(best.text, self._hypotheses(encoded, max_length, CONFIRM_BEAM, CONFIRM_BEAM))
        if self._control_start and seconds <= CONTROL_RETRY_MAX_S and (reason or self.options.unplaced(best.text)):
            # a control heard now replaces an action (the steps) only if it is the likelier reading
            acts = not reason and self.options.meaning(best.text) != UNKNOWN
            control = self._control_heard(encoded, seconds, best.avg_logprob if acts else None)
            if control:
                return control
        if reason:
            self.last_rejection = f"{reason}: {best.text!r}"
            return ""
        return best.text

    def _other_language_probability(self, encoded) -> float:
        """How sure Whisper's own language detection is that the utterance is OTHER_LANGUAGE. Steered by
        the prompt, Whisper writes English talk as the domain's Indonesian ("Betis saya kram. Kami saya
        kram." for a sentence of English), which may pass every other guard; its language detection,
        which sees the audio before any prompt, still hears English."""
        found = dict(self.model.model.detect_language(encoded)[0])
        return float(found.get(f"<|{OTHER_LANGUAGE}|>", 0.0))

    def _said_once(self, encoded, looped: Decoded, samples: int) -> Decoded | None:
        """A loop of one sentence ("Apa itu kram betis." four times for one "apa itu kram betis", the last
        copy maybe cut off) as that sentence once, with the probability the decoder gives its first copy
        after the same prompt (CTranslate2's align; the later copies are near certain, so the loop's own
        average says little); None if the text is not such a loop."""
        from faster_whisper.transcribe import get_compression_ratio

        pieces = [p.strip() for p in re.findall(r"[^.?!]+[.?!]?", looped.text) if normalize(p)]
        said = [" ".join(normalize(p)) for p in pieces]
        if len(said) < 2 or any(s != said[0] for s in said[1:-1]) or not said[0].startswith(said[-1]):
            return None  # the last copy may be cut off anywhere, even mid-word
        # its own tokens only: the end token is what a loop makes improbable (e^-27 after "Apa itu kram betis.")
        tokens = self.tokenizer.encode(" " + pieces[0])
        probs = self.model.model.align(encoded, self._start, [tokens], samples // (SAMPLE_RATE // FRAMES_PER_S))[0]
        logprobs = np.log(np.maximum(np.array(probs.text_token_probs), 1e-12))
        return Decoded(pieces[0], float(logprobs.mean()), looped.no_speech_prob, get_compression_ratio(pieces[0]),
                       float(logprobs.sum()))

    def _control_heard(self, encoded, seconds: float, to_beat: float | None) -> str:
        """Short speech the first listen placed nowhere (dropped, unknown, or about cramps but like no
        phrasing), heard again against the controls' phrasings alone: a control, surer than the guards
        ask of any text (steered this hard, Whisper makes commands of talk), confirmed by the n-best as
        any is, and more probable than `to_beat` (the first reading's average log-probability)."""
        max_length = len(self._control_start) + MIN_TOKENS + int(TOKENS_PER_S * seconds)
        hypotheses = self._hypotheses(encoded, max_length, CONFIRM_BEAM, CONFIRM_BEAM, self._control_start)
        # The first reading in the n-best that is a control; readings that mean nothing ("Okamarikutia."
        # for "oke berikutnya") neither confirm nor contradict it, readings that mean something else do.
        meaning = self.options.words_meaning or self.options.meaning
        top = next((h for h in hypotheses if meaning(h.text) in self.options.confirm), None)
        if top is None:
            return ""
        meaningful = [h for h in hypotheses if meaning(h.text) != UNKNOWN]
        reason = (self._rejection(top, seconds, self._control_sentences)
                  or ("improbable" if top.avg_logprob < CONTROL_RETRY_LOGPROB_MIN else "")
                  or self._unconfirmed(top.text, meaningful, meaning)
                  or ("less probable" if to_beat is not None and top.avg_logprob <= to_beat else ""))
        return "" if reason else top.text

    def _hypotheses(self, encoded, max_length: int, beam: int, count: int,
                    start: list[int] | None = None) -> list[Decoded]:
        from faster_whisper.transcribe import get_compression_ratio

        result = self.model.model.generate(encoded, [start or self._start], beam_size=beam, num_hypotheses=count,
                                           max_length=max_length, return_scores=True, return_no_speech_prob=True)[0]
        decoded = []
        for tokens, score in zip(result.sequences_ids, result.scores):
            text = self.tokenizer.decode([t for t in tokens if t < self.tokenizer.eot]).strip()
            # the score is the sum of log-probabilities over the tokens; Whisper's average counts the end token
            total = score * len(tokens)
            decoded.append(Decoded(text, total / (len(tokens) + 1), result.no_speech_prob, get_compression_ratio(text),
                                   total))
        return decoded

    def _needs_confirming(self, text: str) -> bool:
        return self.options.meaning is not None and self.options.meaning(text) in self.options.confirm

    def _unconfirmed(self, text: str, hypotheses: list[Decoded], meaning: Callable[[str], str] | None = None) -> str:
        """'' if most of the n-best hypotheses' probability mass means what `text` means: "ulangi" decoded
        "Berhenti." would otherwise stop the steps, and a wrong stop is worse than none."""
        meaning = meaning or self.options.meaning
        logprobs = np.array([h.logprob for h in hypotheses])
        weights = np.exp(logprobs - logprobs.max())
        meant = meaning(text)
        agreeing = sum(w for w, h in zip(weights, hypotheses) if meaning(h.text) == meant)
        return "" if agreeing / weights.sum() >= CONFIRM_SHARE else f"unconfirmed {meant}"

    def _rejection(self, segment, seconds: float, prompt_sentences: set[tuple[str, ...]] | None = None) -> str:
        """Why a decoded segment is not believed ('' if it is); `prompt_sentences`: the prompt it was
        decoded after, if not the main one."""
        if segment.no_speech_prob > NO_SPEECH_MAX:  # alone, not only with a low probability as Whisper
            return "no speech"  # does: a confident loop of "Berikutnya." over English talk had 0.82
        if segment.avg_logprob < AVG_LOGPROB_MIN:
            return "improbable"
        text = segment.text
        words = normalize(text)
        if (segment.compression_ratio > COMPRESSION_RATIO_MAX or _longest_run(_sentences(text)) > MAX_REPEATS
                or _longest_run(words) > MAX_REPEATS):
            return "repetitive"
        if len(words) > MAX_WORDS_PER_S * max(seconds, 0.5):
            return "too many words"
        said = _sentences(text)
        prompt_sentences = self._prompt_sentences if prompt_sentences is None else prompt_sentences
        if said and all(s in prompt_sentences for s in said):
            if len(said) >= 2 or segment.avg_logprob < PROMPT_ECHO_LOGPROB_MIN:
                return "the prompt repeated"
        return ""


def steered(kb: KnowledgeBase) -> DecodeOptions:
    """Decoding for the skill: the prompt of its Indonesian phrasings, and controls confirmed (by what the
    conversation will take them for: the matcher that also compares by ear)."""
    matcher = Matcher(kb, by_ear=LANGUAGE)
    return DecodeOptions(prompt=domain_prompt(kb), meaning=lambda text: matcher.match(text).intent, confirm=CONTROLS,
                         control_prompt=control_prompt(kb), unplaced=matcher.unplaced,
                         words_meaning=lambda text: matcher.by_words(text).intent)


def control_prompt(kb: KnowledgeBase, lang: str = LANGUAGE) -> str:
    """What a short command is heard against: the controls' example phrasings and one-word keywords
    ("hentikan"), as sentences. Keywords of several words are pieces of phrasings, not said alone (and
    with them the prompt outgrows the 223 tokens Whisper keeps)."""
    said = [phrase for intent in sorted(CONTROLS) for phrase in
            (*kb.entries[intent].examples[lang], *(k for k in kb.entries[intent].keywords[lang] if " " not in k))]
    return " ".join(phrase[:1].upper() + phrase[1:] + "." for phrase in dict.fromkeys(said))


def open_whisper(kb: KnowledgeBase | None, model_path: Path | None = None) -> WhisperRecognizer:
    """The Indonesian recogniser; with a knowledge base, steered by it."""
    model = load_whisper(find_whisper_model(model_path))
    return WhisperRecognizer(model, steered(kb) if kb else DecodeOptions())
