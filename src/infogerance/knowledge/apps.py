from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "infogerance.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge base"
