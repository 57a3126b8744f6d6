"""What every benchmark shares: the environment of the bench processes, statistics, the
machine description, and starting/stopping gunicorn and Celery on loopback ports."""

from __future__ import annotations

import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
BENCH_DB = os.environ.get("BENCH_DB", "smarketing_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
WEB_PORT = int(os.environ.get("BENCH_WEB_PORT", "18731"))
HOOK_PORT = int(os.environ.get("BENCH_HOOK_PORT", "18732"))
VAR_DIR = ROOT / "var" / "bench"
# Long enough for settings' production check; bench data only, never a real secret.
SECRET = "bench-only-secret-" + "x" * 40


def scale() -> float:
    return float(os.environ.get("BENCH_SCALE", "0.1"))


def repeats() -> int:
    return max(1, int(os.environ.get("BENCH_REPEATS", "5")))


def database_url(db: str | None = None) -> str:
    """Read at call time, so a test can point the benchmarks at its own database."""
    server = os.environ.get("BENCH_PG", PG_SERVER)
    return f"{server}/{db or os.environ.get('BENCH_DB', BENCH_DB)}"


def bench_env(**extra: str) -> dict[str, str]:
    """The environment of every bench process (this one, gunicorn, Celery): production
    settings (DEBUG off) against the bench database and its own Redis database."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "SECRET_KEY": SECRET,
        "DEBUG": "0",
        "BENCH": "1",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_COOKIES": "0",
        # Plain HTTP on loopback: a TLS proxy would sit in front in production.
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "SMARKETING_VAR_DIR": str(VAR_DIR),
        "EMAIL_URL": "memory://",
        "WEBHOOKS_ALLOW_PRIVATE": "1",
        "SITE_URL": f"http://127.0.0.1:{WEB_PORT}",
        # The limiter still runs (its counter is part of the cost) but never refuses: the
        # load generator is one client, not an abusive integration.
        "INGEST_KEY_RATE_PER_MINUTE": "100000000",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    env.update(extra)
    return env


def django_setup(**extra: str) -> None:
    """Configure Django in this process for the bench database (idempotent)."""
    import django
    from django.apps import apps

    if apps.ready:
        return
    os.environ.update(bench_env(**extra))
    django.setup()


# --- statistics --------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; enough for the tail of a few thousand samples."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class Figure:
    """One measured quantity over repeats: the median is the figure, min and max its spread."""

    name: str
    unit: str
    samples: list[float] = field(default_factory=list)
    higher_is_better: bool = True

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "median": round(self.median, 3),
            "min": round(min(self.samples), 3) if self.samples else None,
            "max": round(max(self.samples), 3) if self.samples else None,
            "repeats": len(self.samples),
            "higher_is_better": self.higher_is_better,
        }


def measure(
    name: str, unit: str, fn: Callable[[], float], *, n: int | None = None, higher=True
) -> Figure:
    figure = Figure(name, unit, higher_is_better=higher)
    for _ in range(n or repeats()):
        figure.samples.append(fn())
    return figure


@dataclass
class Check:
    """One row of a target table: our figure, its baseline, the ratio and the verdict."""

    id: str
    what: str
    target: str
    ours: Figure | None
    baseline: Figure | None
    ratio: float | None
    met: bool | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "what": self.what,
            "target": self.target,
            "ours": self.ours.as_dict() if self.ours else None,
            "baseline": self.baseline.as_dict() if self.baseline else None,
            "ratio": None if self.ratio is None else round(self.ratio, 3),
            "met": self.met,
            "note": self.note,
        }


def ratio_check(
    id: str,
    what: str,
    ours: Figure,
    baseline: Figure,
    *,
    at_least: float | None = None,
    at_most: float | None = None,
    plus: float = 0.0,
    extra_ok: bool = True,
    target: str,
    note: str = "",
) -> Check:
    """ours / baseline against a bound; `plus` is an absolute allowance added to the
    baseline (B5's "+ 25 ms"); `extra_ok` folds in any absolute bound checked by the caller."""
    ratio = ours.median / baseline.median if baseline.median else float("inf")
    met = extra_ok
    if at_least is not None:
        met = met and ratio >= at_least
    if at_most is not None:
        met = met and ours.median <= at_most * baseline.median + plus
    return Check(id, what, target, ours, baseline, ratio, met, note)


# --- the machine ---------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


PG_SETTINGS = (
    "server_version",
    "synchronous_commit",
    "fsync",
    "wal_level",
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "effective_cache_size",
    "max_connections",
    "random_page_cost",
    "jit",
    "autovacuum",
)
LIBRARIES = (
    "django",
    "djangorestframework",
    "celery",
    "kombu",
    "redis",
    "psycopg2-binary",
    "gunicorn",
)


def machine(conn) -> dict[str, Any]:
    with conn.cursor() as cur:
        pg = {}
        for name in PG_SETTINGS:
            cur.execute(f"SHOW {name}")
            pg[name] = cur.fetchone()[0]
    versions = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = None
    redis_version = None
    try:
        import redis

        redis_version = redis.Redis.from_url(REDIS_URL).info("server").get("redis_version")
    except Exception:  # noqa: S110 - a description of the machine, not a dependency
        pass
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": pg,
        "redis": redis_version,
        "libraries": versions,
        "load_average_at_start": list(os.getloadavg()),
    }


# --- processes -----------------------------------------------------------------------------


class Services:
    """gunicorn (2 workers) and Celery workers for the bench database, started and stopped
    by process group so nothing outlives the run."""

    def __init__(self, *, celery_concurrency: int = 2):
        self.celery_concurrency = celery_concurrency
        self.procs: list[subprocess.Popen] = []
        self.log_dir = VAR_DIR / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=bench_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def start_web(self) -> None:
        bin_dir = Path(sys.executable).parent
        self._spawn(
            "gunicorn",
            [
                str(bin_dir / "gunicorn"),
                "smarketing.wsgi",
                "--bind",
                f"127.0.0.1:{WEB_PORT}",
                "--workers",
                "2",
                # gthread keeps client connections alive (the sync worker closes each one),
                # which is what "keep-alive clients" measure; baseline and app share it.
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--keep-alive",
                "30",
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
        )
        wait_http(f"http://127.0.0.1:{WEB_PORT}/bench/hello/", timeout=60)

    def start_celery(self) -> None:
        # The bench's own Redis database: tasks left by an interrupted run would otherwise
        # queue in front of this run's.
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        self._spawn(
            "celery",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "smarketing",
                "worker",
                "--loglevel=WARNING",
                f"--concurrency={self.celery_concurrency}",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"bench-{os.getpid()}@%h",
            ],
        )

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def queue_settle(*, timeout: float = 60.0) -> int:
    """Let the workers finish what the previous benchmark queued (it is part of that
    benchmark's cost, not the next one's); purge what is left after `timeout`. Returns how
    many tasks were purged."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    wait_for(lambda: client.llen("celery") == 0, timeout=timeout, interval=0.5)
    left = client.llen("celery")
    if left:
        client.delete("celery")
    return left


def disk_settle() -> float:
    """Write out what earlier work left dirty (CHECKPOINT), so that a benchmark does not pay
    for the previous one's writes, or the generator's gigabytes, in its commits' flushes.
    Returns the seconds it took; 0 when the role may not checkpoint."""
    import psycopg2

    started = time.monotonic()
    conn = psycopg2.connect(database_url())
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("CHECKPOINT")
    except psycopg2.errors.InsufficientPrivilege:
        return 0.0
    finally:
        conn.close()
    return time.monotonic() - started


def wait_http(url: str, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status < 500:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.2)


def wait_for(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)


def have(tool: str) -> bool:
    return shutil.which(tool) is not None or (Path(sys.executable).parent / tool).exists()


def chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
