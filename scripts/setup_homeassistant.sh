#!/usr/bin/env bash
# The Home Assistant test environment (.venv-ha): Home Assistant's own code, pinned in
# tests/homeassistant/requirements.txt, on Python 3.13 (Home Assistant 2025.4 needs it; the skill's
# .venv may be older). Reinstalled only when those pins change. Where no Python 3.13 is found, nothing
# is made, and scripts/test_homeassistant.sh says in one line that the tests were skipped and why.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/python313.sh
source scripts/python313.sh
python=$(find_python313) || exit 0

pins=tests/homeassistant/requirements.txt
stamp=.venv-ha/.installed-$(cat "$pins" | sha256sum | cut -c1-16)
[ -e "$stamp" ] && exit 0
echo "setup: installing Home Assistant (tests only) into .venv-ha with $python"
[ -x .venv-ha/bin/python ] || "$python" -m venv .venv-ha
.venv-ha/bin/pip install -q --no-compile --disable-pip-version-check -r "$pins"  # no .pyc of all of HA: what runs compiles itself
# the wyoming its integration pins, not what the harness's dependencies may have pulled in
.venv-ha/bin/python - "$pins" <<'PY'
import sys
from importlib.metadata import version
pins = [line.split("#")[0].strip() for line in open(sys.argv[1]) if "==" in line.split("#")[0]]
wrong = [f"{name} {version(name)} (pinned {want})" for name, want in (p.split("==") for p in pins) if version(name) != want]
if wrong:
    sys.exit("setup: .venv-ha has the wrong versions: " + ", ".join(wrong))
PY
rm -f .venv-ha/.installed-* && touch "$stamp"
