from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "infogerance.contracts"
    label = "contracts"
    verbose_name = "Contracts"
