# Slim runtime image: non-root, migrations applied at start, seed catalogue imported.
# SQLite by default (a volume at /data); set INDICATOR_DATABASE_URL for PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    INDICATOR_DATABASE_URL=sqlite:////data/indicator.db \
    INDICATOR_MIGRATE_ON_START=true \
    INDICATOR_SEED_PATH=/app/catalog

RUN groupadd --system app && useradd --system --gid app --home-dir /app app \
    && mkdir -p /app /data && chown app:app /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY indicator_service ./indicator_service
RUN pip install --no-cache-dir .
COPY catalog ./catalog

USER app
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"]
CMD ["indicator-service", "serve", "--host", "0.0.0.0", "--port", "8000"]
