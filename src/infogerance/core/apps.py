from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "infogerance.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from infogerance.core import converters  # noqa: F401  (registers <id:…> in URLs)
