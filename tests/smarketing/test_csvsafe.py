"""CSV exports cannot carry a formula into a spreadsheet: lead fields come from strangers."""

import csv
import io
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from smarketing.csvsafe import safe_cell, safe_row

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "dangerous",
    [
        '=HYPERLINK("http://evil.example","click")',
        "+SUM(A1:A9)",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1,2)",
        "\t=1+1",
        "\r=1+1",
        "=1+1",
        "-",
    ],
)
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_apostrophe(dangerous):
    assert safe_cell(dangerous) == "'" + dangerous


@pytest.mark.parametrize(
    "harmless", ["Ada", "", "+44 20 7946 0958", "-12.5", "(555) 010-2030", "a=b", 42, -3, None]
)
def test_plain_text_numbers_and_phone_numbers_are_left_alone(harmless):
    assert safe_cell(harmless) == harmless


def test_safe_row_keeps_the_shape_of_lists_and_dicts():
    assert safe_row(["=1", "ok", 5]) == ["'=1", "ok", 5]
    assert safe_row({"name": "@x", "n": 1}) == {"name": "'@x", "n": 1}


def test_every_csv_writer_in_the_app_goes_through_safe_row():
    writers = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {".venv", "tests", "bench", "var", "node_modules"}:
            continue
        text = path.read_text(encoding="utf-8")
        if "csv.writer(" in text or "csv.DictWriter(" in text:
            writers.append(str(rel))
            assert "safe_row(" in text, f"{rel} writes CSV without smarketing.csvsafe.safe_row"
    assert writers, "expected at least one CSV export"


@pytest.mark.django_db
def test_the_import_errors_file_defuses_formulas_from_the_uploaded_rows(marketer):
    from leads.importing import import_errors_csv
    from leads.models import ImportJob

    job = ImportJob.objects.create(
        file=ContentFile(b'email,company\nbad,"=HYPERLINK(""http://x"")"\n', name="l.csv"),
        original_name="l.csv",
        encoding="utf-8",
        delimiter=",",
        headers=["email", "company"],
        errors=[{"row": 2, "field": "email", "message": "Enter a valid email address."}],
        created_by=marketer,
        created_at=timezone.now(),
    )
    out = io.StringIO()

    import_errors_csv(job, out)

    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[1][-1] == '\'=HYPERLINK("http://x")'
    assert rows[1][-2] == "bad"


@pytest.mark.django_db
def test_the_sla_csv_export_defuses_a_formula_in_a_lead_source():
    from sla.dashboard_views import csv_response

    class Filters:  # only the dates of the file name are read
        def as_params(self):
            return {"start": "2026-11-01", "end": "2026-11-30"}

    f = Filters()

    response = csv_response([{"source": "=cmd|' /C calc'!A0", "mqls": 3}], "sources", f)

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [["source", "mqls"], ["'=cmd|' /C calc'!A0", "3"]]
