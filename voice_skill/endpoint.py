"""End of speech: telling, from the signal level alone, that someone has stopped talking.

Vosk waits for half a second of silence before it calls an utterance done; the hands-free loop
doesn't. It asks this detector, and once the speaker has been quiet for ENDPOINT_QUIET_S and the
words so far are already meant for the skill, it ends the utterance itself and answers.
"""

from __future__ import annotations

import numpy as np

from voice_skill.audio_in import SAMPLE_RATE
from voice_skill.tuning import ENDPOINT_QUIET_S, LEVEL_FLOOR, LOUD_OVER_NOISE, NOISE_RISE_NEAR, NOISE_RISE_UNDER_SPEECH


class QuietDetector:
    """Tells when someone has stopped talking, from the signal level against the room's noise."""

    def __init__(self) -> None:
        self.noise = LEVEL_FLOOR
        self.quiet_s = 0.0
        self.heard_speech = False

    def update(self, chunk: bytes) -> None:
        samples = np.frombuffer(chunk, dtype="<i2").astype(np.float32) / 32768
        if samples.size == 0:
            return
        level = float(np.sqrt(np.mean(samples * samples)))
        # The noise estimate falls fast and rises slowly, so it tracks the room, not the voice.
        near_noise = level < self.noise * LOUD_OVER_NOISE
        self.noise = min(level, self.noise * NOISE_RISE_NEAR) if near_noise else self.noise * NOISE_RISE_UNDER_SPEECH
        loud = level > max(LEVEL_FLOOR, self.noise * LOUD_OVER_NOISE)
        if loud:
            self.heard_speech, self.quiet_s = True, 0.0
        else:
            self.quiet_s += samples.size / SAMPLE_RATE

    @property
    def speech_ended(self) -> bool:
        return self.heard_speech and self.quiet_s >= ENDPOINT_QUIET_S

    def reset(self) -> None:
        self.quiet_s, self.heard_speech = 0.0, False
