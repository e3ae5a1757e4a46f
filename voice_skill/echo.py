"""Echo cancellation behind the microphone: WebRTC's AEC3 (livekit), fed the exact samples played.

A home device's microphone hears its own speaker. The skill owns its output stream, so it knows
the samples it played and when they reached the speaker; the speaker hands those to `played`, and
`process` lays them on one timeline with the microphone's audio and gives AEC3 each 10 ms of
microphone audio with what was played at that moment. In the virtual room it removes 60 dB and
more of the skill's voice once it has learnt the room (see SETTLE_FIRST_S: 3-5 s of its first speech).

Chosen by measurement (the room's own recordings replayed through each; numbers in the barge-in
note): Speex's linear canceller (libspeexdsp) removed only 10-15 dB here and let the skill's own
"next step" and "stop" through; Speex first and AEC3 after, handing on Speex's output where a person
spoke, kept more of their words but also more echo ("stop" heard as "done"). AEC3's suppressor does
cut the weak start of a word said over loud echo ("stop" may come out as "up"), which is the limit
of what is heard while it speaks. PulseAudio's module-echo-cancel (aec_method=webrtc, the older
WebRTC canceller of libwebrtc-audio-processing 0.3), in the virtual room (bench/echo_room.py, 12
commands per ratio): 12/6/1 of 12 heard at +6/0/-6 dB with its noise suppression off (8/2/1 with it
on), where AEC3 heard 8/5/3 (5-8 at +6 dB across runs); it runs outside the skill, on the system's
devices, and its self-triggers are not measured: not adopted. Noise suppression on and the high-pass
filter off: see tuning.py's barge-in numbers. Its automatic gain control is on: in the simulated room
(bench/barge_in.py) commands were heard 86/73/50% at +6/0/-6 dB against 84/70/41% without it, and 0
self-triggers in 37.6 and 38.9 minutes of its own lines (seeds 11 and 7). (Before the learning gate
below, it had made Vosk hear "what" in the boosted near-silence: 266 self-triggers an hour.) In the
virtual room, "stop" over step 1 (command about 12 dB over the echo) was heard 19 of 46 times with it
and 7 of 24 without, but whole runs (one skill process each) swing from 0/10 to 10/10, so that room
says little either way. What limits "stop" is its start: the suppressor cuts the quiet "st" said over
the echo and Vosk hears "how", "ow" or "up"; with the echo 4 dB under the command or louder, 0 of 10.
(What is done about it, after the canceller: voice_skill.barge_in.) livekit (1.2.1) builds AEC3 with
its default configuration and exposes only the four switches above, so AEC3 is now built here with
settings of ours (voice_skill.aec3, tuning.AEC3_SETTINGS: a suppressor that takes a person's voice for
theirs sooner); livekit's is the fallback where that was not built. The measurements above were made
with livekit's.

Other engines, measured behind this canceller (branch b7, commit 1c072c9 has them: an Engine seam,
`bench/barge_in.py --engine`; `nice -n 19 .venv/bin/python -m bench.barge_in --minutes 0 --skip-raw
--seed 11`, 44 commands per ratio, heard at +6/0/-6 dB; AEC3 here 82/77/68%):
- No Python binding on PyPI exposes AEC3's configuration or its linear output (export_linear_aec_output):
  pywebrtc-audio 0.2.0 (wheels) builds AEC3 with its defaults and has only on/off switches, the noise
  suppressor's level and AGC gains; as a drop-in it heard 68/64/45%. aec-audio-processing 1.0.1 is a
  source package only (swig, meson, a compiler) with the same switches; its bundled webrtc-audio-processing
  2.1 is what scripts/build_aec3.sh builds. AEC3's linear output (before its suppressor) as the whole
  output, replayed on the virtual room's recordings: 0 of 36 commands heard (the room's loopback, which
  adjusts its rate, leaves too much for a linear filter; the canceller never trusted it). Debian's
  libwebrtc-audio-processing is 0.3, the pre-AEC3 canceller (PulseAudio's, above).
- SpeexDSP: speexdsp-aec 0.1.0 (a ctypes wheel over the system's libspeexdsp1) installs; speexaec 0.1.3
  needs libspeexdsp-dev to build and cannot give its preprocessor the echo state (so no residual
  suppressor from it either); pyspeexaec 0.2's source package does not build. Speex's linear filter
  (no suppressor) heard 100/100/100%, 0 self-triggers in 37.6 min with each of seeds 11 and 7, RTF
  0.10, but its leftover echo was taken for a person's sound (ducking with no one talking 44.7 and 36.7
  an hour; AEC3 4.8 and 1.6).
- "chooser": AEC3 for the main decoder, Speex's linear output for the command decoder while the skill
  speaks, a person's presence (ducking, MIN_LOUD_S) judged on AEC3's output: simulated room 100/100/100%,
  0 self-triggers in 37.6 min (seed 7), ducking 9.6 an hour, RTF 0.113. But in the virtual room, echo at
  the command's level (bench/barge_in_room.py --volume 100 --rounds 10): "stop" piper-joe 2/10,
  espeak-en-us-f2 4/10 (AEC3 0/10, 4-5/10); "next" 1/10 and 1/10 (AEC3 9/10 and 9/10). With presence
  judged on Speex's output instead: "stop" 5/10 (p50 980 ms, max 2030 ms) and 7/10, the skill
  ducking with no one talking, and piper-joe's "stop" once acted on as "done" (next). Not adopted.
  The simulated room's echo path is linear and fixed, which a linear filter removes well; why the
  virtual room differs was not measured (its loopback adjusts its rate to hold the latency).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

import numpy as np
import soxr

from voice_skill.aec3 import Aec3
from voice_skill.audio_in import SAMPLE_RATE, to_pcm16
from voice_skill.errors import SkillError
from voice_skill.tuning import AEC3_SETTINGS, LEARN_SAYS
from voice_skill.tuning import LEVEL_FLOOR  # the level at which the command decoder counts sound at all

FRAME = SAMPLE_RATE // 100  # AEC3 takes 10 ms frames
# AEC3 as livekit builds it finds an echo only some 10 to 90 ms behind its reference (measured:
# 35-44 dB removed there, under 20 dB at 120 ms, none at 170 ms), while the latencies the devices
# report can be off by more. So the canceller finds the echo's delay itself, by cross-correlating
# the microphone with what was played, and hands AEC3 the reference ECHO_BEHIND_S ahead of its echo.
ECHO_BEHIND_S = 0.04
LAG_SEARCH_S = (-0.2, 0.5)  # where the echo may be, relative to the timestamps
LAG_WINDOW_S = 1.5  # microphone audio correlated each time
LAG_EVERY_S = 0.5
LAG_MIN_CORRELATION = 0.3  # a weaker peak is no evidence of where the echo is
# Each change costs AEC3 some re-adapting (and the canceller a new learning), and AEC3 copes
# with its reference 10 to 90 ms ahead: a change within LAG_CHANGE_S of ECHO_BEHIND_S is left alone,
# and a larger one must be measured twice running (within LAG_AGREE_S): at the start of a line, with
# little played sound in the window, the correlation's peak wanders.
# Why "stop" 1.2 s into the first sentence after a quiet spell is missed in the virtual room (6/10):
# there the echo comes back moved in some first sentences (0.040 -> 0.081, 0.050 -> 0.100, 0.043 ->
# -0.047, 0.047 -> 0.224 s; bench/barge_in_room.py --first-sentence --quiet-before 120, with the
# moves printed), and learning anew hands on silence just then. Tried, in tests/test_echo.py's
# simulated room with the echo moved after 300 s of silence: leaving the reference where it was
# (AEC3's own reach): 19 dB of its voice removed at +41 ms but 6 dB at +45 ms, with 12 chunks of it
# taken for a person's sound; moving the reference with no new learning: 1 dB removed at +180 ms,
# 11 chunks taken. Neither adopted: AEC3 needs over a second to follow such a move either way.
LAG_CHANGE_S = 0.035
LAG_AGREE_S = 0.01
# A clock this far from its sample count is re-anchored (a stream restarted, blocks were lost). Less is
# callback jitter (seen here: 30 ms) or slow drift, which the lag measurement follows without a jump.
DRIFT_S = 0.2
# While AEC3 learns the room (its first speech) or re-learns it (the lag moved), it lets echo through,
# and Vosk may hear the skill's own "next" in it: so the canceller hands on silence instead. At first,
# for at least SETTLE_FIRST_S of played sound and until AEC3 has shown it removes the echo (over the
# last LEARNT_WINDOW_S of played sound its output LEARNT_DB below its input, or under the level a
# command is counted at). Measured on the simulated room of bench/barge_in.py: every new AEC3 removes
# 20 dB and more after 1.5 s, then passes its input nearly whole for a while some 3 s in (leaving
# its initial state, it seems), and the self-triggers came from there ("quit" heard 3.5 s into a
# line); from 2.5 s on, this test held off until 3.3-4.4 s of played sound, after that leak, and no
# output of an echo alone reached the command decoder's level again. In a room too noisy to show
# LEARNT_DB, it is trusted after SETTLE_MAX_S. A lag change is a new room: learnt anew, for at least
# SETTLE_AGAIN_S of played sound.
SETTLE_FIRST_S = 3.0
LEARNT_WINDOW_S = 0.5
LEARNT_DB = 20.0
SETTLE_MAX_S = 8.0
SETTLE_AGAIN_S = 0.8
KEEP_S = 2.5  # reference older than this behind the microphone is dropped
LIKENESS_SHIFT_S = 0.01  # the echo compared with what was played this far either side of the measured lag
TAIL_FRAMES = 30  # 10 ms frames after the reference's last sound that its echo (delay + reverberation) may last
ECHO_TAIL_S = 0.5  # after the last sound heard from the speaker, the room may still carry it
SOUND_LEVEL = 1e-4  # RMS of a played block that counts as sound (the skill's speech is far above)
LEARN_LIMIT_S = 20.0  # learn_room gives up on a speaker that never falls silent


class EchoCanceller:
    """Removes the skill's own voice from the microphone's audio. Thread-safe between one speaker
    thread (`played`) and one microphone consumer (`process`)."""

    def __init__(self, noise_suppression: bool = False, high_pass_filter: bool = True,
                 auto_gain_control: bool = True, settings: Mapping[str, float] | None = AEC3_SETTINGS) -> None:
        self._apm, self.notice = _open_apm(settings, noise_suppression, high_pass_filter, auto_gain_control)
        self._lock = threading.Lock()
        self._incoming: collections.deque[tuple[np.ndarray, int, float]] = collections.deque()
        self._resampler: soxr.ResampleStream | None = None  # the played audio to 16 kHz
        self._played_rate = 0
        self._played_anchor = self._played_in = self._played_next = 0  # where, in samples, it goes
        self._origin: float | None = None  # the time of absolute sample 0 on both timelines
        self._reference = np.zeros(0, dtype=np.int16)  # played audio at 16 kHz ...
        self._reference_start = 0  # ... whose first sample has this absolute index
        self._mic_next: int | None = None  # absolute index of the next microphone sample
        self._mic_rest = np.zeros(0, dtype=np.int16)  # microphone samples short of a whole frame
        self._mic_history = np.zeros(0, dtype=np.int16)  # the last LAG_WINDOW_S of it, for the lag
        self._since_lag = 0
        self.lag_s = 0.0  # the echo's delay behind the timestamps, as last measured
        self._new_lag: float | None = None  # a different lag measured once, not yet confirmed
        self.learnt = False  # has AEC3 shown it removes the echo (see LEARNT_DB)?
        self._settle_s = SETTLE_FIRST_S  # the least played sound to learn from
        self._learning: collections.deque[tuple[float, float]] = collections.deque(maxlen=int(LEARNT_WINDOW_S * 100))
        self._learnt_from = 0  # frames of played sound learnt from so far, while not yet learnt
        self._since_sound = TAIL_FRAMES  # frames since the reference last carried sound
        self.last_sound_at = float("-inf")  # when the last played block carrying sound was heard
        self.echo_likeness = 0.0  # of the last chunk's output: see _likeness
        self.removed_db = 0.0  # how far the last chunk was brought down: its level in over its level out

    # --- the speaker's side (its audio thread: only queue) ---

    def played(self, samples: np.ndarray, rate: int, heard_at: float) -> None:
        """`samples` (float, mono) left the speaker starting at `heard_at` (time.monotonic())."""
        if samples.size and float(np.sqrt(np.mean(samples * samples))) > SOUND_LEVEL:
            self.last_sound_at = heard_at + samples.size / rate
        with self._lock:
            self._incoming.append((samples.astype(np.float32, copy=True), rate, heard_at))

    # --- the microphone's side ---

    def process(self, chunk: bytes, captured_at: float) -> bytes:
        """The chunk (16 kHz PCM16, first sample captured at `captured_at`) with the echo removed.
        Whole 10 ms frames come out; a remainder waits for the next chunk."""
        self._take_played()
        mic = np.frombuffer(chunk, dtype="<i2")
        if self._origin is None:
            self._origin = captured_at
        position = self._index(captured_at)
        expected = None if self._mic_next is None else self._mic_next + len(self._mic_rest)
        if expected is None or abs(position - expected) > DRIFT_S * SAMPLE_RATE:
            self._mic_rest, self._mic_next = self._mic_rest[:0], position
        mic = np.concatenate([self._mic_rest, mic])
        whole = len(mic) // FRAME * FRAME
        self._follow_lag(mic[:whole])
        out = [self._cancel(mic[at:at + FRAME], self._mic_next + at) for at in range(0, whole, FRAME)]
        self._mic_rest = mic[whole:]
        self._mic_next += whole
        self._forget_before(self._mic_next - int(KEEP_S * SAMPLE_RATE))
        cleaned = b"".join(out)
        self.echo_likeness = self._likeness(np.frombuffer(cleaned, dtype="<i2"), self._mic_next - whole)
        self.removed_db = removed_db(mic[:whole], np.frombuffer(cleaned, dtype="<i2"))
        return cleaned

    def _likeness(self, out: np.ndarray, position: int) -> float:
        """echo_likeness of `out`, from absolute sample `position`, against what was played then."""
        shift = int(LIKENESS_SHIFT_S * SAMPLE_RATE)
        start = position - int(round(self.lag_s * SAMPLE_RATE)) - shift
        reference = np.zeros(len(out) + 2 * shift)
        offset = start - self._reference_start
        lo, hi = max(0, offset), min(len(self._reference), offset + len(reference))
        if hi > lo:
            reference[lo - offset:hi - offset] = self._reference[lo:hi]
        return echo_likeness(out, reference)

    def echo_possible(self, now: float, tail_s: float = ECHO_TAIL_S) -> bool:
        """Has the speaker carried sound in the last `tail_s` seconds (the echo may still be heard)?"""
        return now - self.last_sound_at < tail_s

    def _cancel(self, frame: np.ndarray, position: int) -> bytes:
        reference = self._reference_at(position - int(round((self.lag_s - ECHO_BEHIND_S) * SAMPLE_RATE)))
        self._apm.reverse(reference)
        out = self._apm.process(frame.astype(np.int16), int(ECHO_BEHIND_S * 1000))
        sound = bool(reference.any())
        self._since_sound = 0 if sound else self._since_sound + 1
        if not self.learnt:
            if sound:
                self._learn(frame, out)
            if self._since_sound < TAIL_FRAMES:  # its voice may be in the room, and AEC3 not yet trusted
                return bytes(2 * FRAME)
        return out

    def _learn_anew(self, settle_s: float) -> None:
        self.learnt, self._settle_s, self._learnt_from = False, settle_s, 0
        self._learning.clear()

    def _learn(self, mic: np.ndarray, out: bytes) -> None:
        """One more frame of played sound: has AEC3 now shown it removes the echo?"""
        cleaned = np.frombuffer(out, dtype="<i2")
        self._learning.append((float(np.sum(np.square(mic, dtype=np.float64))),
                               float(np.sum(np.square(cleaned, dtype=np.float64)))))
        self._learnt_from += 1
        if self._learnt_from >= SETTLE_MAX_S * 100:
            self.learnt = True
        elif self._learnt_from >= self._settle_s * 100 and len(self._learning) == self._learning.maxlen:
            heard = sum(m for m, _ in self._learning)
            left = sum(c for _, c in self._learning)
            quiet = left / (len(self._learning) * FRAME) < (LEVEL_FLOOR * 32768) ** 2
            self.learnt = quiet or left * 10 ** (LEARNT_DB / 10) <= heard

    # --- the echo's delay ---

    def _follow_lag(self, mic: np.ndarray) -> None:
        """Keep the last LAG_WINDOW_S of microphone audio; every LAG_EVERY_S, measure the lag anew."""
        window = int(LAG_WINDOW_S * SAMPLE_RATE)
        self._mic_history = np.concatenate([self._mic_history, mic])[-window:]
        self._since_lag += len(mic)
        if self._since_lag < LAG_EVERY_S * SAMPLE_RATE or len(self._mic_history) < window:
            return
        self._since_lag = 0
        lag = self._measure_lag(self._mic_next + len(mic) - window)
        if lag is None or abs(lag - self.lag_s) <= LAG_CHANGE_S:
            self._new_lag = None
        elif self._new_lag is not None and abs(lag - self._new_lag) <= LAG_AGREE_S:
            self.lag_s, self._new_lag = lag, None  # measured twice running: the echo really moved
            self._learn_anew(SETTLE_AGAIN_S)
        else:
            self._new_lag = lag

    def _measure_lag(self, mic_start: int) -> float | None:
        """Where in LAG_SEARCH_S the played audio best explains the microphone's; None if nowhere."""
        earliest, latest = (int(s * SAMPLE_RATE) for s in LAG_SEARCH_S)
        mic = self._mic_history.astype(np.float64)
        played = np.zeros(len(mic) + latest - earliest)  # played[i] is reference at mic_start - latest + i
        offset = mic_start - latest - self._reference_start
        lo, hi = max(0, offset), min(len(self._reference), offset + len(played))
        if hi <= lo:
            return None
        played[lo - offset:hi - offset] = self._reference[lo:hi]
        if not played.any() or not mic.any():
            return None
        size = 1 << int(np.ceil(np.log2(len(played) + len(mic))))
        correlation = np.fft.irfft(np.fft.rfft(played, size) * np.conj(np.fft.rfft(mic, size)), size)
        scores = correlation[:latest - earliest + 1][::-1]  # scores[k]: the echo k samples after `earliest`
        energy = np.sqrt(np.sum(mic * mic) * np.sum(played * played))
        best = int(np.argmax(np.abs(scores)))
        if abs(scores[best]) < LAG_MIN_CORRELATION * energy:
            return None
        return (earliest + best) / SAMPLE_RATE

    # --- the reference timeline ---

    def _index(self, at: float) -> int:
        return int(round((at - self._origin) * SAMPLE_RATE))

    def _take_played(self) -> None:
        with self._lock:
            blocks = list(self._incoming)
            self._incoming.clear()
        for samples, rate, heard_at in blocks:
            if self._origin is None:
                self._origin = heard_at
            start = self._index(heard_at)
            if self._played_rate != rate or abs(start - self._played_next) > DRIFT_S * SAMPLE_RATE:
                self._anchor(start, rate)
            self._played_in += len(samples)
            self._played_next = self._played_anchor + int(round(self._played_in * SAMPLE_RATE / rate))
            self._reference = np.concatenate([self._reference, self._to_16k(samples, rate)])

    def _anchor(self, start: int, rate: int) -> None:
        """Start the played timeline afresh at absolute index `start`: a new resampler (its output is
        aligned with its input from its first sample on), the reference padded or cut to meet it."""
        end = self._reference_start + len(self._reference)
        if not len(self._reference) or start < self._reference_start:
            self._reference, self._reference_start = self._reference[:0], start
        elif start >= end:
            self._reference = np.concatenate([self._reference, np.zeros(start - end, dtype=np.int16)])
        else:
            self._reference = self._reference[:start - self._reference_start]
        self._resampler = None if rate == SAMPLE_RATE else soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32")
        self._played_rate, self._played_anchor, self._played_in, self._played_next = rate, start, 0, start

    def _to_16k(self, samples: np.ndarray, rate: int) -> np.ndarray:
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(samples)
        return np.frombuffer(to_pcm16(samples), dtype="<i2")

    def _reference_at(self, position: int) -> np.ndarray:
        frame = np.zeros(FRAME, dtype=np.int16)
        offset = position - self._reference_start
        lo, hi = max(0, offset), min(len(self._reference), offset + FRAME)
        if hi > lo:
            frame[lo - offset:hi - offset] = self._reference[lo:hi]
        return frame

    def _forget_before(self, position: int) -> None:
        drop = position - self._reference_start
        if drop > 0 and drop < len(self._reference):
            self._reference, self._reference_start = self._reference[drop:], position


