"""The API key is sent to the server and appears nowhere else: logs, errors, cache, outputs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fake_server import FakeLLMServer
from typer.testing import CliRunner

from falconer.cli.annotate import app
from falconer.llm.openai_compatible import OpenAICompatibleBackend
from falconer.llm.secrets import api_key_from_environment, redact

KEY = "sk-falconer-test-5ECRET-0123456789abcdef"


def test_key_comes_from_falconer_variable_before_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-fallback-000000")
    monkeypatch.setenv("FALCONER_API_KEY", KEY)
    assert api_key_from_environment() == KEY
    monkeypatch.delenv("FALCONER_API_KEY")
    assert api_key_from_environment() == "sk-openai-fallback-000000"


def test_redact_hides_known_keys_and_bearer_tokens() -> None:
    text = f"got Authorization: Bearer {KEY} and {KEY[:-1]}x"
    cleaned = redact(text, KEY)
    assert KEY not in cleaned and KEY[:-1] not in cleaned


def test_api_key_appears_in_no_log_error_cache_or_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FALCONER_API_KEY", KEY)
    monkeypatch.setenv("FALCONER_CACHE_DIR", str(tmp_path / "cache"))
    caplog.set_level(logging.DEBUG)
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(json.dumps({"id": i, "text": f"a good day {i}"}) + "\n" for i in range(12))
    )
    out = tmp_path / "annotations.jsonl"
    with FakeLLMServer(echo_auth=True) as server:
        server.scripted = ["401", "500", "401", "429"]
        result = CliRunner().invoke(
            app,
            [
                "annotate",
                str(corpus),
                "-i",
                "Is it a good day?",
                "--n",
                "12",
                "--llm",
                f"openai-compatible:{server.url}#fake-model",
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        assert f"Bearer {KEY}" in server.auth_headers, "the key must actually be sent"
        assert repr(OpenAICompatibleBackend(server.url, "m")).count(KEY) == 0
    saved = out.read_text()
    failures = [json.loads(line) for line in saved.splitlines() if '"failed"' in line]
    assert len(failures) == 2 and all("HTTP 401" in f["reason"] for f in failures)
    assert "REDACTED" in saved, "the server echoed the key into its error body"
    places = {
        "cli output": result.output,
        "log records": caplog.text,
        "output file": saved,
    }
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            places[str(path)] = path.read_bytes().decode("latin-1")
    for where, content in places.items():
        assert KEY not in content, f"API key leaked into {where}"
