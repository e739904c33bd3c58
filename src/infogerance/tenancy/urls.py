from django.urls import path

from infogerance.tenancy import views

app_name = "tenancy"

urlpatterns = [
    path("", views.home, name="home"),
    path("organizations/", views.organization_list, name="organizations"),
    path("organizations/<int:org_id>/", views.organization_detail, name="organization"),
    path("organizations/<int:org_id>/edit/", views.organization_edit, name="organization_edit"),
    path(
        "organizations/<int:org_id>/clients/new/", views.organization_create, name="client_create"
    ),
    path("organizations/<int:org_id>/members/new/", views.member_invite, name="member_invite"),
    path("memberships/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("users/<int:user_id>/active/", views.user_active, name="user_active"),
    path("memberships/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
]
