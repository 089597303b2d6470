"""Principals, findings, scores, suggestions, change requests, audit log and digests."""

from django.apps import AppConfig


class FindingsConfig(AppConfig):
    name = "findings"
    verbose_name = "Findings"
