from django.urls import path

from findings import views

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
    path("changes/", views.change_list, name="change_list"),
    path("trends/", views.trends, name="trends"),
    path("audit/", views.audit_list, name="audit_list"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
]
