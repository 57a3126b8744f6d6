"""B7: CSV import of new leads, end to end (`manage.py import_leads FILE`).

Baseline: raw COPY of the same rows into the same table with the same indexes (the CSV's
columns plus the constant columns a new lead needs), committed once. Both start from the
same database: the imported leads are deleted after each run."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time

from bench.common import (
    ROOT,
    VAR_DIR,
    Check,
    Figure,
    bench_env,
    database_url,
    ratio_check,
    repeats,
    scale,
)

HEADER = ["Email", "First Name", "Last Name", "Company", "Job Title", "Country", "Employees"]
DOMAIN = "import.bench.example.com"
SOURCE = "bench-import"


def rows_total() -> int:
    return max(1000, round(100_000 * min(1.0, scale() * 10)))


def write_csv(n: int) -> str:
    path = VAR_DIR / f"import-{n}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(n):
            writer.writerow(
                [
                    f"person{i}@{DOMAIN}",
                    f"First{i % 97}",
                    f"Last{i % 89}",
                    f"Importco {i % 5000}",
                    ("Marketing Manager", "VP Sales", "Engineer")[i % 3],
                    ("US", "DE", "GB")[i % 3],
                    str(10 + i % 4000),
                ]
            )
    return str(path)


def cleanup() -> None:
    """Delete imported leads (and their history) so every run starts alike. By source,
    which is indexed: no DDL here, a rescore may be running beside us."""
    import psycopg2

    conn = psycopg2.connect(database_url())
    with conn.cursor() as cur:
        cur.execute(
            "DELETE FROM leads_stagechange WHERE lead_id IN "
            "(SELECT id FROM leads_lead WHERE source = %s)",
            [SOURCE],
        )
        cur.execute("DELETE FROM leads_lead WHERE source = %s", [SOURCE])
    conn.commit()
    conn.close()


def raw_copy(path: str) -> float:
    import psycopg2

    conn = psycopg2.connect(database_url())
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM leads_stage WHERE slug = 'lead'")
            stage = cur.fetchone()[0]
            started = time.perf_counter()
            out = io.StringIO()
            with open(path, newline="") as handle:
                reader = csv.reader(handle)
                next(reader)
                n = 0
                for email, first, last, company, title, country, employees in reader:
                    n += 1
                    out.write(
                        f"{email}\t\t{first}\t{last}\t{title}\t\t\t\t{company}\t\t\t{employees}\t"
                        f"{country}\t\tbench-import\t\t\t\t\t\tf\tf\t{{}}\t{stage}\tnow\t"
                        f"0\t0\t0\tnow\tnow\n"
                    )
            out.seek(0)
            cur.copy_expert(
                "COPY leads_lead (email, external_id, first_name, last_name, title, seniority, "
                "department, phone, company, website, industry, employees, country, region, "
                "source, utm_source, utm_medium, utm_campaign, utm_term, utm_content, "
                "do_not_email, do_not_call, attributes, stage_id, stage_entered_at, "
                "fit_score, engagement_score, score, created_at, updated_at) FROM STDIN",
                out,
            )
            conn.commit()
            return n / (time.perf_counter() - started)
    finally:
        conn.close()


def ours(path: str, n: int) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", "import_leads", path, "--source", SOURCE],
        cwd=ROOT,
        env=bench_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode or f"{n} created" not in done.stdout:
        raise RuntimeError(f"import failed: {done.stdout[-500:]} {done.stderr[-1500:]}")
    return n / elapsed


def run(ctx) -> list[Check]:
    n = rows_total()
    path = write_csv(n)
    baseline = Figure("raw COPY into leads_lead", "rows/s")
    figure = Figure("manage.py import_leads", "rows/s")
    cleanup()
    for _ in range(repeats()):
        baseline.samples.append(raw_copy(path))
        cleanup()
        figure.samples.append(ours(path, n))
        cleanup()
    os.unlink(path)
    ctx.extras["b7_import"] = {"rows per import": n}
    return [
        ratio_check(
            "B7",
            f"CSV import of {n:,} rows, end to end",
            figure,
            baseline,
            at_least=0.05,
            target=">= 0.05 x raw COPY rows/s",
        )
    ]
