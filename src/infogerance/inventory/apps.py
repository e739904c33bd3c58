from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "infogerance.inventory"
    label = "inventory"
    verbose_name = "Inventory"
