"""WebRTC's AEC3 built with settings of our own: a ctypes binding to the small C interface in
voice_skill/native/aec3.cc, which scripts/build_aec3.sh (run by the project's setup) links against
webrtc-audio-processing 2.1, from the source PyPI's aec-audio-processing 1.0.1 bundles.

Why not a binding from PyPI: livekit's (the fallback, voice_skill.echo) builds AEC3 with its default
configuration, and pywebrtc-audio and aec-audio-processing expose on/off switches only. The settings
that matter here are the suppressor's (tuning.AEC3_SETTINGS): by default it takes a person's voice
over the skill's for more echo, and cuts the quiet start of "stop".
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from voice_skill.errors import SkillError

LIBRARY = Path(sys.prefix) / "lib" / "libskill_aec3.so"
FRAME = 160  # 10 ms at 16 kHz, the only rate used here
HIGH_PASS_FILTER, NOISE_SUPPRESSION, GAIN_CONTROL = 1, 2, 4  # aec3_new's flags


def _load(path: Path) -> ctypes.CDLL:
    if not path.exists():
        raise SkillError(f"the configured AEC3 is not built ({path} is missing: run scripts/build_aec3.sh)")
    try:
        library = ctypes.CDLL(str(path))
    except OSError as error:
        raise SkillError(f"the configured AEC3 cannot be loaded ({error})") from None
    library.aec3_new.restype = ctypes.c_void_p
    library.aec3_new.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_double),
                                 ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    library.aec3_reverse.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    library.aec3_process.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
    library.aec3_free.argtypes = [ctypes.c_void_p]
    return library


class Aec3:
    """One echo canceller: `reverse` each 10 ms played, then `process` the 10 ms heard with it."""

    def __init__(self, settings: Mapping[str, float], noise_suppression: bool, high_pass_filter: bool,
                 auto_gain_control: bool, library: Path | None = None) -> None:
        self._lib = _load(library or LIBRARY)
        keys = (ctypes.c_char_p * max(1, len(settings)))(*[key.encode() for key in settings])
        values = (ctypes.c_double * max(1, len(settings)))(*[float(value) for value in settings.values()])
        flags = ((HIGH_PASS_FILTER if high_pass_filter else 0) | (NOISE_SUPPRESSION if noise_suppression else 0)
                 | (GAIN_CONTROL if auto_gain_control else 0))
        error = ctypes.create_string_buffer(200)
        self._handle = self._lib.aec3_new(flags, keys, values, len(settings), error, len(error))
        if not self._handle:
            raise SkillError(error.value.decode())

    def reverse(self, frame: np.ndarray) -> None:
        self._lib.aec3_reverse(self._handle, np.ascontiguousarray(frame, dtype=np.int16).ctypes.data)

    def process(self, frame: np.ndarray, delay_ms: int) -> bytes:
        near = np.array(frame, dtype=np.int16)  # a copy: AEC3 works in place
        self._lib.aec3_process(self._handle, near.ctypes.data, delay_ms)
        return near.astype("<i2").tobytes()

    def __del__(self) -> None:
        if getattr(self, "_handle", None):
            self._lib.aec3_free(self._handle)
            self._handle = None
