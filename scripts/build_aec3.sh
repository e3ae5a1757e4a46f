#!/usr/bin/env bash
# AEC3 with settings of our own (voice_skill/aec3.py): WebRTC's audio processing library, version
# 2.1, from the source bundled in PyPI's aec-audio-processing 1.0.1 (its own binding exposes only
# on/off switches), with settings of ours added (the PATCHES below, in voice_skill/native), built static
# with meson, and our C interface (voice_skill/native/aec3.cc) linked into .venv/lib/libskill_aec3.so.
# About 3 minutes on 2 cores; skipped when already built from this
# source. If it cannot be built, the skill says so once and uses livekit's AEC3 with its defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

SDIST=aec_audio_processing-1.0.1.tar.gz
SDIST_SHA256=f03a3ce3f45bf15a04a8504d0f692a651180ca2d3171bd9f3de0516e5f2b8360
out=.venv/lib/libskill_aec3.so
PATCHES=(aec3-hf-gains.patch aec3-fast-release.patch)  # in this order: each is made on the one before
stamp=.venv/lib/.aec3-$(cd voice_skill/native && cat aec3.cc "${PATCHES[@]}" ../../scripts/build_aec3.sh | sha256sum | cut -c1-16)
[ -e "$out" ] && [ -e "$stamp" ] && exit 0

for tool in g++ patch; do
  if ! command -v $tool >/dev/null; then
    echo "setup: no $tool: the configured echo canceller is not built" >&2
    exit 0
  fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "setup: building WebRTC's echo canceller (AEC3) with our settings (about 3 minutes)"
.venv/bin/pip install -q --disable-pip-version-check meson ninja
.venv/bin/pip download -q --disable-pip-version-check --no-deps --no-binary=aec-audio-processing \
  aec-audio-processing==1.0.1 -d "$work"
echo "$SDIST_SHA256  $work/$SDIST" | sha256sum -c --quiet
tar xzf "$work/$SDIST" -C "$work"
source_dir=$work/aec_audio_processing-1.0.1/webrtc-audio-processing
for change in "${PATCHES[@]}"; do
  patch -s -d "$source_dir" -p1 < "voice_skill/native/$change"
done
build=$work/build
PATH=$PWD/.venv/bin:$PATH meson setup --buildtype=release --default-library=static "$build" "$source_dir" >"$work/meson.log" 2>&1 \
  || { tail -20 "$work/meson.log" >&2; exit 1; }
PATH=$PWD/.venv/bin:$PATH nice ninja -C "$build" >"$work/ninja.log" || { tail -20 "$work/ninja.log" >&2; exit 1; }

core=$(find "$build/webrtc/modules/audio_processing" -name 'libwebrtc-audio-processing-2.a')
mapfile -t rest < <(find "$build" -name '*.a' ! -name 'libwebrtc-audio-processing-2.a')
# The static archives depend on one another in no tidy order: list them twice.
g++ -std=c++17 -O2 -fPIC -shared -w -DWEBRTC_POSIX -DWEBRTC_LINUX -DNDEBUG -DWEBRTC_APM_DEBUG_DUMP=0 \
  -I"$source_dir/webrtc" -I"$source_dir" -I"$source_dir/subprojects/abseil-cpp-20240722.0" \
  voice_skill/native/aec3.cc -o "$out.tmp" \
  -Wl,--whole-archive "$core" -Wl,--no-whole-archive "${rest[@]}" "${rest[@]}" -lpthread
mv "$out.tmp" "$out"
rm -f .venv/lib/.aec3-* && touch "$stamp"
echo "setup: built $out"
