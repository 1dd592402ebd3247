# Wharf in one image: `docker build -t wharf .`, or `docker compose up` with compose.yaml (PostgreSQL + MinIO).
# Two stages: the build stage installs Wharf and its dependencies into a virtualenv (pip, setuptools and the
# build's caches stay there); the runtime stage gets only that virtualenv (templates are package data).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/wharf
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY registry ./registry
COPY licensing ./licensing
COPY portal_vendor ./portal_vendor
COPY portal_customer ./portal_customer
COPY templates ./templates
RUN /opt/wharf/bin/pip install . && /opt/wharf/bin/pip uninstall -y pip setuptools

FROM python:3.11-slim
RUN groupadd --system --gid 10001 wharf \
    && useradd --system --uid 10001 --gid wharf --home-dir /var/lib/wharf --shell /usr/sbin/nologin wharf \
    && mkdir -p /var/lib/wharf \
    && chown wharf:wharf /var/lib/wharf
COPY --from=build /opt/wharf /opt/wharf
ENV PATH=/opt/wharf/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    WHARF_HOST=0.0.0.0 \
    WHARF_PORT=5000 \
    WHARF_DATA_DIR=/var/lib/wharf \
    WHARF_LOG_FORMAT=json
USER wharf
WORKDIR /var/lib/wharf
# The embedded SQLite database (when no WHARF_DATABASE_URL), filesystem blobs and the audit spool.
VOLUME ["/var/lib/wharf"]
EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/readyz' % os.environ['WHARF_PORT'], timeout=4)"
CMD ["wharf", "serve"]
