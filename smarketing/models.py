from django.db import models


class Heartbeat(models.Model):
    """When a Celery worker last ran the heartbeat task; /healthz reads it."""

    name = models.CharField(max_length=50, primary_key=True)
    beat_at = models.DateTimeField()
    hostname = models.CharField(max_length=200, blank=True)

    def __str__(self):
        return f"{self.name} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"
