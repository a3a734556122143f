"""System checks for report settings: a wrong setting is refused with what to fix."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


def check_report_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    keep = settings.MAILFLOW["REPORT_EXPORT_KEEP_DAYS"]
    if keep >= 0:
        return []
    return [
        checks.Error(
            f"MAILFLOW_REPORT_EXPORT_KEEP_DAYS is {keep}.",
            hint="Set it to the days report exports are kept (7 is usual), or 0 to keep them.",
            id="mailflow.E301",
        )
    ]


def register() -> None:
    checks.register(check_report_settings)
