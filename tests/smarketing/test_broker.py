"""The embedded broker (`make run`, the SQLite test run) never hands a worker a message
that is still being written."""

import os
import subprocess
import sys
import threading
import time
from queue import Empty

from kombu import Connection

from smarketing.broker import Transport

MESSAGES = 3000


def test_a_reader_polling_while_messages_are_written_gets_each_one_whole(tmp_path):
    options = {
        "data_folder_in": str(tmp_path),
        "data_folder_out": str(tmp_path),
        "processed_folder": str(tmp_path / "done"),
    }
    with Connection("filesystem://", transport=Transport, transport_options=options) as conn:
        writer, reader = conn.channel(), conn.channel()
        thread = threading.Thread(
            target=lambda: [writer._put("q", {"n": n}) for n in range(MESSAGES)]
        )
        received = []
        thread.start()
        deadline = time.monotonic() + 60
        while len(received) < MESSAGES and time.monotonic() < deadline:
            try:
                # kombu's own transport fails here now and then: JSONDecodeError on a file
                # listed after it was created and before it was written.
                received.append(reader._get("q")["n"])
            except Empty:
                continue
        thread.join()
    assert sorted(received) == list(range(MESSAGES))
    assert not list(tmp_path.glob("*.part"))


def test_the_embedded_broker_uses_the_whole_message_transport():
    """Settings without a broker URL (the `make run` default) pick this transport; Celery
    resolves it for the connection it opens."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update(DJANGO_SETTINGS_MODULE="smarketing.settings", DEBUG="1")
    code = (
        "import django; django.setup();"
        "from smarketing.celery import app;"
        "print(app.conf.broker_url, type(app.connection_for_write().transport).__module__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["filesystem://", "smarketing.broker"]
