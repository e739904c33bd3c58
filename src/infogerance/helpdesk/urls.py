from django.urls import path

from infogerance.helpdesk import views

app_name = "helpdesk"

urlpatterns = [
    path("", views.ticket_list, name="tickets"),
    path("new/", views.ticket_create, name="ticket_create"),
    path("notifications/", views.notifications, name="notifications"),
    path("assign/", views.ticket_bulk_assign, name="ticket_bulk_assign"),
    path("<id:ticket_id>/", views.ticket_detail, name="ticket"),
    path("<id:ticket_id>/clocks/", views.ticket_clocks_partial, name="ticket_clocks"),
    path("<id:ticket_id>/transition/", views.ticket_transition, name="ticket_transition"),
    path("<id:ticket_id>/take/", views.ticket_take, name="ticket_take"),
    path("<id:ticket_id>/comment/", views.ticket_comment, name="ticket_comment"),
    path("<id:ticket_id>/reopen/", views.ticket_reopen, name="ticket_reopen"),
    path("<id:ticket_id>/survey/", views.ticket_survey, name="ticket_survey"),
    path("<id:ticket_id>/attachments/", views.ticket_attach, name="ticket_attach"),
    path(
        "<id:ticket_id>/attachments/<id:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
]
