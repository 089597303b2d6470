"""What both apps need and neither owns: the audit log, background-job rows, htmx responses, parameters."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"
