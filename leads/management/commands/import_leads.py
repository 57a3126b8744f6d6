from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from leads import importing
from leads.models import ImportJob, ImportStatus


class Command(BaseCommand):
    help = (
        "Import leads from a CSV file, here and now (no worker needed). Columns are mapped "
        "from their names; correct a guess with --map 'Header=field'."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The CSV file.")
        parser.add_argument("--source", default="", help="Source for rows without one.")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="HEADER=FIELD",
            help=(
                "Map a column to a lead field (repeatable). FIELD is one of: "
                + ", ".join(importing.TARGET_LABELS)
                + "; empty keeps the column as a custom attribute; "
                + f"{importing.IGNORE} skips it."
            ),
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Show the mapping and stop before importing."
        )

    def handle(self, *args, path, source, map, dry_run, **options):
        file_path = Path(path)
        if not file_path.is_file():
            raise CommandError(f"No such file: {path}")
        now = timezone.now()
        with file_path.open("rb") as handle:
            try:
                fmt = importing.sniff(handle)
                headers = importing.read_headers(handle, fmt)
            except importing.ImportFileError as exc:
                raise CommandError(f"{path}: {exc.message}") from None
            mapping = importing.auto_map(headers)
            for override in map:
                header, sep, target = override.partition("=")
                if not sep:
                    raise CommandError(f"--map needs HEADER=FIELD, got {override!r}.")
                mapping[header.strip()] = target.strip()
            try:
                mapping = importing.validate_mapping(headers, mapping)
            except importing.ApplicationError as exc:
                problems = "; ".join(
                    f"{'' if key == '__all__' else key + ': '}{m}"
                    for key, messages in exc.extra.items()
                    for m in messages
                )
                raise CommandError(f"{exc.message} {problems}") from None
            self._print_mapping(headers, mapping, fmt)
            if dry_run:
                return
            job = ImportJob(
                original_name=file_path.name[:255],
                source=source.strip(),
                status=ImportStatus.QUEUED,
                encoding=fmt.encoding,
                delimiter=fmt.delimiter,
                headers=headers,
                mapping=mapping,
                created_at=now,
            )
            handle.seek(0)
            job.file.save(file_path.name, File(handle), save=False)
            job.save()
        importing.import_job_run(job_id=job.pk, now=now, progress=self._progress)
        job.refresh_from_db()
        self.stdout.write("")
        if job.status == ImportStatus.FAILED:
            raise CommandError(f"Import #{job.pk} failed: {job.failure}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Import #{job.pk}: {job.created_count} created, {job.updated_count} updated, "
                f"{job.error_count} rows with errors."
            )
        )
        for error in job.errors[:20]:
            column = f" [{error['field']}]" if error["field"] else ""
            self.stdout.write(f"  row {error['row']}{column}: {error['message']}")
        if job.error_count > 20:
            self.stdout.write(f"  … and more: download them from /leads/import/{job.pk}/errors.csv")

    def _print_mapping(self, headers, mapping, fmt):
        delimiter = importing.DELIMITER_NAMES.get(fmt.delimiter, fmt.delimiter)
        self.stdout.write(f"{fmt.encoding}, {delimiter} separated; columns:")
        for header in headers:
            target = mapping[header]
            label = (
                "(custom attribute)"
                if target == importing.ATTRIBUTE
                else "(ignored)"
                if target == importing.IGNORE
                else target
            )
            self.stdout.write(f"  {header} -> {label}")

    def _progress(self, job: ImportJob) -> None:
        self.stdout.write(
            f"\r{job.processed_rows}/{job.total_rows} rows ({job.percent}%)", ending=""
        )
        self.stdout.flush()
