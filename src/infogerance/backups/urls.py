from django.urls import path

from infogerance.backups import views

app_name = "backups"

urlpatterns = [
    path("", views.repository_list, name="repositories"),
    path("<id:repository_id>/", views.repository_detail, name="repository"),
]
