from django.urls import path

from infogerance.backups import views

app_name = "backups"

urlpatterns = [
    path("", views.repository_list, name="repositories"),
    path("new/", views.repository_create, name="repository_create"),
    path("<id:repository_id>/", views.repository_detail, name="repository"),
    path("<id:repository_id>/edit/", views.repository_edit, name="repository_edit"),
]
