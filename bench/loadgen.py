"""A light HTTP load generator: threads with keep-alive `http.client` connections to
127.0.0.1 only, bounded in request count and time. The same code drives the baselines and
the app, so whatever it costs the shared CPU, it costs both alike.

Closed loop (`rate=None`): each client sends its next request when the previous answered,
which finds saturation. Open loop (`rate=r`): requests are scheduled at a fixed total rate
and latency counts from the scheduled time, so a slow server cannot hide its queueing
(no coordinated omission)."""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.common import percentile

# (method, path, body, headers) for request `seq` of client `client`.
Request = tuple[str, str, bytes | None, dict[str, str]]
MakeRequest = Callable[[int, int], Request]
OnResponse = Callable[[int, int, int, bytes], None]


@dataclass
class LoadResult:
    sent: int = 0
    ok: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def p(self, q: float) -> float:
        """Latency percentile in milliseconds."""
        return percentile(self.latencies, q) * 1000


def run_load(
    *,
    port: int,
    make_request: MakeRequest,
    clients: int,
    duration: float,
    rate: float | None = None,
    max_requests: int | None = None,
    ok_statuses: tuple[int, ...] = (200, 201, 207),
    on_response: OnResponse | None = None,
    warmup: float = 0.0,
    stop: threading.Event | None = None,
) -> LoadResult:
    """Drive `clients` keep-alive connections for `duration` seconds (after `warmup`
    seconds whose requests are not counted)."""
    if clients < 1 or duration <= 0:
        raise ValueError("need at least one client and a positive duration")
    result = LoadResult()
    lock = threading.Lock()
    start = time.perf_counter() + 0.05
    count_from = start + warmup
    stop_at = count_from + duration
    budget = [max_requests if max_requests is not None else float("inf")]
    per_client_interval = clients / rate if rate else 0.0

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        latencies: list[float] = []
        statuses: Counter = Counter()
        sent = errors = 0
        seq = 0
        # Spread open-loop clients over one interval so they do not fire in lockstep.
        scheduled = start + (index * per_client_interval / clients if rate else 0.0)
        while True:
            if rate:
                now = time.perf_counter()
                if scheduled > now:
                    time.sleep(scheduled - now)
            begin = scheduled if rate else time.perf_counter()
            if begin >= stop_at or (stop is not None and stop.is_set()):
                break
            with lock:
                if begin >= count_from:
                    if budget[0] <= 0:
                        break
                    budget[0] -= 1
            method, path, body, headers = make_request(index, seq)
            seq += 1
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status, data = 0, b""
            end = time.perf_counter()
            if begin >= count_from:
                sent += 1
                statuses[status] += 1
                if status in ok_statuses:
                    latencies.append(end - begin)
                else:
                    errors += 1
            if on_response is not None:
                on_response(index, seq - 1, status, data)
            if rate:
                scheduled += per_client_interval
        conn.close()
        with lock:
            result.sent += sent
            result.errors += errors
            result.ok += len(latencies)
            result.latencies.extend(latencies)
            result.statuses.update(statuses)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + warmup + 120)
    result.elapsed = max(0.0, min(time.perf_counter(), stop_at) - count_from)
    return result


class Background:
    """An open-loop load running in a thread while something else is measured."""

    def __init__(self, **kwargs):
        self.stop = threading.Event()
        self.kwargs = {"duration": 3600.0, **kwargs, "stop": self.stop}
        self.result: LoadResult | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.result = run_load(**self.kwargs)

    def __enter__(self) -> Background:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
