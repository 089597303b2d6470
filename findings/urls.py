from django.urls import path

from findings import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("principals/", views.principal_list, name="principal_list"),
    path("findings/", views.finding_list, name="finding_list"),
    path("keys/", views.key_list, name="key_list"),
    path("changes/", views.change_list, name="change_list"),
    path("trends/", views.trends, name="trends"),
    path("audit/", views.audit_list, name="audit_list"),
]
