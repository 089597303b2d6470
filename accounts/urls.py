from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.account_list, name="account_list"),
    path("link/", views.account_link, name="account_link"),
    path("discover/", views.organization_discover, name="organization_discover"),
    path("discover/link/", views.organization_link, name="organization_link"),
    path("<int:pk>/", views.account_detail, name="account_detail"),
    path("<int:pk>/edit/", views.account_edit, name="account_edit"),
    path("<int:pk>/sync/", views.account_sync, name="account_sync"),
    path("<int:pk>/test/", views.account_test_connection, name="account_test_connection"),
    path("<int:pk>/cloudformation.yaml", views.account_cloudformation, name="account_cloudformation"),
    path("<int:pk>/iamreview.tf", views.account_terraform, name="account_terraform"),
    path("runs/<int:pk>/", views.sync_run_detail, name="sync_run_detail"),
    path("checks/<int:pk>/", views.account_check_detail, name="account_check_detail"),
]
