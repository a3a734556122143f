from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and logging"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from alerts.logging import connect_flush_points, forget_policy
        from alerts.models import LogPolicy

        connect_flush_points()
        for signal in (post_save, post_delete):
            signal.connect(
                lambda **_: forget_policy(), sender=LogPolicy, weak=False, dispatch_uid="logpolicy"
            )
