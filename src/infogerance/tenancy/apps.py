from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "infogerance.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"
