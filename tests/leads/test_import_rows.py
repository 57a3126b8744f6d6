"""Writing imported rows: the set-based write equals lead_upsert, fixtures import
correctly, jobs resume and never count a row twice, and the command works."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from leads import importing
from leads.importing import CleanRow
from leads.models import ImportJob, ImportStatus, Lead, Stage, StageChange
from leads.services import lead_upsert

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
LATER = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)


pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _job(name: str, *, source: str = "", actor=None, mapping=None) -> ImportJob:
    upload = SimpleUploadedFile(name, (FIXTURES / name).read_bytes())
    job = importing.import_job_create(upload=upload, source=source, actor=actor, now=NOW)
    return importing.import_job_queue(job=job, mapping=mapping or job.mapping)


def _job_from_bytes(raw: bytes, *, source: str = "") -> ImportJob:
    upload = SimpleUploadedFile("upload.csv", raw)
    job = importing.import_job_create(upload=upload, source=source, actor=None, now=NOW)
    return importing.import_job_queue(job=job, mapping=job.mapping)


def _run(job: ImportJob, **kwargs) -> ImportJob:
    importing.import_job_run(job_id=job.pk, now=LATER, **kwargs)
    job.refresh_from_db()
    return job


# --------------------------------------------------------------- same rules as lead_upsert


def _seed_existing():
    lead_upsert(
        data={"email": "Known@Example.com", "company": "Known Co", "title": "CTO"},
        attributes={"tier": "gold", "colour": "red"},
        now=NOW,
    )
    lead_upsert(data={"external_id": "X-1", "source": "crm", "company": "Ext Co"}, now=NOW)
    lead_upsert(data={"external_id": "X-9", "source": "crm", "company": "Holder"}, now=NOW)
    lead_upsert(data={"email": "other@example.com", "external_id": "X-2", "source": "crm"}, now=NOW)


def _rows() -> list[CleanRow]:
    return [
        # an existing lead by email (other case): changes, an attribute merge, no blanking
        CleanRow(2, {"email": "KNOWN@example.com", "company": "Known Co", "employees": 40},
                 {"colour": "blue"}),
        # an existing lead by external id within its source; nothing changes
        CleanRow(3, {"external_id": "X-1", "source": "crm", "company": "Ext Co"}),
        # the same external id in another source is another lead
        CleanRow(4, {"external_id": "X-1", "source": "webinar", "first_name": "Wen"}),
        # a new lead, then the same person again further down the file
        CleanRow(5, {"email": "new@example.com", "company": "New Co"}, {"outcome": "won"}),
        CleanRow(6, {"email": "new@example.com", "title": "CEO", "do_not_email": True},
                 {"outcome": "lost"}),
        # an email that is not known yet but an external id that is: lead_find falls back
        CleanRow(7, {"email": "fresh@example.com", "external_id": "X-1", "source": "crm"}),
        # and now that lead is found by the email it just got
        CleanRow(8, {"email": "fresh@example.com", "last_name": "Fresh"}),
        # a new lead by external id, then its email arrives
        CleanRow(9, {"external_id": "N-7", "source": "crm", "company": "Seven"}),
        CleanRow(10, {"email": "seven@example.com", "external_id": "N-7", "source": "crm"}),
        # a row that would give a lead an external id another lead holds
        CleanRow(11, {"email": "other@example.com", "external_id": "X-9", "source": "crm"}),
        # rows cleaning already rejected
        CleanRow(12, {"company": "Bad"}, errors=[("Email", "not valid")]),
        CleanRow(13, {"email": "known@example.com", "country": "DE"}),
        # a known person arriving through another channel keeps the source they came from
        CleanRow(14, {"email": "other@example.com", "source": "trade show", "title": "COO"}),
    ]  # fmt: skip


def _snapshot():
    stage_changes = {}
    for change in StageChange.objects.order_by("id"):
        stage_changes.setdefault(change.lead_id, []).append(
            (change.from_stage_id, change.to_stage_id, change.rule, change.changed_by_id,
             change.changed_at)
        )  # fmt: skip
    leads = []
    for lead in Lead.objects.all():
        fields = model_to_dict(lead, exclude=["id"])
        fields["created_at"], fields["updated_at"] = lead.created_at, lead.updated_at
        fields["stage_entered_at"] = lead.stage_entered_at
        fields["history"] = stage_changes.get(lead.pk, [])
        leads.append(fields)
    return sorted(leads, key=lambda f: (f["email"], f["source"], f["external_id"]))


def test_the_set_based_write_gives_exactly_what_lead_upsert_gives_row_by_row(marketer):
    stage = Stage.objects.get(slug="lead")
    savepoint = transaction.savepoint_create()
    _seed_existing()
    bulk = importing.write_rows_bulk(
        _rows(), now=LATER, actor=marketer, rule="import #1", stage=stage
    )
    bulk_state = _snapshot()
    transaction.savepoint_rollback(savepoint)

    assert Lead.objects.count() == 0
    _seed_existing()
    one_by_one = importing.write_rows_one_by_one(
        _rows(), now=LATER, actor=marketer, rule="import #1"
    )
    assert _snapshot() == bulk_state
    assert (bulk.created, bulk.updated) == (one_by_one.created, one_by_one.updated) == (3, 8)
    assert [e["row"] for e in bulk.errors] == [e["row"] for e in one_by_one.errors] == [11, 12]


def test_the_set_based_write_updates_and_never_blanks(marketer):
    stage = Stage.objects.get(slug="lead")
    _seed_existing()
    importing.write_rows_bulk(_rows(), now=LATER, actor=marketer, rule="import #1", stage=stage)
    known = Lead.objects.get(email="known@example.com")
    assert (known.company, known.title, known.employees, known.country) == (
        "Known Co",
        "CTO",
        40,
        "DE",
    )
    assert known.attributes == {"tier": "gold", "colour": "blue"}
    assert known.updated_at == LATER and known.created_at == NOW
    new = Lead.objects.get(email="new@example.com")
    assert (new.company, new.title, new.do_not_email) == ("New Co", "CEO", True)
    assert new.attributes == {"outcome": "lost"}
    change = new.stage_changes.get()
    assert (change.from_stage, change.to_stage.slug, change.rule, change.changed_by) == (
        None, "lead", "import #1", marketer,
    )  # fmt: skip
    untouched = Lead.objects.get(source="crm", external_id="X-9")
    assert untouched.updated_at == NOW
    assert Lead.objects.filter(email="other@example.com", external_id="X-2").exists()


def test_a_chunk_of_new_rows_takes_a_bounded_number_of_queries(django_assert_max_num_queries):
    stage = Stage.objects.get(slug="lead")
    rows = [CleanRow(i, {"email": f"p{i}@example.com", "company": "Acme"}) for i in range(500)]
    rows += [CleanRow(600 + i, {"external_id": f"E{i}", "source": "crm"}) for i in range(500)]
    with django_assert_max_num_queries(10), transaction.atomic():
        result = importing.write_rows_bulk(rows, now=NOW, rule="import #1", stage=stage)
    assert result.created == 1000
    assert StageChange.objects.count() == 1000


def test_a_chunk_that_collides_falls_back_to_one_row_at_a_time(monkeypatch):
    def collide(*args, **kwargs):
        Lead.objects.create(email="boom@example.com", stage=Stage.objects.get(slug="lead"),
                            stage_entered_at=NOW, created_at=NOW, updated_at=NOW)  # fmt: skip
        raise IntegrityError("duplicate key")

    monkeypatch.setattr(importing, "write_rows_bulk", collide)
    rows = [CleanRow(2, {"email": "a@example.com"}), CleanRow(3, {"email": "b@example.com"})]
    result = importing.write_rows(rows, now=NOW, rule="import #1")
    assert (result.created, result.errors) == (2, [])
    # What the failed attempt wrote was rolled back with its savepoint.
    assert sorted(Lead.objects.values_list("email", flat=True)) == [
        "a@example.com",
        "b@example.com",
    ]


# --------------------------------------------------------------- the messy fixtures


def test_a_crm_export_with_bom_semicolons_and_no_email_imports_by_its_id_column(marketer):
    job = _job("crm_semicolon_bom.csv", source="crm", actor=marketer)
    assert job.mapping["Contact ID"] == "external_id"
    job = _run(job)

    assert job.status == ImportStatus.DONE
    assert (job.total_rows, job.processed_rows) == (5, 5)
    assert (job.created_count, job.updated_count, job.error_count) == (3, 1, 1)
    assert job.errors == [
        {"row": 6, "field": "Country", "message": "'Atlantis' is not a country name or ISO code."}
    ]
    ada = Lead.objects.get(source="crm", external_id="C-001")
    assert (ada.first_name, ada.last_name, ada.company) == (
        "Ada",
        "Lovelace",
        "Analytical Engines; Ltd",
    )
    assert (ada.employees, ada.annual_revenue, ada.country) == (1200, Decimal("5000000.00"), "DE")
    assert (ada.title, ada.seniority, ada.do_not_email, ada.email) == (
        "VP Engineering",
        "vp",
        False,
        "",
    )
    assert ada.attributes == {"Favourite colour": "blue", "Zip": "01234", "outcome": "won"}
    assert ada.stage.slug == "lead"
    assert ada.stage_changes.get().rule == f"import #{job.pk}"
    assert ada.stage_changes.get().changed_by == marketer
    bob = Lead.objects.get(external_id="C-002")
    assert (bob.source, bob.do_not_email, bob.company, bob.employees) == ("webinar", True, "", None)
    assert bob.attributes == {"outcome": "lost"}
    cleo = Lead.objects.get(external_id="C-003")
    assert (cleo.first_name, cleo.company) == ('Chloé "Cleo"', "Dubois, Martin & Fils")
    assert (cleo.employees, cleo.annual_revenue, cleo.seniority) == (
        51,
        Decimal("1200000.50"),
        "director",
    )
    assert cleo.attributes == {"Favourite colour": "green", "Zip": 75001}
    assert not Lead.objects.filter(external_id="C-004").exists()


def test_a_tab_separated_windows_file_imports_and_rejects_only_its_bad_rows():
    job = _run(_job("tradeshow_tabs_cp1252.tsv", source="tradeshow"))
    assert (job.created_count, job.updated_count, job.error_count) == (1, 0, 3)
    assert [(e["row"], e["field"]) for e in job.errors] == [
        (3, "E-mail"),
        (4, "Do Not Call"),
        (5, "email"),
    ]
    rene = Lead.objects.get()
    assert (rene.email, rene.first_name, rene.last_name) == ("rene@example.com", "René", "Garçon")
    assert (rene.annual_revenue, rene.do_not_call, rene.source) == (
        Decimal("2500000.00"),
        True,
        "tradeshow",
    )
    assert rene.attributes == {"T-shirt size": "L", "outcome": "won"}


def test_quoted_commas_and_line_breaks_import_into_the_right_fields():
    job = _run(_job("quoted_commas.csv"))
    assert (job.created_count, job.error_count) == (2, 0)
    ada = Lead.objects.get(email="ada@example.com")
    assert (ada.company, ada.employees, ada.title, ada.industry) == (
        "Acme, Inc.",
        1200,
        "Director, Data",
        "Software",
    )
    assert ada.attributes == {"Notes": 'Met at "DataConf"'}
    grace = Lead.objects.get(email="grace@example.com")
    assert (grace.employees, grace.industry) == (None, "Government")
    assert grace.attributes == {"Notes": "line one\r\nline two"}


def test_importing_the_same_file_again_updates_instead_of_duplicating():
    _run(_job("quoted_commas.csv"))
    Lead.objects.filter(email="ada@example.com").update(title="Changed by hand")
    second = _run(_job("quoted_commas.csv"))
    assert (second.created_count, second.updated_count) == (0, 2)
    assert Lead.objects.count() == 2
    assert Lead.objects.get(email="ada@example.com").title == "Director, Data"


def test_known_values_survive_placeholders_in_a_later_import():
    lead_upsert(data={"email": "ada@example.com", "company": "Acme", "employees": 10}, now=NOW)
    job = _run(_job_from_bytes(b"Email,Company,Employees\nADA@example.com,N/A,Select\n"))
    assert (job.created_count, job.updated_count) == (0, 1)
    ada = Lead.objects.get()
    assert (ada.company, ada.employees) == ("Acme", 10)


def test_a_user_mapping_overrides_the_guess_and_ignored_columns_are_dropped():
    job = _job("quoted_commas.csv", mapping={
        "Email Address": "email", "Notes": importing.IGNORE, "Industry": "", "Company": "company",
    })  # fmt: skip
    job = _run(job)
    ada = Lead.objects.get(email="ada@example.com")
    assert ada.industry == ""
    assert ada.attributes["Industry"] == "Software"
    # Columns left out of the mapping are kept as attributes, not lost.
    assert ada.first_name == ""
    assert ada.attributes.keys() >= {"First Name", "Industry"}
    assert "Notes" not in ada.attributes


# --------------------------------------------------------------- jobs: chunks, resume, failure


def test_a_job_stops_at_its_time_budget_and_resumes_without_counting_twice(monkeypatch):
    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)
    raw = b"email\n" + b"".join(f"p{i}@example.com\n".encode() for i in range(5))
    job = _job_from_bytes(raw)
    assert importing.import_job_run(job_id=job.pk, now=LATER, time_budget=0) is True
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count, job.percent) == ("running", 2, 2, 40)
    assert importing.import_job_run(job_id=job.pk, now=LATER) is False
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count) == ("done", 5, 5)
    assert Lead.objects.count() == 5


def test_running_a_finished_unconfirmed_or_missing_job_changes_nothing():
    job = _run(_job("quoted_commas.csv"))
    assert importing.import_job_run(job_id=job.pk, now=LATER) is False
    job.refresh_from_db()
    assert (job.created_count, job.updated_count) == (2, 0)
    assert importing.import_job_run(job_id=987654, now=LATER) is False
    upload = SimpleUploadedFile("x.csv", b"email\na@example.com\n")
    mapping_job = importing.import_job_create(upload=upload, source="", actor=None, now=NOW)
    assert importing.import_job_run(job_id=mapping_job.pk, now=LATER) is False
    mapping_job.refresh_from_db()
    assert mapping_job.status == ImportStatus.MAPPING
    assert Lead.objects.count() == 2


def test_a_job_whose_file_is_gone_fails_with_a_message():
    job = _job("quoted_commas.csv")
    Path(job.file.path).unlink()
    job = _run(job)
    assert job.status == ImportStatus.FAILED
    assert "could not be read" in job.failure


def test_stored_errors_are_capped_but_counted(monkeypatch):
    monkeypatch.setattr(importing, "MAX_STORED_ERRORS", 2)
    job = _run(_job_from_bytes(b"email\nbad1\nbad2\nbad3\nok@example.com\n"))
    assert (job.error_count, len(job.errors), job.created_count) == (3, 2, 1)


def test_the_error_download_repeats_each_rejected_row_as_it_was():
    job = _run(_job("tradeshow_tabs_cp1252.tsv"))
    import io

    out = io.StringIO()
    importing.import_errors_csv(job, out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("row,column,error,E-mail,First Name")
    assert lines[1].startswith(
        "3,E-mail,'not-an-email' is not a valid email address.,not-an-email,Bad,Row"
    )
    assert len(lines) == 4


def test_a_new_upload_is_refused_when_it_is_too_large(monkeypatch):
    monkeypatch.setattr(importing, "MAX_UPLOAD_BYTES", 10)
    with pytest.raises(importing.ImportFileError, match="limit"):
        _job_from_bytes(b"email\na@example.com\n")
    assert not ImportJob.objects.exists()


# --------------------------------------------------------------- the command


def test_the_command_imports_a_file_and_prints_the_counts(capsys):
    call_command("import_leads", str(FIXTURES / "crm_semicolon_bom.csv"), "--source", "crm")
    out = capsys.readouterr().out
    assert "Contact ID -> external_id" in out
    assert "3 created, 1 updated, 1 rows with errors" in out
    assert "row 6 [Country]: 'Atlantis' is not a country name" in out
    job = ImportJob.objects.get()
    assert (job.status, job.created_by, job.source) == ("done", None, "crm")
    assert Lead.objects.count() == 3


def test_the_command_takes_mapping_corrections(capsys):
    call_command(
        "import_leads",
        str(FIXTURES / "quoted_commas.csv"),
        "--map",
        "Industry=",
        "--map",
        "Notes=__ignore__",
    )
    ada = Lead.objects.get(email="ada@example.com")
    assert ada.attributes == {"Industry": "Software"}


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, [], "No such file"),
        (b"", [], "empty"),
        (b"PK\x03\x04xlsx", [], "Excel"),
        (b"Company,Notes\nAcme,x\n", [], "Email or External ID"),
        (b"Email\na@example.com\n", ["--map", "Email=favourite"], "not a lead field"),
        (b"Email\na@example.com\n", ["--map", "Email"], "HEADER=FIELD"),
    ],
)
def test_the_command_refuses_a_bad_file_or_mapping_with_a_clear_message(
    tmp_path, content, args, message
):
    path = tmp_path / "leads.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        call_command("import_leads", str(path), *args)
    assert not ImportJob.objects.exists()
