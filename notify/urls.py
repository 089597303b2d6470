from django.urls import path

from notify import views

urlpatterns = [
    path("", views.channel_list, name="channel_list"),
    path("new/", views.channel_create, name="channel_create"),
    path("<int:pk>/", views.channel_detail, name="channel_detail"),
    path("<int:pk>/deliveries/", views.channel_deliveries, name="channel_deliveries"),
    path("<int:pk>/test/", views.channel_test_send, name="channel_test"),
    path("<int:pk>/rotate-secret/", views.channel_rotate, name="channel_rotate_secret"),
    path("<int:pk>/delete/", views.channel_remove, name="channel_delete"),
]
