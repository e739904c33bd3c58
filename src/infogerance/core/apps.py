from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "infogerance.core"
    label = "core"
    verbose_name = "Core"
