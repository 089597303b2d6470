"""App config for the project package (templates, tasks, context processors, system checks)."""

from django.apps import AppConfig


class IamreviewConfig(AppConfig):
    name = "iamreview"
    verbose_name = "iamreview"

    def ready(self) -> None:
        from iamreview import checks  # noqa: F401  (registers the checks)
