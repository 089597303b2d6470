"""The REST API under /api/v1/, its bearer tokens, and the Prometheus metrics at /metrics."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API and metrics"
