from django.urls import path

from infogerance.sla import views

app_name = "sla"

urlpatterns = [
    path("", views.report_list, name="reports"),
    path("compute/", views.report_compute, name="report_compute"),
    path("<id:report_id>/", views.report_detail, name="report"),
    path("<id:report_id>/submit/", views.report_submit, name="report_submit"),
    path("<id:report_id>/freeze/", views.report_freeze, name="report_freeze"),
    path("<id:report_id>/recompute/", views.report_recompute, name="report_recompute"),
    path("<id:report_id>/disputes/", views.dispute_open, name="dispute_open"),
    path(
        "<id:report_id>/disputes/<id:dispute_id>/decision/",
        views.dispute_decide,
        name="dispute_decide",
    ),
    path("<id:report_id>/export.json", views.export_json, name="export_json"),
    path("<id:report_id>/results.csv", views.export_results, name="export_results"),
    path("<id:report_id>/items.csv", views.export_items, name="export_items"),
    path("<id:report_id>/penalties.csv", views.export_penalties, name="export_penalties"),
    path("<id:report_id>/report.pdf", views.export_pdf, name="export_pdf"),
    path("<id:report_id>/pack.pdf", views.export_pack, name="export_pack"),
    path("<id:report_id>/meetings/", views.meeting_record, name="meeting_record"),
    path("meetings/<id:meeting_id>/", views.meeting_detail, name="meeting"),
    path("meetings/<id:meeting_id>/actions/", views.action_add, name="action_add"),
    path(
        "meetings/<id:meeting_id>/actions/<id:action_id>/close/",
        views.action_close,
        name="action_close",
    ),
]
