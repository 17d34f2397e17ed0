# syntax=docker/dockerfile:1
#
# Mezzofy AI Assistant server image.
#   docker build -t mezzofy:latest .
# One image, four binaries: mezzofy-api (default CMD), mezzofy-worker,
# mezzofy-scheduler and the `mezzofy` admin CLI. See docker-compose.yml.

############################ builder ############################
FROM rust:1.95-bookworm AS builder
WORKDIR /app
COPY . .
# target/ and the cargo registry live in BuildKit cache mounts, so the binaries
# must be copied out of target/ inside the same RUN.
# config/ and knowledge/ are staged in /out too (rather than COPY'd from the
# context in the runtime stage) so the build still works when an empty dir is
# absent from a fresh git clone. config/config.yaml is excluded by .dockerignore.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/app/target,sharing=locked \
    cargo build --release --locked -p api -p worker -p scheduler -p cli \
 && install -d /out/bin \
 && for b in mezzofy-api mezzofy-worker mezzofy-scheduler mezzofy; do \
        install -m 0755 "target/release/$b" /out/bin/; \
    done \
 && install -d /out/config /out/knowledge \
 && if [ -d config ]; then cp -R config/. /out/config/; fi \
 && if [ -d knowledge ]; then cp -R knowledge/. /out/knowledge/; fi

############################ runtime ############################
FROM debian:bookworm-slim AS runtime
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        ca-certificates curl \
        poppler-utils \
        tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim tesseract-ocr-msa \
        ffmpeg chromium \
        fonts-dejavu-core fonts-wqy-microhei \
        libheif-examples \
 && rm -rf /var/lib/apt/lists/*

# Non-root runtime user; /data is the artifacts volume (MEZZOFY_DATA_DIR).
RUN groupadd --system --gid 10001 mezzofy \
 && useradd --system --uid 10001 --gid mezzofy --home-dir /data \
        --no-create-home --shell /usr/sbin/nologin mezzofy \
 && install -d -o mezzofy -g mezzofy -m 0750 /data

WORKDIR /opt/mezzofy
COPY --from=builder /out/bin/ /opt/mezzofy/bin/
COPY --from=builder /out/config/ /opt/mezzofy/config/
COPY --from=builder /out/knowledge/ /opt/mezzofy/knowledge/

ENV PATH=/opt/mezzofy/bin:$PATH \
    API_BIND=0.0.0.0:8000 \
    MEZZOFY_DATA_DIR=/data \
    MEZZOFY_ENV=production \
    RUST_LOG=info \
    HOME=/data

USER mezzofy:mezzofy
EXPOSE 8000
STOPSIGNAL SIGTERM
# Only meaningful for mezzofy-api; docker-compose.yml disables it for the
# worker, scheduler and migrate services that reuse this image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD curl -fsS -o /dev/null --max-time 4 http://127.0.0.1:8000/health || exit 1
CMD ["mezzofy-api"]
