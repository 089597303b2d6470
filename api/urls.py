"""/api/v1/ (bearer tokens, JSON), the token and reference pages (a signed-in session), /metrics."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from accounts.roles import Role
from api import actions, pages, views
from api.auth import BearerTokenAuthentication, DeclaredMethods, RolePermission
from api.metrics import metrics


class SchemaView(DeclaredMethods, SpectacularAPIView):
    """The OpenAPI schema: for a token, or for the signed-in session of the reference page."""

    roles = {"GET": Role.VIEWER}
    permission_classes = [RolePermission]

    def get_authenticators(self):  # type: ignore[no-untyped-def]
        from rest_framework.authentication import SessionAuthentication

        return [BearerTokenAuthentication(), SessionAuthentication()]


def api(view: type, name: str, route: str):  # type: ignore[no-untyped-def]
    # LoginRequiredMiddleware would send a script to the login page: the API answers 401 itself.
    return path(f"api/v1/{route}", login_not_required(view.as_view()), name=name)  # type: ignore[attr-defined]


urlpatterns = [
    path("metrics", metrics, name="metrics"),
    path("api/tokens/", pages.api_tokens, name="api_tokens"),
    path("api/v1/docs/", pages.api_docs, name="api_docs"),
    api(SchemaView, "api_schema", "schema/"),
    api(views.PrincipalList, "api_principal_list", "principals/"),
    api(views.PrincipalDetail, "api_principal_detail", "principals/<int:pk>/"),
    api(views.FindingList, "api_finding_list", "findings/"),
    api(actions.FindingTriage, "api_finding_triage", "findings/triage/"),
    api(views.FindingDetail, "api_finding_detail", "findings/<int:pk>/"),
    api(views.SuggestionList, "api_suggestion_list", "suggestions/"),
    api(views.SuggestionDetail, "api_suggestion_detail", "suggestions/<int:pk>/"),
    api(actions.ChangeList, "api_change_list", "changes/"),
    api(views.ChangeDetail, "api_change_detail", "changes/<int:pk>/"),
    api(actions.ChangeDecide, "api_change_decide", "changes/<int:pk>/decide/"),
    api(actions.ChangeApply, "api_change_apply", "changes/<int:pk>/apply/"),
    api(actions.ChangeRollback, "api_change_rollback", "changes/<int:pk>/rollback/"),
    api(views.AccountList, "api_account_list", "accounts/"),
    api(views.AccountDetail, "api_account_detail", "accounts/<int:pk>/"),
    api(actions.AccountSync, "api_account_sync", "accounts/<int:pk>/sync/"),
    api(views.SyncRunList, "api_sync_run_list", "sync-runs/"),
    api(views.SyncRunDetail, "api_sync_run_detail", "sync-runs/<int:pk>/"),
    api(views.AuditList, "api_audit_list", "audit/"),
]
