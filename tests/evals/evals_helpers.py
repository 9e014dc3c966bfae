"""Toy problem shared by the evals tests (imported by name: tests/ is not a package)."""

from __future__ import annotations

from aperto.evals.sandbox import Job

ADD_PROMPT = 'def add(a, b):\n    """Return a + b."""\n'
ADD_TEST = "\n\ndef check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-5, 5) == 0\n"


def add_job(completion: str, timeout: float = 1.0) -> Job:
    return Job("toy/add", ADD_PROMPT, completion, ADD_TEST, "add", timeout)


class FakeEndpoint:
    """A tiny OpenAI-compatible server (and hub evals endpoint) on a local port, for real HTTP in tests.

    ``answers`` maps a prompt to the text to return; ``fail_after`` makes it answer 400
    once that many completions were served (an interrupted run).
    """

    def __init__(self, answers: dict[str, str], chat: bool = False) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.answers = answers
        self.chat = chat
        self.served = 0
        self.fail_after: int | None = None
        self.halted = False
        self.requests: list[dict] = []
        self.pushed: list[tuple[str, dict, str | None]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path.startswith("/api/models/"):
                    owner.pushed.append((self.path, body, self.headers.get("Authorization")))
                    return self._reply(201, {"ok": True})
                owner.requests.append(body)
                if owner.halted:
                    return self._reply(503, {"error": {"code": "model_halted", "message": "halted"}})
                if owner.fail_after is not None and owner.served >= owner.fail_after:
                    return self._reply(400, {"error": "interrupted"})
                owner.served += 1
                if self.path == "/v1/chat/completions":
                    prompt = body["messages"][-1]["content"].split("```python\n", 1)[1].rsplit("\n```", 1)[0]
                    text = owner.answers[prompt.strip()]
                    return self._reply(200, {"choices": [{"message": {"role": "assistant", "content": text}}]})
                return self._reply(200, {"choices": [{"text": owner.answers[body["prompt"]]}]})

            def _reply(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
