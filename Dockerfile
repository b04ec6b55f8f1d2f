# syntax=docker/dockerfile:1
# Kryptos Connect: a multi-stage build into a small Debian image, running as a non-root user.
#   docker build -t kryptos-connect .
#   docker run -p 8080:8080 kryptos-connect     # development defaults (SQLite in /var/lib/kryptos-connect)
# Production: see deploy/compose.yaml and README "Operating it".

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p kryptos-connect \
    && install -D target/release/kryptos-connect /out/kryptos-connect

FROM debian:bookworm-slim
# ca-certificates: outgoing TLS (SMTP, chain RPC, webhooks); curl: the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/kryptos-connect --create-home kryptos
COPY --from=build /out/kryptos-connect /usr/local/bin/kryptos-connect
USER 10001:10001
WORKDIR /var/lib/kryptos-connect
ENV KRYPTOS__SERVER__LISTEN=0.0.0.0:8080 \
    KRYPTOS__DATA_DIR=/var/lib/kryptos-connect
VOLUME ["/var/lib/kryptos-connect"]
EXPOSE 8080 9464
# Ready = the process answers and reaches its database.
HEALTHCHECK --interval=10s --timeout=4s --start-period=20s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8080/readyz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["kryptos-connect"]
CMD ["serve"]
