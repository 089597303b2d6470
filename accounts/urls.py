from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.account_list, name="account_list"),
    path("link/", views.account_link, name="account_link"),
    path("<int:pk>/", views.account_detail, name="account_detail"),
    path("<int:pk>/edit/", views.account_edit, name="account_edit"),
]
