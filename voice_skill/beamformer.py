"""Many microphones in, one voice out: a streaming, geometry-free beamformer behind the audio-in stage.

A TV across the room and the person asking are in different places, so their sound reaches the
microphones of an array with different phase and level differences. The beamformer learns those
differences from the sound itself, needing no array geometry:

- The room's background (the TV, the kitchen) is learnt as a spatial covariance per frequency while
  nobody new is talking (`noise`).
- Someone starting to talk from another place is told by how much the sound's spatial pattern moves
  away from the background's: whitened by the background's covariance, the background alone spreads
  its power evenly over every direction, and a new talker piles it into one. That score, the largest
  eigenvalue of the whitened short-term covariance over its mean, is blind to how loud the TV is
  (`presence`). It is the voice-activity decision "the background alone" against "someone else".
- While someone else is heard, their covariance is gathered (`target`), and the beam is an MVDR
  filter steered at them: their relative transfer function is the principal generalized eigenvector
  of (target, noise), and the filter passes them undistorted at the first microphone while taking as
  much of the background away as it can. It keeps that steering after they stop, so a person who
  stays where they are is heard from their first word the next time.
- The beam turns within a request's first half second, so its first words get less of it. The last
  seconds heard are kept (`replay`), so that an utterance can be heard again as the beam stands at
  its end: what `answer` gets by hearing a recording twice, for the live loop.

The numbers (tuning.BEAM_*) were chosen on the simulated rooms of tests/make_room_recordings.py's
dev split; what they bring is measured in bench/rooms.py.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from voice_skill.tuning import (BEAM_BACKGROUND, BEAM_FRAME, BEAM_LOADING, BEAM_MAX_HZ, BEAM_MIN_HZ,
                                BEAM_NOISE_S, BEAM_POSTFILTER, BEAM_POSTFILTER_FLOOR,
                                BEAM_POSTFILTER_OVER, BEAM_PRESENCE, BEAM_RELEARN_S, BEAM_REPLAY_S,
                                BEAM_SCORE_EVERY, BEAM_SHORT_S, BEAM_TARGET_S, BEAM_UPDATE_FRAMES,
                                BEAM_WARMUP_S)

SAMPLE_RATE = 16_000  # as audio_in hands it on (audio_in imports this module, so not imported from there)


class Beamformer:
    """Streaming: blocks of (frames, channels) float32 at 16 kHz in, as many mono frames out
    (delayed by BEAM_FRAME samples, the STFT's own latency)."""

    def __init__(self, channels: int, keep_s: float = BEAM_REPLAY_S) -> None:
        self.channels = channels
        self.keep_s = keep_s  # how much of what was heard is kept for replay()
        self.hop = BEAM_FRAME // 2
        self._window = np.sqrt(np.hanning(BEAM_FRAME + 1)[:-1]).astype(np.float64)  # sqrt-Hann: analysis and synthesis
        bins = BEAM_FRAME // 2 + 1
        frequencies = np.fft.rfftfreq(BEAM_FRAME, 1 / SAMPLE_RATE)
        self._scored = (frequencies >= BEAM_MIN_HZ) & (frequencies <= BEAM_MAX_HZ)
        eye = np.eye(channels, dtype=np.complex128)
        self.noise = np.tile(eye * 1e-8, (bins, 1, 1))
        self.short = np.tile(eye * 1e-8, (bins, 1, 1))
        self.target = np.zeros((bins, channels, channels), dtype=np.complex128)
        self._noise_alpha = _smoothing(BEAM_NOISE_S, self.hop)
        self._short_alpha = _smoothing(BEAM_SHORT_S, self.hop)
        self._target_alpha = _smoothing(BEAM_TARGET_S, self.hop)
        self.weights = np.zeros((bins, channels), dtype=np.complex128)
        self.weights[:, 0] = 1.0  # until someone is heard: the first microphone as it is
        self.steered = False
        # Off while the skill's own voice may be in the room: the speaker is neither the background
        # nor the person, and the beam stays on whoever spoke last.
        self.learning = True
        self._transfer = np.zeros((bins, channels), dtype=np.complex128)
        self._blocked_to_beam = np.zeros(bins)
        self._background_power = np.zeros(bins)
        self._beam_power = np.zeros(bins)
        self.presence = 0.0  # the last frame's score (see _presence)
        self.talking = False  # is someone other than the background heard now?
        self._warmup_frames = int(BEAM_WARMUP_S * SAMPLE_RATE / self.hop)
        self._warming = 0  # frames of the background averaged so far while (re)learning it
        self._unlike_background = 0  # frames in a row not taken for the background
        self._frames_talking = 0
        self._frames_scored = 0
        self._whitening: np.ndarray | None = None  # the background's, for the score, as last worked out
        # Zeros ahead of the first input and the first output: a frame's worth of latency, after which
        # every block in gives as many samples out.
        self._input = np.zeros((BEAM_FRAME - self.hop, channels))
        self._output = np.zeros(self.hop)
        self._overlap = np.zeros(BEAM_FRAME - self.hop)
        self._recent: deque[np.ndarray] = deque()  # the last keep_s heard, for replay()
        self._recent_samples = 0
        self._heard_samples = 0  # everything heard so far
        self._steered_at = -1  # when the beam last turned, in samples heard

    def process(self, block: np.ndarray) -> np.ndarray:
        block = np.asarray(block, dtype=np.float64).reshape(-1, self.channels)
        self._keep(block)
        samples = np.concatenate([self._input, block])
        finished = [self._output]
        start = 0
        while start + BEAM_FRAME <= len(samples):
            finished.append(self._frame(samples[start:start + BEAM_FRAME]))
            start += self.hop
        self._input = samples[start:]
        ready = np.concatenate(finished)
        self._output = ready[len(block):]
        return ready[:len(block)].astype(np.float32)

    def replay(self, seconds: float) -> np.ndarray | None:
        """The last `seconds` heard (at most keep_s), beamformed again with the beam as it stands
        now (process() gave the same stretch one frame later); None if the beam has not turned
        within them: they would come out as they did."""
        wanted = min(int(seconds * SAMPLE_RATE), self._recent_samples)
        if wanted <= 0 or not self.steered or self._steered_at < self._heard_samples - wanted:
            return None
        heard = np.concatenate(self._recent)[-wanted:]
        twin = self.frozen()
        out = twin.process(np.concatenate([heard, np.zeros((BEAM_FRAME, self.channels))]))
        return out[BEAM_FRAME:]  # process()'s output lags its input by one frame

    def frozen(self) -> "Beamformer":
        """A beamformer steered as this one is now, learning nothing and keeping nothing."""
        twin = Beamformer(self.channels, keep_s=0.0)
        twin.learning = False
        twin.weights, twin._transfer, twin._blocked_to_beam = self.weights, self._transfer, self._blocked_to_beam
        twin.steered = self.steered
        return twin

    def _keep(self, block: np.ndarray) -> None:
        self._heard_samples += len(block)
        if self.keep_s <= 0:
            return
        self._recent.append(block)
        self._recent_samples += len(block)
        while self._recent_samples - len(self._recent[0]) >= self.keep_s * SAMPLE_RATE:
            self._recent_samples -= len(self._recent.popleft())

    def _frame(self, frame: np.ndarray) -> np.ndarray:
        """One STFT frame (BEAM_FRAME, channels) in, its hop of finished output samples out."""
        spectrum = np.fft.rfft(frame * self._window[:, None], axis=0)  # (bins, channels)
        if self.learning:
            self._learn(spectrum)
        beam = np.einsum("fc,fc->f", self.weights.conj(), spectrum)
        if self.steered and BEAM_POSTFILTER:
            beam = beam * self._postfilter(spectrum, beam)
        time_signal = np.fft.irfft(beam, BEAM_FRAME) * self._window
        time_signal[:len(self._overlap)] += self._overlap
        self._overlap = time_signal[self.hop:].copy()
        return time_signal[:self.hop]

    def _postfilter(self, spectrum: np.ndarray, beam: np.ndarray) -> np.ndarray:
        """A gain per frequency that takes out what the beam left of the background, frame by frame.
        The microphones with the talker's part removed (each minus its transfer function times the
        first) hear the background alone, as it is now: a TV's talk comes and goes, and so does this
        estimate of what of it is in the beam (scaled by how the two compare on the background)."""
        blocked = spectrum[:, 1:] - self._transfer[:, 1:] * spectrum[:, :1]
        background_now = self._blocked_to_beam * np.sum(np.abs(blocked) ** 2, axis=1)
        self._background_power = 0.5 * self._background_power + 0.5 * background_now
        self._beam_power = 0.5 * self._beam_power + 0.5 * np.abs(beam) ** 2
        gain = 1 - BEAM_POSTFILTER_OVER * self._background_power / np.maximum(self._beam_power, 1e-20)
        return np.maximum(gain, BEAM_POSTFILTER_FLOOR)

    def _learn(self, spectrum: np.ndarray) -> None:
        outer = spectrum[:, :, None] * spectrum[:, None, :].conj()
        self.short = self._short_alpha * self.short + (1 - self._short_alpha) * outer
        if self._warming < self._warmup_frames:  # the first sound heard is the background: average it all
            self._warming += 1
            self.noise = self.noise + (outer - self.noise) / self._warming
            return
        self._frames_scored += 1
        if self._frames_scored % BEAM_SCORE_EVERY == 0:  # the score moves with BEAM_SHORT_S, not frame by frame
            self.presence = self._presence()
        if self.presence < BEAM_BACKGROUND:  # clearly the background alone: learn it
            self.noise = self._noise_alpha * self.noise + (1 - self._noise_alpha) * outer
            self._unlike_background = 0
        else:
            self._unlike_background += 1
        if self._unlike_background * self.hop > BEAM_RELEARN_S * SAMPLE_RATE:
            self._warming = 0  # "someone" talking this long is the background changed (a TV moved, a fan on)
        self.talking = self.presence > BEAM_PRESENCE
        if self.talking:
            self.target = self._target_alpha * self.target + (1 - self._target_alpha) * outer
            self._frames_talking += 1
            if self._frames_talking % BEAM_UPDATE_FRAMES == 1:
                self._steer()

    def _presence(self) -> float:
        """How far the recent sound's spatial pattern stands from the background's: the largest
        eigenvalue of the short-term covariance whitened by the background's, over their mean,
        averaged over the frequencies where the array tells places apart, scaled to 0 (power spread
        evenly: the background) .. 1 (all of it from one new place), whatever the channel count."""
        scored = self._scored
        if self._frames_scored % (2 * BEAM_SCORE_EVERY) == 0 or self._whitening is None:  # the background moves slowly
            self._whitening = np.linalg.inv(np.linalg.cholesky(self._loaded(self.noise[scored])))
        inverse = self._whitening
        whitened = inverse @ self.short[scored] @ inverse.conj().transpose(0, 2, 1)
        eigenvalues = np.linalg.eigvalsh(whitened)
        spread = eigenvalues[:, -1] / np.maximum(eigenvalues.mean(axis=1), 1e-20)  # 1 (even) to channels (one place)
        return float(np.mean(spread - 1) / (self.channels - 1))

    def _steer(self) -> None:
        """MVDR toward the talker: their relative transfer function from the principal generalized
        eigenvector of (target, noise), passed undistorted at the first microphone."""
        noise = self._loaded(self.noise)
        chol = np.linalg.cholesky(noise)
        inverse = np.linalg.inv(chol)
        whitened = inverse @ self.target @ inverse.conj().transpose(0, 2, 1)
        _, vectors = np.linalg.eigh(whitened)
        principal = inverse.conj().transpose(0, 2, 1) @ vectors[:, :, -1:]  # (bins, channels, 1)
        transfer = (noise @ principal)[:, :, 0]
        reference = transfer[:, :1]
        transfer = transfer / np.where(np.abs(reference) > 1e-12, reference, 1e-12)
        solved = np.linalg.solve(noise, transfer[:, :, None])[:, :, 0]
        gain = np.einsum("fc,fc->f", transfer.conj(), solved).real
        self.weights = solved / np.maximum(gain, 1e-12)[:, None]
        self._transfer = transfer
        # How much of the background the beam passes, against what the blocked channels hear of it.
        blocking = np.eye(self.channels)[None, 1:, :] - transfer[:, 1:, None] * np.eye(self.channels)[None, None, 0, :]
        blocked = np.einsum("fkc,fcd,fkd->f", blocking.conj(), self.noise, blocking).real
        beamed = np.einsum("fc,fcd,fd->f", self.weights.conj(), self.noise, self.weights).real
        self._blocked_to_beam = beamed / np.maximum(blocked, 1e-20)
        self.steered = True
        self._steered_at = self._heard_samples

    def _loaded(self, covariance: np.ndarray) -> np.ndarray:
        """Diagonal loading: a floor under the covariance keeps the filter from amplifying the
        microphones' own noise where the array is small against the wavelength."""
        trace = np.trace(covariance, axis1=1, axis2=2).real / self.channels
        eye = np.eye(self.channels)[None]
        return covariance + (BEAM_LOADING * trace + 1e-12)[:, None, None] * eye


def _smoothing(seconds: float, hop: int) -> float:
    return float(np.exp(-hop / (seconds * SAMPLE_RATE)))


def open_beamformer(channels: int) -> Beamformer | None:
    """A beamformer for `channels` microphones; None for one (today's path, unchanged)."""
    return Beamformer(channels) if channels > 1 else None
