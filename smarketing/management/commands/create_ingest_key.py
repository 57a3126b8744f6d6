from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from smarketing.models import AuditLog, IngestKey


class Command(BaseCommand):
    help = (
        "Create an ingest key named NAME and print it once (use it as "
        "'Authorization: Api-Key <key>' on POST /api/v1/leads/ and /api/v1/events/). "
        "With --revoke, revoke the key(s) with that prefix instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="What the key is for, e.g. 'website' or 'hubspot sync'.")
        parser.add_argument(
            "--revoke",
            metavar="PREFIX",
            help="Revoke the key whose prefix (first 8 characters) is PREFIX.",
        )

    def handle(self, *args, name, revoke, **options):
        now = timezone.now()
        if revoke:
            key = IngestKey.objects.filter(prefix=revoke, name=name).first()
            if key is None:
                raise CommandError(f"No ingest key named {name!r} with prefix {revoke!r}.")
            key.revoke(now=now)
            AuditLog.record(action="ingest_key.revoke", obj=key, now=now)
            self.stdout.write(f"Revoked {key}.")
            return
        if not name.strip():
            raise CommandError("Give the key a name.")
        key, raw = IngestKey.issue(name=name.strip(), now=now)
        AuditLog.record(action="ingest_key.create", obj=key, now=now, details={"name": key.name})
        self.stderr.write(f"Ingest key {key.name!r} (prefix {key.prefix}); it is shown only once:")
        self.stdout.write(raw)
