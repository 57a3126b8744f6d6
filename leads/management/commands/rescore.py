import os

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from leads.scoring.models import RescoreJob
from leads.scoring.services import active_model, rescore_run


class Command(BaseCommand):
    help = (
        "Rescore every lead under the active scoring model, here and now (the browser's "
        "button does the same in the background). Leads already handed off are not handed "
        "off again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chunk", type=int, default=2000, help="Leads per transaction.")
        parser.add_argument(
            "--nice",
            type=int,
            default=10,
            help="CPU priority to lower this process by (0 keeps it): a rescore is bulk "
            "work and should not slow the requests the same machine is serving.",
        )

    def handle(self, *args, chunk, nice, **options):
        if chunk < 1:
            raise CommandError("--chunk must be at least 1.")
        if not 0 <= nice <= 19:
            raise CommandError("--nice must be between 0 and 19.")
        if nice and hasattr(os, "nice"):
            os.nice(nice)
        model = active_model()
        if model is None:
            raise CommandError("There is no active scoring model; activate one first.")
        now = timezone.now()
        job = RescoreJob.objects.create(model=model, created_at=now)
        done = [0, 0]

        def progress(scored: int, qualified: int) -> None:
            done[0] += scored
            done[1] += qualified
            self.stdout.write(f"\r{done[0]:,} leads rescored, {done[1]:,} became MQL", ending="")
            self.stdout.flush()

        job = rescore_run(job=job, now=now, chunk=chunk, on_progress=progress)
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(
                f"Rescored {job.processed:,} leads under v{model.version} ({model.name}); "
                f"{job.became_mql:,} became MQL."
            )
        )
