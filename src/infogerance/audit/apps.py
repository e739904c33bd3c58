from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "infogerance.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from infogerance.audit import tasks  # noqa: F401
