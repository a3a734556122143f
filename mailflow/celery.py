"""The Celery app and the beat schedule.

Tasks are thin wrappers around service functions in each app's ``tasks.py``; beat
entries are added here as the apps gain periodic jobs.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailflow.settings")

app = Celery("mailflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["mailflow"])

app.conf.beat_schedule = {
    # Queue a fetch for each mail source whose check interval has passed.
    "conduit-fetch-due-sources": {"task": "conduit.fetch_due_sources", "schedule": 10.0},
    # Route stored mails whose route task was lost.
    "routing-route-unrouted": {"task": "routing.route_unrouted", "schedule": 120.0},
}
