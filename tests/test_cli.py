"""The command line as a user meets it: the exact output shapes, and one-line errors."""

from __future__ import annotations

import json

from conftest import run_cli


def test_ask_answers_one_json_object_per_stdin_line_as_one_conversation(kb):
    done = run_cli("ask", "--json", "-", input="my calf is cramping\nnext\n\nset a timer\nwhy does this happen\n")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [set(r) for r in records] == [{"query", "intent", "confidence", "response"}] * 4  # blank line skipped
    assert [r["intent"] for r in records] == ["cramp_relief", "next", "unknown", "causes"]
    assert records[0]["response"].startswith(kb.lines("cramp_relief", "en")[0])
    assert records[1]["response"] == kb.lines("cramp_relief", "en")[1]  # "next" continues the steps
    assert records[2]["response"] == " ".join(kb.lines("unknown", "en"))


def test_ask_in_indonesian(kb):
    done = run_cli("ask", "betis saya kram", "--lang", "id")
    assert done.stdout.startswith(kb.lines("cramp_relief", "id")[0])


def test_an_unknown_option_is_one_line_on_stderr():
    done = run_cli("ask", "hello", "--colour")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "--colour" in done.stderr


def test_kb_json_carries_the_sources(kb):
    entries = {e["intent"]: e for e in json.loads(run_cli("kb", "--json").stdout)}
    assert entries["cramp_relief"]["source_quotes"] == list(kb.entries["cramp_relief"].source_quotes)
