"""The import pages: who may use them, upload, mapping preview, progress and errors."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from leads import importing
from leads.models import ImportJob, ImportStatus, Lead
from leads.tasks import import_run

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def sent(monkeypatch):
    """Task ids sent to the broker, instead of sending them."""
    calls = []
    monkeypatch.setattr(import_run, "delay", lambda job_id: calls.append(job_id))
    return calls


def _upload(client, name="crm_semicolon_bom.csv", source="crm"):
    with (FIXTURES / name).open("rb") as f:
        return client.post(reverse("leads:import"), {"file": f, "source": source})


def _mapping_job(name="crm_semicolon_bom.csv", actor=None) -> ImportJob:
    upload = SimpleUploadedFile(name, (FIXTURES / name).read_bytes())
    return importing.import_job_create(upload=upload, source="crm", actor=actor, now=NOW)


def _post_mapping(client, job, overrides=None):
    data = {f"col_{i}": job.mapping[h] for i, h in enumerate(job.headers)}
    data.update(overrides or {})
    return client.post(reverse("leads:import_mapping", args=[job.pk]), data)


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(reverse("leads:import"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("actor", ["rep", "sales_manager", "outsider"])
@pytest.mark.parametrize(
    "url_name", ["import", "import_mapping", "import_progress", "import_errors"]
)
def test_people_without_the_import_permission_are_refused(request, client_for, actor, url_name):
    job = _mapping_job()
    args = [] if url_name == "import" else [job.pk]
    client = client_for(request.getfixturevalue(actor))
    assert client.get(reverse(f"leads:{url_name}", args=args)).status_code == 403
    assert client.post(reverse("leads:import_cancel", args=[job.pk])).status_code == 403
    assert ImportJob.objects.filter(pk=job.pk).exists()


def test_the_import_page_says_when_there_is_no_history_yet(client_for, marketer):
    response = client_for(marketer).get(reverse("leads:import"))
    assert response.status_code == 200
    assert "No imports yet" in response.text
    assert 'type="file"' in response.text


def test_an_upload_leads_to_a_preview_with_the_guessed_mapping(client_for, marketer):
    client = client_for(marketer)
    response = _upload(client)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("leads:import_mapping", args=[job.pk])
    assert (job.created_by, job.source, job.status) == (marketer, "crm", ImportStatus.MAPPING)
    assert (job.encoding, job.delimiter) == ("utf-8-sig", ";")

    page = client.get(response.url)
    assert page.status_code == 200
    assert "semicolon separated" in page.text
    assert "Analytical Engines; Ltd" in page.text
    form = page.context["form"]
    assert form["col_0"].value() == "external_id"
    assert form["col_10"].value() == importing.ATTRIBUTE  # Favourite colour
    assert '<option value="external_id" selected>' in page.text


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"PK\x03\x04not really xlsx", "Excel"), (b"", "empty")],
)
def test_an_upload_that_is_not_a_csv_is_refused_on_the_form(client_for, marketer, content, message):
    response = client_for(marketer).post(
        reverse("leads:import"), {"file": SimpleUploadedFile("leads.xlsx", content)}
    )
    assert response.status_code == 200
    assert message in response.text
    assert not ImportJob.objects.exists()


def test_a_mapping_without_an_identity_column_is_sent_back_with_an_error(
    client_for, marketer, sent
):
    job = _mapping_job()
    response = _post_mapping(client_for(marketer), job, {"col_0": importing.ATTRIBUTE})
    assert response.status_code == 200
    assert "Map a column to Email or External ID" in response.text
    job.refresh_from_db()
    assert job.status == ImportStatus.MAPPING
    assert sent == []


def test_a_field_mapped_twice_is_flagged_on_its_column(client_for, marketer, sent):
    job = _mapping_job()
    response = _post_mapping(client_for(marketer), job, {"col_2": "external_id"})
    assert response.status_code == 200
    assert response.context["form"].errors["col_2"] == [
        "External ID is already mapped from 'Contact ID'."
    ]


def test_confirming_the_mapping_queues_the_job_after_commit(
    client_for, marketer, sent, django_capture_on_commit_callbacks
):
    job = _mapping_job()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _post_mapping(client_for(marketer), job, {"col_11": importing.IGNORE})
    assert response.status_code == 302
    assert response.url == reverse("leads:import_progress", args=[job.pk])
    assert len(callbacks) == 1
    assert sent == [job.pk]
    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED
    assert job.mapping["Zip"] == importing.IGNORE


def test_a_started_job_cannot_be_mapped_again(client_for, marketer, sent):
    job = _mapping_job()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    client = client_for(marketer)
    response = _post_mapping(client, job, {"col_0": importing.ATTRIBUTE})
    assert response.url == reverse("leads:import_progress", args=[job.pk])
    assert client.get(reverse("leads:import_mapping", args=[job.pk])).status_code == 302
    assert sent == []


def test_the_progress_partial_reports_counts_and_keeps_polling_while_running(client_for, marketer):
    job = _mapping_job()
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, total_rows=4000, processed_rows=1000,
        created_count=900, updated_count=80, error_count=20,
    )  # fmt: skip
    response = client_for(marketer).get(
        reverse("leads:import_progress", args=[job.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'hx-trigger="every 1s"' in response.text
    assert 'aria-valuenow="25"' in response.text
    assert "1,000 of 4,000 rows" in response.text
    assert 'data-testid="created-count">900<' in response.text
    assert 'data-testid="updated-count">80<' in response.text
    assert 'data-testid="error-count">20<' in response.text


def test_the_progress_page_stops_polling_and_sums_up_when_done(client_for, marketer):
    job = _mapping_job()
    importing.import_job_queue(job=job, mapping=job.mapping)
    importing.import_job_run(job_id=job.pk, now=NOW)
    client = client_for(marketer)
    page = client.get(reverse("leads:import_progress", args=[job.pk]))
    assert "<html" in page.text
    assert "every 1s" not in page.text  # the progress bar stopped polling
    assert "3 new, 1 updated, 1 rejected" in page.text
    assert "&#x27;Atlantis&#x27; is not a country name" in page.text
    assert reverse("leads:import_errors", args=[job.pk]) in page.text
    partial = client.get(
        reverse("leads:import_progress", args=[job.pk]), headers={"HX-Request": "true"}
    )
    assert "every 1s" not in partial.text
    assert 'data-status="done"' in partial.text


def test_a_failed_job_says_why(client_for, marketer):
    job = _mapping_job()
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.FAILED, failure="The file could not be read: gone."
    )
    page = client_for(marketer).get(reverse("leads:import_progress", args=[job.pk]))
    assert "The file could not be read: gone." in page.text
    assert "every 1s" not in page.text  # the progress bar stopped polling


def test_rejected_rows_download_as_csv_with_their_original_values(client_for, marketer):
    job = _mapping_job("tradeshow_tabs_cp1252.tsv")
    importing.import_job_queue(job=job, mapping=job.mapping)
    importing.import_job_run(job_id=job.pk, now=NOW)
    response = client_for(marketer).get(reverse("leads:import_errors", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="import-{job.pk}-errors.csv"' in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == (
        "row,column,error,E-mail,First Name,Last Name,Company,Annual Revenue,Do Not Call,"
        "T-shirt size,Converted"
    )
    assert lines[2] == "4,Do Not Call,Use yes or no.,sam@example.com,Sam,,Sam & Co,N/A,maybe,S,"
    assert len(lines) == 4


def test_an_unstarted_import_can_be_cancelled_and_its_file_is_removed(client_for, marketer):
    job = _mapping_job()
    path = Path(job.file.path)
    response = client_for(marketer).post(reverse("leads:import_cancel", args=[job.pk]))
    assert response.url == reverse("leads:import")
    assert not ImportJob.objects.exists()
    assert not path.exists()


def test_a_started_import_cannot_be_cancelled(client_for, marketer):
    job = _mapping_job()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.DONE)
    client_for(marketer).post(reverse("leads:import_cancel", args=[job.pk]))
    assert ImportJob.objects.filter(pk=job.pk).exists()


def test_the_import_history_lists_jobs_with_a_bounded_number_of_queries(
    client_for, marketer, marketing_manager, django_assert_max_num_queries
):
    client = client_for(marketer)
    for i in range(25):
        ImportJob.objects.create(
            original_name=f"list-{i}.csv", created_by=marketer if i % 2 else marketing_manager,
            status=ImportStatus.DONE, created_count=i, created_at=NOW,
        )  # fmt: skip
    client.get(reverse("leads:import"))  # warm the session and permission caches
    with django_assert_max_num_queries(8):
        response = client.get(reverse("leads:import"))
    assert response.status_code == 200
    assert response.text.count("list-") == 20
    assert "Page 1 of 2" in response.text


def test_a_marketing_manager_may_import_too(client_for, marketing_manager, sent):
    client = client_for(marketing_manager)
    assert _upload(client, "quoted_commas.csv").status_code == 302
    assert Lead.objects.count() == 0  # nothing is written before the mapping is confirmed


def test_the_summary_says_how_long_the_import_took(client_for, marketer):
    from datetime import timedelta

    job = _mapping_job()
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.DONE, started_at=NOW, finished_at=NOW + timedelta(seconds=65)
    )
    page = client_for(marketer).get(reverse("leads:import_progress", args=[job.pk]))
    assert "Finished in 1 min 5 s:" in page.text
