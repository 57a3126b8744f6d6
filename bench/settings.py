"""Settings for benchmark processes only: the app's settings plus a bare DRF "hello" view
(the baseline for request throughput) and a no-op Celery task (the baseline for one hop).
Production never loads this module, so neither exists there."""

from smarketing.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
CELERY_IMPORTS = [*CELERY_IMPORTS, "bench.tasks"]  # noqa: F405
# The periodic sweeps would add noise to every figure; the benchmarks start no beat, and
# B3 relies on the on-commit path, not on the 30 s safety net.
CELERY_BEAT_SCHEDULE = {}
