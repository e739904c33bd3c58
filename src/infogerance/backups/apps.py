from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "infogerance.backups"
    label = "backups"
    verbose_name = "Backups"
