# Production image: gunicorn serves the app; the same image runs the Celery worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    STATIC_MANIFEST=true WHITENOISE_USE_FINDERS=false STATIC_ROOT=/app/staticfiles

# xmlsec1 checks SAML signatures (accounts/saml.py).
RUN apt-get update && apt-get install -y --no-install-recommends xmlsec1 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --create-home --uid 10001 iamreview
WORKDIR /app

COPY pyproject.toml requirements.lock ./
COPY iamreview ./iamreview
COPY api ./api
COPY core ./core
COPY accounts ./accounts
COPY findings ./findings
COPY notify ./notify
COPY policy ./policy
COPY fakeaws ./fakeaws
RUN pip install -c requirements.lock .

COPY manage.py ./
COPY templates ./templates
COPY static ./static
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input -v 0

USER iamreview
EXPOSE 8000
# --keep-alive above any proxy's idle timeout: otherwise a reused connection can be closed under the client (measured in docs/reliability.md).
CMD ["gunicorn", "iamreview.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "2", "--timeout", "60", "--keep-alive", "75", "--access-logfile", "-"]
