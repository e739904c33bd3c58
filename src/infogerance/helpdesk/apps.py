from django.apps import AppConfig


class HelpdeskConfig(AppConfig):
    name = "infogerance.helpdesk"
    label = "helpdesk"
    verbose_name = "Help desk"

    def ready(self) -> None:
        from infogerance.helpdesk import tasks  # noqa: F401
