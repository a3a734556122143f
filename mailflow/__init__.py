"""mailflow: a self-hosted email help desk."""

from mailflow.celery import app as celery_app

__all__ = ["celery_app"]
