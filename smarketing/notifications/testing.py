"""A local webhook receiver for tests, benchmarks and trying webhooks on one machine: an
HTTP server on 127.0.0.1 (ephemeral port) in a thread, answering from a script."""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict  # names in lower case
    body: bytes
    status: int
    at: float = field(default_factory=time.monotonic)  # time.monotonic() on arrival


class LocalReceiver:
    """`script` answers successive requests: an int status, a (status, headers) pair, or
    ("sleep", seconds) to stall past the sender's timeout. Once it runs out, 200.

        with LocalReceiver([500, 500]) as receiver:
            ... post to receiver.url ...
            receiver.wait(accepted=1)
    """

    def __init__(self, script=()):
        self.script = list(script)
        self.received: list[Received] = []
        self._changed = threading.Condition()
        self._server = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hook"

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.received if 200 <= r.status < 300]

    def __enter__(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._changed:
                    step = receiver.script.pop(0) if receiver.script else 200
                status, headers, recorded = 200, {}, None
                if isinstance(step, tuple) and step[0] == "sleep":
                    time.sleep(step[1])
                    recorded = 0  # the sender timed out: not an accepted delivery
                elif isinstance(step, tuple):
                    status, headers = step
                else:
                    status = step
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender gave up waiting (a timeout test)
                with receiver._changed:
                    receiver.received.append(
                        Received(
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            status if recorded is None else recorded,
                        )
                    )
                    receiver._changed.notify_all()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def wait(self, *, accepted: int = 0, received: int = 0, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.accepted) < accepted or len(self.received) < received:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"receiver got {len(self.received)} requests, "
                        f"{len(self.accepted)} accepted, within {timeout}s"
                    )
                self._changed.wait(left)
