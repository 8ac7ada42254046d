# One image for every trackflow process: ingress, stream worker and sink are
# chosen by the command (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# rocksdict and confluent-kafka ship manylinux wheels; nothing is compiled here.
COPY pyproject.toml README.md ./
COPY trackflow ./trackflow
COPY ingress ./ingress
COPY streams ./streams
COPY sink ./sink
COPY schemas ./schemas
RUN pip install .

RUN useradd --system --home /var/lib/trackflow trackflow \
    && mkdir -p /var/lib/trackflow && chown trackflow /var/lib/trackflow
USER trackflow
ENV TRACKFLOW_DATA_DIR=/var/lib/trackflow \
    TRACKFLOW_REGISTRY=/var/lib/trackflow/registry/registry.sqlite3
EXPOSE 8080
CMD ["python", "-m", "ingress", "--host", "0.0.0.0", "--port", "8080"]
