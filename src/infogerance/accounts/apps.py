from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "infogerance.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from infogerance.accounts import signals  # noqa: F401
