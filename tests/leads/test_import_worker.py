"""The browser import end to end through a real Celery worker."""

import importlib
from pathlib import Path

import pytest
from django.urls import reverse

from leads.models import ImportJob, ImportStatus, Lead
from tests.conftest import wait_for

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def seeded_stages(transactional_db):
    """An earlier transactional test may have flushed the stages the migration seeded
    (the role groups come back by themselves: flush re-runs post_migrate). The migration's
    own seed is idempotent, so run it again rather than restore a serialized copy that
    would clash with those groups."""
    from django.apps import apps

    seed_module = importlib.import_module("leads.migrations.0003_seed_stages")
    seed_module.seed(apps, None)


def test_an_upload_is_imported_by_the_worker_and_the_progress_page_follows_it(
    seeded_stages, celery_worker, client_for, marketer
):
    client = client_for(marketer)
    with (FIXTURES / "crm_semicolon_bom.csv").open("rb") as f:
        response = client.post(reverse("leads:import"), {"file": f, "source": "crm"})
    job = ImportJob.objects.get()
    mapping_page = client.get(response.url)
    form = mapping_page.context["form"]
    data = {name: form[name].value() for name in form.fields}
    response = client.post(reverse("leads:import_mapping", args=[job.pk]), data)
    assert response.url == reverse("leads:import_progress", args=[job.pk])

    wait_for(lambda: ImportJob.objects.filter(pk=job.pk, status=ImportStatus.DONE).exists())
    job.refresh_from_db()
    assert (job.created_count, job.updated_count, job.error_count) == (3, 1, 1)
    assert Lead.objects.filter(source="crm", external_id="C-001", country="DE").exists()
    partial = client.get(
        reverse("leads:import_progress", args=[job.pk]), headers={"HX-Request": "true"}
    )
    assert 'data-status="done"' in partial.text
    assert "every 1s" not in partial.text


@pytest.mark.django_db
def test_the_task_sends_itself_again_while_rows_remain_and_ignores_missing_jobs(monkeypatch):
    from leads import importing, tasks

    answers = iter([True, False])
    sent = []
    monkeypatch.setattr(importing, "import_job_run", lambda **kwargs: next(answers))
    monkeypatch.setattr(tasks.import_run, "delay", lambda job_id: sent.append(job_id))
    tasks.import_run(41)
    assert sent == [41]
    tasks.import_run(41)
    assert sent == [41]


@pytest.mark.django_db
def test_the_task_returns_quietly_for_a_job_that_is_gone():
    from leads.tasks import import_run

    assert import_run(123456) is None
