"""App config for the project package (templates, tasks, context processors)."""

from django.apps import AppConfig


class IamreviewConfig(AppConfig):
    name = "iamreview"
    verbose_name = "iamreview"
