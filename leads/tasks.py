from celery import shared_task
from django.utils import timezone

from leads import importing

# Below CELERY_TASK_SOFT_TIME_LIMIT: a big file is imported over several task runs, each
# resuming after the last committed chunk.
IMPORT_TIME_BUDGET_SECONDS = 300


@shared_task(ignore_result=True)
def import_run(job_id: int) -> None:
    more = importing.import_job_run(
        job_id=job_id, now=timezone.now(), time_budget=IMPORT_TIME_BUDGET_SECONDS
    )
    if more:
        import_run.delay(job_id)
