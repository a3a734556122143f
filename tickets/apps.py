from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_builtins(sender: AppConfig, **kwargs: Any) -> None:
    from tickets.services import ensure_builtins

    ensure_builtins()


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets and ticketboxes"

    def ready(self) -> None:
        from tickets import signals  # noqa: F401 - connects the agent onboarding receivers

        post_migrate.connect(_ensure_builtins, sender=self, dispatch_uid="tickets.builtins")
