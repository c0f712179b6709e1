# syntax=docker/dockerfile:1
# One image for web, worker and beat (docker-compose.yml). Front-end packages come from npm in a
# build stage; the final image has no Node.js.

FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=civicpost.settings \
    CIVICPOST_STATICFILES_STORAGE=whitenoise.storage.CompressedManifestStaticFilesStorage \
    CIVICPOST_MEDIA_ROOT=/app/media
WORKDIR /app

RUN useradd --create-home --uid 10001 civicpost
# ffmpeg: video facts, poster frames and transcoding for platforms (medialibrary/video.py).
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
# psycopg2-binary ships its own libpq: no compiler or libpq-dev is needed.
COPY requirements/base.txt requirements/base.txt
RUN pip install -r requirements/base.txt

COPY --from=assets /app/node_modules ./node_modules
COPY . .
# The translation catalogues (locale/*.po -> .mo, pure Python); collectstatic needs no secrets or database;
# the fingerprinted files are served by WhiteNoise.
RUN python -m civicpost.catalogues compile --force \
    && DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /app/media && chown civicpost:civicpost /app/media

USER civicpost
EXPOSE 8000
CMD ["gunicorn", "civicpost.wsgi", "--preload", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-"]