class Voice(Protocol):
    """What learn_room needs of the speaker (voice_skill.speech_out.Speaker)."""

    speaking: bool

    def say(self, lines: Sequence[str]) -> None: ...


def learn_room(speaker: Voice, chunks: Iterable[bytes], canceller: EchoCanceller, lines: Sequence[str],
               says: int = LEARN_SAYS, limit_s: float = LEARN_LIMIT_S, clock: Callable[[], float] = time.monotonic) -> int:
    """At start-up, with the microphone open (`chunks` are its audio, each already through `canceller`):
    say `lines` and let the canceller learn the room from their echo, as a device's boot chime would;
    said again (at most `says` times in all) while it has not yet learnt. Then its first sentence after
    a quiet spell, the one a person most wants to stop, is heard over: it keeps what it learnt through
    silence (tests/test_echo.py). Whatever the microphone hears meanwhile is dropped. Returns how many
    times it said them; if it has still not learnt, it goes on learning from its next speech."""
    deadline = clock() + limit_s
    said = 0
    chunks = iter(chunks)
    while said < says and not canceller.learnt and clock() < deadline:
        speaker.say(lines)
        said += 1
        for _ in chunks:
            now = clock()
            if (not speaker.speaking and not canceller.echo_possible(now)) or now > deadline:
                break
    return said


