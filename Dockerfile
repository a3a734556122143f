# mailflow image: one image for the web process (gunicorn), the Celery worker and Celery beat.
# docker-compose.yml runs all three from it; see docs/operations.md.
FROM python:3.11-slim

# PYTHONPATH=/app: the code runs from the source tree in /app, not from the copy pip puts in
# site-packages, because settings find templates/ and static/ relative to it (BASE_DIR).
# STATIC_ROOT is inside the image (outside the volumes); WhiteNoise serves it.
# WEB_CONCURRENCY is gunicorn's default worker count.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=mailflow.settings \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/data/media \
    MAILFLOW_VAR_DIR=/data/var \
    WEB_CONCURRENCY=3

RUN groupadd --system --gid 10001 mailflow \
    && useradd --system --uid 10001 --gid mailflow --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin mailflow

WORKDIR /app

# pyproject.toml and the source (.dockerignore keeps out .venv, var, .env, tests, ...).
COPY . .
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install . \
    && rm -rf build ./*.egg-info

# The production settings need a SECRET_KEY even to collect static files: a throwaway value
# for this RUN line only, not kept in the image. A scratch var dir keeps the build's side
# effects out of /data/var.
RUN SECRET_KEY=build-only DEBUG=0 MAILFLOW_VAR_DIR=/tmp/build-var \
        python manage.py collectstatic --noinput \
    && rm -rf /tmp/build-var

# Code stays root-owned (read-only for the app); only the data directories are writable.
RUN mkdir -p /data/media /data/var && chown -R mailflow:mailflow /data
VOLUME ["/data/media"]

USER mailflow
EXPOSE 8000

# /healthz checks the database and is exempt from the HTTPS redirect. The Host header is the
# first usable ALLOWED_HOSTS entry, so Django does not refuse the request as a disallowed host.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; h = next((x.strip().lstrip('.') for x in os.environ.get('ALLOWED_HOSTS', 'localhost').split(',') if x.strip() not in ('', '*')), 'localhost'); u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}), timeout=4)"]

# Keep these flags in step with the web service's command in docker-compose.yml.
CMD ["gunicorn", "mailflow.wsgi", \
     "--bind", "0.0.0.0:8000", \
     "--worker-class", "gthread", "--threads", "4", \
     "--worker-tmp-dir", "/dev/shm", \
     "--access-logfile", "-", "--error-logfile", "-"]
