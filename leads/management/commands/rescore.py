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

    def handle(self, *args, chunk, **options):
        if chunk < 1:
            raise CommandError("--chunk must be at least 1.")
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
