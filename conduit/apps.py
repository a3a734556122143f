from django.apps import AppConfig


class ConduitConfig(AppConfig):
    name = "conduit"
    verbose_name = "Conduit (mail in and out)"

    def ready(self) -> None:
        from conduit import checks  # noqa: F401 - registers the system checks
