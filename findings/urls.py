from django.urls import path

from findings import change_views, trend_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("principals/", views.principal_list, name="principal_list"),
    path("principals/<int:pk>/", views.principal_detail, name="principal_detail"),
    path("findings/", views.finding_list, name="finding_list"),
    path("findings/bulk/", views.finding_bulk, name="finding_bulk"),
    path("findings/export.csv", views.finding_export, name="finding_export"),
    path("findings/review/", views.finding_review, name="finding_review"),
    path("findings/review/done/", views.finding_review_done, name="finding_review_done"),
    path("keys/", views.key_list, name="key_list"),
    path("changes/", change_views.change_list, name="change_list"),
    path("changes/<int:pk>/", change_views.change_detail, name="change_detail"),
    path("changes/<int:pk>/edit/", change_views.change_edit, name="change_edit"),
    path("changes/<int:pk>/decide/", change_views.change_decide, name="change_decide"),
    path("changes/<int:pk>/apply/", change_views.change_apply, name="change_apply"),
    path("changes/<int:pk>/rollback/", change_views.change_rollback, name="change_rollback"),
    path("changes/<int:pk>/add-back/", change_views.change_add_back, name="change_add_back"),
    path("changes/<int:pk>/export.<str:fmt>", change_views.change_export, name="change_export"),
    path("suggestions/<int:pk>/", change_views.suggestion_detail, name="suggestion_detail"),
    path("suggestions/<int:pk>/accept/", change_views.suggestion_accept, name="suggestion_accept"),
    path("suggestions/<int:pk>/export.<str:fmt>", change_views.suggestion_export, name="suggestion_export"),
    path("trends/", trend_views.trends, name="trends"),
    path("trends/data.csv", trend_views.trends_csv, name="trends_csv"),
    path("drift/", trend_views.drift, name="drift"),
    path("settings/", trend_views.profile_settings, name="profile_settings"),
    path("audit/", views.audit_list, name="audit_list"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
]
