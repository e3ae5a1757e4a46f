#!/usr/bin/env bash
# The Home Assistant tests (tests/homeassistant), in .venv-ha, against a real `voice-skill serve` run
# with the skill's own .venv. `make test` runs them before the main suite; a failure fails it. Where no
# Python 3.13 exists, one line says they were skipped and why.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/python313.sh
source scripts/python313.sh
if ! find_python313 >/dev/null; then
  echo "Home Assistant tests skipped: no Python 3.13 (Home Assistant 2025.4 needs it; looked for python3.13 on PATH and in ${PYENV_ROOT:-$HOME/.pyenv}/versions)"
  exit 0
fi
VOICE_SKILL_PYTHON=${VOICE_SKILL_PYTHON:-$PWD/.venv/bin/python} \
  .venv-ha/bin/python -m pytest -c tests/homeassistant/pytest.ini -q tests/homeassistant "$@"
