from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "infogerance.sla"
    label = "sla"
    verbose_name = "Service levels"

    def ready(self) -> None:
        from infogerance.sla import tasks  # noqa: F401
