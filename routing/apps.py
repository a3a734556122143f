from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing engine"

    def ready(self) -> None:
        from routing import checks, signals

        signals.connect()
        checks.register()
