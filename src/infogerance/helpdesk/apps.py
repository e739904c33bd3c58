from django.apps import AppConfig


class HelpdeskConfig(AppConfig):
    name = "infogerance.helpdesk"
    label = "helpdesk"
    verbose_name = "Help desk"
