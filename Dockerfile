# Image for every aftersales process: `aftersales api` (default), `aftersales worker`,
# `aftersales migrate`. Built by docker-compose.yml; see docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AFTERSALES_DATA_DIR=/var/lib/aftersales \
    AFTERSALES_API_HOST=0.0.0.0 \
    AFTERSALES_API_PORT=8000

RUN groupadd --system --gid 10001 aftersales \
    && useradd --system --uid 10001 --gid aftersales --home-dir /var/lib/aftersales \
        --shell /usr/sbin/nologin aftersales \
    && install -d -m 0700 -o aftersales -g aftersales /var/lib/aftersales \
        /var/lib/aftersales/files

# The whole source tree, migrations/ included: Alembic finds its scripts relative to it,
# hence the editable install.
WORKDIR /app
COPY . /app
# The versions pinned in requirements.lock, then the project itself. The workflow sandbox
# re-imports the workflow modules for every new workflow; with PYTHONDONTWRITEBYTECODE it would
# compile them each time, so their bytecode is built here.
RUN pip install --no-cache-dir --require-hashes -r /app/requirements.lock \
    && pip install --no-cache-dir --no-deps -e /app \
    && python -m compileall -q /app/workflows /app/models /app/activities /app/api /app/core

USER aftersales
EXPOSE 8000
CMD ["aftersales", "api"]
