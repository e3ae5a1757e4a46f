# find_python313: prints a Python 3.13 interpreter (on PATH, else pyenv's), or fails quietly.
# Sourced by scripts/setup_homeassistant.sh and scripts/test_homeassistant.sh.
find_python313() {
  local candidate
  for candidate in "$(command -v python3.13 || true)" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}
