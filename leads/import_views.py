"""CSV import pages: upload, map columns on a preview, follow progress, download errors."""

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leads import importing
from leads.import_forms import ImportMappingForm, ImportUploadForm
from leads.models import ImportJob, ImportStatus
from leads.tasks import import_run
from smarketing.models import AuditLog

import_permission = permission_required("leads.import_leads", raise_exception=True)


def get_import_for_user(user, pk: int) -> ImportJob:
    """Imports are a shared team history: whoever may import may see every import."""
    return get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)


@import_permission
@require_http_methods(["GET", "POST"])
def import_home(request):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = importing.import_job_create(
                upload=form.cleaned_data["file"],
                source=form.cleaned_data["source"],
                actor=request.user,
                now=timezone.now(),
            )
        except importing.ImportFileError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("leads:import_mapping", pk=job.pk)
    jobs = Paginator(ImportJob.objects.select_related("created_by"), 20).get_page(
        request.GET.get("page")
    )
    return render(request, "leads/import_home.html", {"form": form, "jobs": jobs})


@import_permission
@require_http_methods(["GET", "POST"])
def import_mapping(request, pk: int):
    job = get_import_for_user(request.user, pk)
    if job.status != ImportStatus.MAPPING:
        return redirect("leads:import_progress", pk=job.pk)
    form = ImportMappingForm(request.POST or None, headers=job.headers, initial_mapping=job.mapping)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                importing.import_job_queue(job=job, mapping=form.mapping())
                transaction.on_commit(lambda: import_run.delay(job.pk))
        except importing.ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("leads:import_progress", pk=job.pk)
    try:
        preview = importing.import_job_preview(job)
    except (UnicodeDecodeError, OSError, csv.Error) as exc:
        messages.error(request, f"The file cannot be read any more: {exc}")
        preview = []
    return render(
        request,
        "leads/import_mapping.html",
        {
            "job": job,
            "form": form,
            "preview": preview,
            "delimiter_name": importing.DELIMITER_NAMES.get(job.delimiter, job.delimiter),
        },
    )


@import_permission
@require_POST
def import_cancel(request, pk: int):
    job = get_import_for_user(request.user, pk)
    if job.status != ImportStatus.MAPPING:
        messages.error(request, "This import has already started and cannot be cancelled.")
        return redirect("leads:import_progress", pk=job.pk)
    job.file.delete(save=False)
    job.delete()
    messages.info(request, f"The import of {job.original_name} was cancelled.")
    return redirect("leads:import")


@import_permission
@require_GET
def import_progress(request, pk: int):
    job = get_import_for_user(request.user, pk)
    template = (
        "leads/import_progress_partial.html" if request.htmx else "leads/import_progress.html"
    )
    response = render(
        request,
        template,
        {"job": job, "finished": _finished(job), "took": _took(job)},
    )
    response["Cache-Control"] = "no-store"
    return response


def _took(job: ImportJob) -> str:
    """How long the import ran, in the seconds people can feel (timesince stops at minutes)."""
    if not (job.started_at and job.finished_at):
        return ""
    seconds = max(0, round((job.finished_at - job.started_at).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def _finished(job: ImportJob) -> bool:
    return job.status in (ImportStatus.DONE, ImportStatus.FAILED)


@import_permission
@require_GET
def import_errors(request, pk: int):
    job = get_import_for_user(request.user, pk)
    out = io.StringIO()
    out.write("\ufeff")  # so that Excel opens accented names correctly
    importing.import_errors_csv(job, out)
    # The rejected rows carry the uploaded personal data: who downloaded them is recorded.
    AuditLog.record(action="import.errors_export", obj=job, now=timezone.now(), actor=request.user)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response
