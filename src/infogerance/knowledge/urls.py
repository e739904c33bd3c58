from django.urls import path

from infogerance.knowledge import views

app_name = "knowledge"

urlpatterns = [
    path("", views.article_list, name="articles"),
    path("new/", views.article_create, name="article_create"),
    path("<id:article_id>/", views.article_detail, name="article"),
    path("<id:article_id>/versions/<id:number>/", views.article_version, name="article_version"),
    path("<id:article_id>/edit/", views.article_edit, name="article_edit"),
    path("<id:article_id>/tickets/", views.article_link, name="article_link"),
    path(
        "<id:article_id>/tickets/<id:ticket_id>/unlink/",
        views.article_unlink,
        name="article_unlink",
    ),
    path("<id:article_id>/archive/", views.article_archive, name="article_archive"),
]
