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
    # Send the outbound spool's due mail (retries included).
    "conduit-spool-send": {"task": "conduit.spool_send", "schedule": 10.0},
    # Route stored mails whose route task was lost.
    "routing-route-unrouted": {"task": "routing.route_unrouted", "schedule": 120.0},
    # Alerts: ticket age, watermarks, escalation, mail sources; disk space; log retention.
    "alerts-ticket-age": {"task": "alerts.check_ticket_age", "schedule": 60.0},
    "alerts-watermarks": {"task": "alerts.check_watermarks", "schedule": 60.0},
    "alerts-escalations": {"task": "alerts.run_escalations", "schedule": 60.0},
    "alerts-sources": {"task": "alerts.check_sources", "schedule": 60.0},
    "alerts-disk": {"task": "alerts.check_disk", "schedule": 600.0},
    "alerts-purge-log": {"task": "alerts.purge_log", "schedule": 86400.0},
    # Report exports: delete old ones with their files, fail the ones no worker finished.
    "reports-tidy-exports": {"task": "reports.tidy_exports", "schedule": 3600.0},
    # Scheduled reports: mail the workbooks that are due.
    "reports-send-scheduled": {"task": "reports.send_scheduled", "schedule": 300.0},
}
