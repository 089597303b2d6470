"""iamreview: continuous least-privilege review of AWS IAM."""

from iamreview.celery import app as celery_app

__all__ = ["celery_app"]
