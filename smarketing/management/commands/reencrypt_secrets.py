from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from smarketing import crypto
from smarketing.notifications.services import webhook_secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored webhook secret under the first key of FIELD_ENCRYPTION_KEYS "
        "(after putting a new key first); with --check, only report. See docs/reliability.md, "
        '"Secrets at rest".'
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; count secrets under an older key and any no key opens.",
        )
        parser.add_argument(
            "--print-derived-key",
            action="store_true",
            help="Print the key derived from SECRET_KEY (the one in use while "
            "FIELD_ENCRYPTION_KEYS is unset), to list it in FIELD_ENCRYPTION_KEYS before "
            "moving to your own key or changing SECRET_KEY.",
        )

    def handle(self, *args, check, print_derived_key, **options):
        if print_derived_key:
            self.stdout.write(crypto.derived_key(settings.SECRET_KEY))
            return
        report = webhook_secrets_reencrypt(write=not check)
        verb = "need re-encrypting" if check else "re-encrypted"
        self.stdout.write(
            f"Webhook endpoints: {report.rewritten} {verb}, "
            f"{report.current} already under the current key, {len(report.failed)} unreadable."
        )
        for pk, reason in report.failed.items():
            self.stderr.write(f"  endpoint {pk}: {reason}")
        if report.failed:
            raise CommandError(
                f"{len(report.failed)} endpoint secret(s) could not be decrypted with any key; "
                "they were left as they are."
            )