class _LivekitApm:
    """AEC3 as livekit builds it (its default configuration)."""

    def __init__(self, noise_suppression: bool, high_pass_filter: bool, auto_gain_control: bool) -> None:
        try:
            from livekit import rtc
        except ImportError as error:
            raise SkillError(f"echo cancellation is not available ({error})") from None
        self._rtc = rtc
        self._apm = rtc.AudioProcessingModule(echo_cancellation=True, noise_suppression=noise_suppression,
                                              high_pass_filter=high_pass_filter, auto_gain_control=auto_gain_control)

    def reverse(self, frame: np.ndarray) -> None:
        self._apm.process_reverse_stream(self._rtc.AudioFrame(bytearray(frame.tobytes()), SAMPLE_RATE, 1, FRAME))

    def process(self, frame: np.ndarray, delay_ms: int) -> bytes:
        self._apm.set_stream_delay_ms(delay_ms)
        near = self._rtc.AudioFrame(bytearray(frame.astype("<i2").tobytes()), SAMPLE_RATE, 1, FRAME)
        self._apm.process_stream(near)
        return bytes(near.data.cast("B"))


def _open_apm(settings: Mapping[str, float] | None, noise_suppression: bool, high_pass_filter: bool,
              auto_gain_control: bool) -> tuple[Aec3 | _LivekitApm, str | None]:
    """AEC3 built with `settings` (voice_skill.aec3); with None, or where that cannot be had, livekit's
    AEC3 with its defaults, and a one-line notice saying why."""
    notice = None
    if settings is not None:
        try:
            return Aec3(settings, noise_suppression, high_pass_filter, auto_gain_control), None
        except SkillError as error:
            notice = f"{error}; using livekit's AEC3 with its default settings"
    return _LivekitApm(noise_suppression, high_pass_filter, auto_gain_control), notice


