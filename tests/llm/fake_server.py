"""A real HTTP server on 127.0.0.1 that speaks OpenAI's /chat/completions, with faults.

It fakes only the network LLM: the answers are simple rules (label: "yes" when the document
contains "good"; spans: capitalised words plus one invented string that is not in the text;
span checks: "yes" except for "Vienna"),
and a seeded share of requests fail as 429, 500, a hang past the client's timeout, or a
malformed reply.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HALLUCINATION = "Zorblax Quintavius"


def _document(body: dict[str, Any]) -> str:
    """The last fenced document in the conversation (a repair request repeats none)."""
    for message in reversed(body["messages"]):
        match = re.search(r"<document>\n(.*)\n</document>", message["content"], re.DOTALL)
        if match and message["role"] == "user":
            return match.group(1)
    return str(body["messages"][-1]["content"])


def _answer(body: dict[str, Any]) -> str:
    text = _document(body)
    asked = [m["content"] for m in body["messages"] if m["role"] == "user"][-2:]
    if any('Candidate: "' in content for content in asked):
        return "no" if any('Candidate: "Vienna"' in content for content in asked) else "yes"
    if body.get("response_format"):
        names = re.findall(r"\b[A-Z][a-z]+\b", text)
        return json.dumps({"spans": [*names, HALLUCINATION]})
    return "yes" if "good" in text else "no"


class FakeLLMServer:
    """Start with `with FakeLLMServer(...) as server:`; `server.url` is the /v1 base URL."""

    def __init__(
        self,
        fault_rate: float = 0.0,
        *,
        hang_s: float = 1.0,
        retry_after: str = "0",
        seed: int = 0,
        echo_auth: bool = False,
    ) -> None:
        self.fault_rate = fault_rate
        self.hang_s = hang_s
        self.retry_after = retry_after
        self.echo_auth = echo_auth
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.auth_headers: set[str] = set()
        self.scripted: list[str] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        # a client that timed out closes the socket under a hanging handler: not an error here
        self.httpd.handle_error = lambda *_: None  # type: ignore[method-assign]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeLLMServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _fault(self) -> str:
        with self.lock:
            if self.scripted:
                return self.scripted.pop(0)
            if self.random.random() >= self.fault_rate:
                return "ok"
            return self.random.choice(["429", "500", "hang", "malformed", "broken-body"])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                return

            def _send(
                self, status: int, payload: str, headers: dict[str, str] | None = None
            ) -> None:
                data = payload.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                auth = self.headers.get("Authorization", "")
                fault = server._fault()
                with server.lock:
                    server.counts[fault] += 1
                    server.counts["requests"] += 1
                    server.auth_headers.add(auth)
                echo = f" (you sent {auth})" if server.echo_auth else ""
                if fault == "429":
                    self._send(
                        429,
                        '{"error": "slow down' + echo + '"}',
                        {"Retry-After": server.retry_after},
                    )
                elif fault == "500":
                    self._send(500, '{"error": "internal' + echo + '"}')
                elif fault == "401":
                    self._send(401, '{"error": "bad key' + echo + '"}')
                elif fault == "hang":
                    time.sleep(server.hang_s)
                    self._send(200, self._reply(body, _answer(body)))
                elif fault == "malformed":
                    self._send(200, self._reply(body, '{"spans": ["unterminated'))
                elif fault == "broken-body":
                    self._send(200, '{"choices": [')
                else:
                    self._send(200, self._reply(body, _answer(body)))

            def _reply(self, body: dict[str, Any], content: str) -> str:
                return json.dumps(
                    {
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": "stop",
                            }
                        ],
                        "model": body.get("model"),
                        "usage": {"prompt_tokens": 50, "completion_tokens": 5},
                    }
                )

        return Handler
