"""A private stack for fault tests: its own PostgreSQL cluster and Redis server on free
loopback ports, and gunicorn plus a real Celery worker as subprocesses pointed at them.
Killing, stopping or losing any of these never touches the services the rest of the suite
uses. Processes run in their own sessions and are stopped by process group."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BIN = Path(PYTHON).parent
# Long enough for the production settings check; fault-test data only, never a real secret.
SECRET = "faults-only-secret-" + "x" * 40


def pg_bin(name: str) -> str | None:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(found[-1]) if found else shutil.which(name)


def missing_tools() -> list[str]:
    tools = {"initdb": pg_bin("initdb"), "pg_ctl": pg_bin("pg_ctl")}
    tools["redis-server"] = shutil.which("redis-server")
    tools["gunicorn"] = str(BIN / "gunicorn") if (BIN / "gunicorn").exists() else None
    return [name for name, path in tools.items() if not path]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root; run them as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class Postgres:
    """A throwaway cluster in a temp dir (trust auth, fsync off: the faults here are process
    crashes, where the OS keeps the WAL; an OS crash is not simulated)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="smk-faults-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [
                    pg_bin("initdb"),
                    "-D",
                    str(self.data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ]
            ),
            check=True,
            capture_output=True,
        )
        self.start()

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def _ctl(self, *args: str) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c max_connections=200"
        )
        subprocess.run(
            _as_postgres(
                [
                    pg_bin("pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.dir / "log"),
                    "-o",
                    options,
                    *args,
                ]
            ),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        self._ctl("-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-w", "-m", mode, "stop")

    def psql(self, sql: str, db: str = "postgres") -> str:
        out = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def destroy(self) -> None:
        with contextlib.suppress(Exception):  # already down
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """A redis-server of our own, configured as docker-compose.yml runs it in production
    (append-only, noeviction), so a graceful stop keeps the queue and a kill -9 with a
    fresh dir loses it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="smk-faults-redis-"))
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.dir),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--maxmemory-policy",
                "noeviction",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not self.ping():
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=0.5).ping())
        except Exception:
            return False

    def client(self):
        import redis

        return redis.Redis.from_url(self.url)

    def stop(self) -> None:
        """Graceful: SHUTDOWN flushes the append-only file; the queue survives."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)

    def kill_and_lose(self) -> None:
        """kill -9 and throw away its files: whatever was queued is gone."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir()

    def destroy(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


class App:
    """gunicorn and a Celery worker for one database on the private PostgreSQL and Redis."""

    def __init__(self, *, database_url: str, redis_url: str, log_dir: Path, hook_url: str = ""):
        self.database_url = database_url
        self.redis_url = redis_url
        self.log_dir = log_dir
        self.port = free_port()
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.worker_starts = 0
        self.worker_wanted = False  # what a supervisor (docker's restart policy) keeps up
        self.worker_restarts = 0
        self.concurrency = 4

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env.update(
            DJANGO_SETTINGS_MODULE="smarketing.settings",
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            CELERY_BROKER_URL=self.redis_url,
            SECRET_KEY=SECRET,
            DEBUG="0",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_COOKIES="0",
            SECURE_SSL_REDIRECT="0",
            SECURE_HSTS_SECONDS="0",
            SMARKETING_VAR_DIR=str(self.log_dir / "var"),
            EMAIL_URL="memory://",
            WEBHOOKS_ALLOW_PRIVATE="1",
            NOTIFICATION_RETRY_BASE_SECONDS="1",
            # Ingest limits are tested elsewhere; here a burst must not be throttled.
            INGEST_KEY_RATE_PER_MINUTE="100000000",
            LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
        )
        return env

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("ab")
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def ctl(self, command: str, payload: Any = None, *, timeout: float = 60) -> Any:
        """Run tests/faults/ctl.py against this app's database; returns its JSON answer."""
        out = subprocess.run(
            [PYTHON, "-m", "tests.faults.ctl", command],
            cwd=ROOT,
            env=self.env(),
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if out.returncode != 0:
            raise RuntimeError(f"ctl {command} failed:\n{out.stderr[-4000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def start_web(self, *, wait: bool = True) -> None:
        self.web = self._spawn(
            "gunicorn",
            [
                str(BIN / "gunicorn"),
                "smarketing.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--timeout",
                "30",
                "--log-level",
                "warning",
            ],
        )
        if wait:
            self.wait_web()

    def wait_web(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.base}/healthz", timeout=2)  # noqa: S310
                return
            except urllib.error.HTTPError:
                return  # it answers (503 while no worker heartbeat yet is fine)
            except OSError:
                if time.monotonic() > deadline or self.web.poll() is not None:
                    raise RuntimeError("gunicorn did not start; see gunicorn.log") from None
                time.sleep(0.2)

    def start_worker(self, concurrency: int = 4, *, wait: bool = True) -> None:
        self.concurrency = concurrency
        self.worker_starts += 1
        self.worker_wanted = True
        self.worker = self._spawn(
            f"celery-{self.worker_starts}",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "smarketing",
                "worker",
                "--loglevel=WARNING",
                f"--concurrency={concurrency}",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"faults-{os.getpid()}-{self.worker_starts}@%h",
            ],
        )
        if wait:
            self.wait_worker()

    def wait_worker(self) -> None:
        """Ready when its pool has forked (it consumes from then on)."""
        deadline = time.monotonic() + 30
        while len(self.worker_children()) < self.concurrency:
            if time.monotonic() > deadline or self.worker.poll() is not None:
                raise RuntimeError("the Celery worker did not start; see its log")
            time.sleep(0.1)

    def worker_children(self) -> list[int]:
        if self.worker is None or self.worker.poll() is not None:
            return []
        path = Path(f"/proc/{self.worker.pid}/task/{self.worker.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def kill_worker(self) -> None:
        """kill -9 the whole worker (main process and its children)."""
        self.worker_wanted = False
        if self.worker and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait(timeout=10)

    def stop_worker(self) -> None:
        """A graceful stop as a deploy does it: TERM to the main process only (warm
        shutdown: the pool finishes its tasks), KILL to the group if it hangs."""
        self.worker_wanted = False
        if self.worker is None or self.worker.poll() is not None:
            return
        self.worker.send_signal(signal.SIGTERM)
        try:
            self.worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait()

    def supervise(self) -> None:
        """Do what the deployment's supervisor does (`restart: unless-stopped` in
        docker-compose.yml): start the worker again if it exited on its own. Celery's main
        process can exit when the broker drops while tasks are in flight (kombu fails to
        restore the unacked messages of a dead connection: "Unrecoverable error"); the
        work is in PostgreSQL and the reconciler re-drives it once a worker is back."""
        if self.worker_wanted and self.worker is not None and self.worker.poll() is not None:
            self.worker_restarts += 1
            self.start_worker(self.concurrency, wait=False)

    def rss_kib(self) -> dict[str, int]:
        """Resident memory of web and worker, each summed over its process tree."""
        return {
            "web": _tree_rss(self.web.pid) if self.web else 0,
            "worker": _tree_rss(self.worker.pid) if self.worker else 0,
        }

    def stop(self) -> None:
        """Teardown: the processes are disposable, so no graceful wait."""
        for proc in (self.worker, self.web):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _tree_rss(pid: int) -> int:
    total = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            todo.extend(int(c) for c in children)
        except OSError:
            continue
    return total


def post_json(url: str, body: Any, headers: dict[str, str], *, timeout: float = 10) -> tuple:
    """POST JSON; returns (status, headers, parsed body or None). Connection errors come
    back as status 0 so callers can retry like a real client."""
    data = json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, data=data, headers={"Content-Type": "application/json", **headers}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw[:200]
        return error.code, dict(error.headers), parsed
    except OSError:
        return 0, {}, None