def removed_db(heard: np.ndarray, out: np.ndarray) -> float:
    """How many dB quieter `out` is than `heard` (inf: nothing came out, 0: all of it did)."""
    heard_power = float(np.mean(np.square(heard, dtype=np.float64))) if heard.size else 0.0
    out_power = float(np.mean(np.square(out, dtype=np.float64))) if out.size else 0.0
    if out_power == 0.0:
        return float("inf")
    return 10 * float(np.log10(max(heard_power, 1.0) / out_power))


def echo_likeness(out: np.ndarray, reference: np.ndarray) -> float:
    """How much `out` looks like the echo of `reference` (which runs the same stretch, with as many
    samples more on either side as the echo may be shifted): the peak normalized correlation, 0-1.
    What the canceller lets through of the skill's voice is its echo, still much like what was
    played; a person's voice is not."""
    shift = (len(reference) - len(out)) // 2
    out = out.astype(np.float64)
    reference = reference.astype(np.float64)
    energy = np.sqrt(np.sum(out * out) * np.sum(reference * reference))
    if energy == 0:
        return 0.0
    size = 1 << int(np.ceil(np.log2(len(reference) + len(out))))
    correlation = np.fft.irfft(np.fft.rfft(reference, size) * np.conj(np.fft.rfft(out, size)), size)[:2 * shift + 1]
    return float(np.max(np.abs(correlation)) / energy)
