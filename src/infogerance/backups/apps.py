from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "infogerance.backups"
    label = "backups"
    verbose_name = "Backups"

    def ready(self) -> None:
        # Agents report backup runs and restore drills through inventory's agent API, which
        # hands these kinds to us (inventory sits below backups and never imports it).
        from infogerance.backups import agent_reports

        agent_reports.register()
