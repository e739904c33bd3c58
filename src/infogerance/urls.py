from django.urls import include, path
from django.views.i18n import set_language

from infogerance.api import api
from infogerance.core import views as core_views
from infogerance.inventory.agent_api import agent_api

urlpatterns = [
    path("", include("infogerance.tenancy.urls")),
    path("accounts/", include("infogerance.accounts.urls")),
    path("audit/", include("infogerance.audit.urls")),
    path("contracts/", include("infogerance.contracts.urls")),
    path("tickets/", include("infogerance.helpdesk.urls")),
    path("knowledge/", include("infogerance.knowledge.urls")),
    path("reports/", include("infogerance.sla.urls")),
    path("inventory/", include("infogerance.inventory.urls")),
    path("backups/", include("infogerance.backups.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("healthz", core_views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("api/agent/v1/", agent_api.urls),
]

handler400 = "infogerance.core.views.bad_request"
handler403 = "infogerance.core.views.permission_denied"
handler404 = "infogerance.core.views.page_not_found"
handler500 = "infogerance.core.views.server_error"
