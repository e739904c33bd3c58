from django.urls import path

from infogerance.contracts import views

app_name = "contracts"

urlpatterns = [
    path("", views.contract_list, name="contracts"),
    path("<id:contract_id>/", views.contract_detail, name="contract"),
    path("<id:contract_id>/download/", views.contract_download, name="contract_download"),
    path("<id:contract_id>/diff/", views.contract_diff, name="contract_diff"),
    path("import/<id:org_id>/", views.contract_import, name="contract_import"),
]
