"""AEC3 built with our settings (voice_skill.aec3, the library scripts/build_aec3.sh builds in setup):
it loads, refuses what it does not know with a one-line error, and where it cannot be had the echo
canceller falls back to livekit's AEC3 and says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voice_skill import aec3
from voice_skill.echo import EchoCanceller
from voice_skill.errors import SkillError
from voice_skill.tuning import AEC3_SETTINGS

SWITCHES = dict(noise_suppression=False, high_pass_filter=True, auto_gain_control=True)


def test_the_project_setup_built_it():
    assert aec3.LIBRARY.exists(), f"{aec3.LIBRARY} is missing: scripts/build_aec3.sh did not run or failed"
    assert EchoCanceller().notice is None


def test_an_unknown_setting_is_a_clear_one_line_error():
    with pytest.raises(SkillError, match="unknown AEC3 setting: suppressor.not_a_setting") as raised:
        aec3.Aec3({**AEC3_SETTINGS, "suppressor.not_a_setting": 1.0}, **SWITCHES)
    assert "\n" not in str(raised.value)


def test_a_setting_out_of_range_is_refused():
    with pytest.raises(SkillError, match="out of range"):
        aec3.Aec3({"suppressor.normal_tuning.mask_lf.enr_transparent": -1.0}, **SWITCHES)


def test_without_the_library_the_canceller_uses_livekits_and_says_why(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(aec3, "LIBRARY", tmp_path / "libskill_aec3.so")
    canceller = EchoCanceller()
    assert canceller.notice is not None and "not built" in canceller.notice and "livekit" in canceller.notice
    silence = np.zeros(1600, dtype="<i2").tobytes()
    assert len(canceller.process(silence, 0.0)) == len(silence)  # and it still runs
