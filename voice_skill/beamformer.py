"""Many microphones in, one voice out: a streaming, geometry-free beamformer behind the audio-in stage.

(Interface first; the adaptive beamformer itself lands in the next commit. Until then it mixes the
channels down, which is what a multi-channel recording got before.)
"""

from __future__ import annotations

import numpy as np


class Beamformer:
    """Streaming: blocks of (frames, channels) float32 at 16 kHz in, as many mono frames out."""

    def __init__(self, channels: int) -> None:
        self.channels = channels

    def process(self, block: np.ndarray) -> np.ndarray:
        return block.mean(axis=1).astype(np.float32)


def open_beamformer(channels: int) -> Beamformer | None:
    """A beamformer for `channels` microphones; None for one (today's path, unchanged)."""
    return Beamformer(channels) if channels > 1 else None
