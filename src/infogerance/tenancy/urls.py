from django.urls import path

from infogerance.tenancy import views

app_name = "tenancy"

urlpatterns = [
    path("", views.home, name="home"),
    path("organizations/", views.organization_list, name="organizations"),
    path("organizations/<id:org_id>/", views.organization_detail, name="organization"),
    path("organizations/<id:org_id>/edit/", views.organization_edit, name="organization_edit"),
    path("organizations/<id:org_id>/clients/new/", views.organization_create, name="client_create"),
    path("organizations/<id:org_id>/members/new/", views.member_invite, name="member_invite"),
    path("memberships/<id:membership_id>/role/", views.member_role, name="member_role"),
    path("users/<id:user_id>/active/", views.user_active, name="user_active"),
    path("memberships/<id:membership_id>/remove/", views.member_remove, name="member_remove"),
]
