#!/usr/bin/env bash
# Everything `make run` and `make test` need, on a fresh Debian/Ubuntu machine: system packages
# (installed when we are root or have password-less sudo, else named in one message), the virtual
# environment at .venv, WebRTC's echo canceller built with our settings, the Vosk model (English) and
# the Whisper model (Indonesian); with --with-homeassistant (`make test`), Home Assistant for its tests
# in .venv-ha (scripts/setup_homeassistant.sh). Each step is skipped when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# Runtime: speech out (espeak-ng, aplay), microphone/speaker access (PortAudio), audio files.
# Tests: a PulseAudio server with virtual devices, ALSA routed to it; sox for test audio.
# Building AEC3 with our settings (scripts/build_aec3.sh): a C++ compiler, and patch.
PACKAGES=(espeak-ng libespeak-ng1 libportaudio2 libsndfile1 alsa-utils pulseaudio pulseaudio-utils
          libasound2-plugins python3-venv g++ patch)
[ -d models/vosk-model-small-en-us-0.15 ] || command -v mvn >/dev/null || PACKAGES+=(maven)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); elif sudo -n true 2>/dev/null; then sudo=(sudo -n); else sudo=(none); fi
  if [ "${sudo[0]:-}" = none ]; then
    echo "setup: please install these system packages first: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing system packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: Python 3.11 or newer is needed (found: $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating the virtual environment in .venv"
  "$PYTHON" -m venv .venv
fi
# Reinstall only when the project's dependencies changed.
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -e "$stamp" ]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
  rm -f .venv/.installed-* && touch "$stamp"
fi

bash scripts/build_aec3.sh || echo "setup: AEC3 with our settings was not built; the skill will use livekit's AEC3" >&2
.venv/bin/voice-skill model path >/dev/null 2>&1 || .venv/bin/voice-skill model fetch
.venv/bin/voice-skill model path --lang id >/dev/null 2>&1 || .venv/bin/voice-skill model fetch --lang id
if [ "${1:-}" = --with-homeassistant ]; then bash scripts/setup_homeassistant.sh; fi
