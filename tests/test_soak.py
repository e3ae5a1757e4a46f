"""An hour of audio through the hands-free loop: memory stays flat and no request is missed."""

from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT))
from bench.soak import soak  # noqa: E402  (the benchmark and this test share one soak)


def test_an_hour_of_listening():
    result = soak(minutes=60)
    print(result)
    assert result["audio_minutes"] >= 60
    assert result["requests"] >= 20 and result["answered"] == result["requests"], result
    assert result["false_triggers"] == [], result  # ordinary speech and babble never made it speak
    assert result["rss_end_mb"] - result["rss_start_mb"] < 25, result
