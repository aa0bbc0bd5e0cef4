"""A real OpenAI-compatible HTTP server on 127.0.0.1 with scripted replies, for tests and the LLM replay eval
(``inquire eval llm-replay``): the LLM boundary faked over real HTTP.

    with ScriptedLLMServer() as srv:
        srv.reply('{"framing": ...}')            # queued; each chat completion takes the next one
        srv.reply("late", delay=3.0)             # answered after 3 s (to trigger client timeouts)
        srv.reply(lambda body: ...)              # computed from the request (e.g. its numbered evidence)
        ... llm.base_url = srv.url + "/v1" ...
        srv.requests                             # every request body received, in order

Serves ``GET /v1/models`` (and Ollama's ``GET /api/tags``) and ``POST /v1/chat/completions`` (JSON, or server-sent events when the
request has ``"stream": true``). An empty queue answers HTTP 500, so a test that asks more than it
scripted fails loudly.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    content: str | Callable[[dict], str]  # text, or a function of the request body that returns it
    delay: float = 0.0
    status: int = 200
    chunk_size: int = 12  # characters per streamed chunk


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class ScriptedLLMServer:
    def __init__(self, model: str = "scripted") -> None:
        self.model = model
        self.queue: deque[Reply] = deque()
        self.requests: list[dict] = []
        self.model_requests = 0
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------- script
    def reply(self, content: str | dict | Callable[[dict], str], delay: float = 0.0, status: int = 200,
              chunk_size: int = 12) -> None:
        if isinstance(content, dict):
            content = json.dumps(content)
        with self._lock:
            self.queue.append(Reply(content, delay, status, chunk_size))

    def _next(self) -> Reply | None:
        with self._lock:
            return self.queue.popleft() if self.queue else None

    # -------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "ScriptedLLMServer":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _json(self, code: int, obj: dict) -> None:
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/") == "/v1/models":
                    owner.model_requests += 1
                    self._json(200, {"object": "list", "data": [
                        {"id": owner.model, "object": "model", "created": 0, "owned_by": "tests"}]})
                elif self.path.rstrip("/") == "/api/tags":  # Ollama's model list, for its reachability check
                    self._json(200, {"models": [{"name": f"{owner.model}:latest", "model": f"{owner.model}:latest"}]})
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:  # noqa: N802
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}")
                owner.requests.append(body)
                r = owner._next()
                if r is None:
                    self._json(500, {"error": {"message": "the test scripted no reply for this request"}})
                    return
                if r.delay:
                    time.sleep(r.delay)
                if callable(r.content):
                    r = Reply(r.content(body), r.delay, r.status, r.chunk_size)
                try:
                    if r.status != 200:
                        self._json(r.status, {"error": {"message": r.content}})
                    elif body.get("stream"):
                        self._stream(r, body)
                    else:
                        self._json(200, _completion(body.get("model", owner.model), r.content))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to answer

            def _stream(self, r: Reply, body: dict) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                model = body.get("model", owner.model)
                pieces = [r.content[i:i + r.chunk_size] for i in range(0, len(r.content), r.chunk_size)]
                for i, piece in enumerate(pieces):
                    delta = {"content": piece} | ({"role": "assistant"} if i == 0 else {})
                    self._event(_chunk(model, delta, None))
                self._event(_chunk(model, {}, "stop"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, obj: dict) -> None:
                self.wfile.write(b"data: " + json.dumps(obj).encode() + b"\n\n")
                self.wfile.flush()

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="scripted-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "ScriptedLLMServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _completion(model: str, content: str) -> dict:
    return {
        "id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(model: str, delta: dict, finish: str | None) -> dict:
    return {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
