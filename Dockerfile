# syntax=docker/dockerfile:1

# ---- build: install the app and its dependencies into a virtualenv
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install .

# ---- runtime: the virtualenv, migrations and a non-root user
FROM python:3.12-slim AS runtime
# PYTHONPATH: import `app` from /app, beside alembic.ini and migrations/.
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    HOURLINE_HOME=/var/lib/hourline \
    WEB_CONCURRENCY=2
RUN groupadd --system hourline \
    && useradd --system --gid hourline --home-dir /app --shell /usr/sbin/nologin hourline \
    && mkdir -p /var/lib/hourline \
    && chown hourline:hourline /var/lib/hourline
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=hourline:hourline alembic.ini ./
COPY --chown=hourline:hourline migrations ./migrations
COPY --chown=hourline:hourline app ./app
USER hourline
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/v1/health').status != 200)"
# DATABASE_URL, REDIS_URL, SMTP_URL and SECRET_KEY must be set; run `hourline worker`
# from the same image for background jobs.
CMD ["sh", "-c", "hourline migrate && exec hourline serve --host 0.0.0.0 --port 8000 --workers ${WEB_CONCURRENCY} --no-with-worker"]
