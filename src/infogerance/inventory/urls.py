from django.urls import path

from infogerance.inventory import views

app_name = "inventory"

urlpatterns = [
    path("", views.asset_list, name="assets"),
    path("assets/new/", views.asset_create, name="asset_create"),
    path("assets/<id:asset_id>/", views.asset_detail, name="asset"),
    path("assets/<id:asset_id>/edit/", views.asset_edit, name="asset_edit"),
    path("assets/<id:asset_id>/diff/", views.asset_diff, name="asset_diff"),
    path("agents/", views.agent_list, name="agents"),
    path("agents/<id:agent_id>/revoke/", views.agent_revoke, name="agent_revoke"),
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/<id:enrollment_token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("licences/", views.licence_list, name="licences"),
    path("audit/<id:client_id>/", views.audit_report, name="audit"),
]
