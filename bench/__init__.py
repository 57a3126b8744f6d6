"""Benchmarks: every speed promise measured against a raw baseline in the same run.

`make bench` (python -m bench.run) builds the `smarketing_bench` database with
`bench.generate`, starts gunicorn and Celery on loopback ports, runs b1..b7 and writes
docs/benchmarks.md and docs/benchmarks.json. Nothing here is imported by the app."""
