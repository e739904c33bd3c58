from django.urls import path

from infogerance.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.event_list, name="events"),
    path("<id:event_id>/", views.event_detail, name="event"),
]
