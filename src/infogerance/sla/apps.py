from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "infogerance.sla"
    label = "sla"
    verbose_name = "Service levels"
