# Multi-stage build: compile in the Rust image, run in a small Debian image.
FROM rust:1-slim-bookworm AS build
# The slim image has gcc but not make, which jemalloc's build (tikv-jemalloc-sys) runs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Cargo reads every target the manifest declares, the benchmarks included.
COPY benches ./benches
RUN cargo build --release --locked --bin broker-server

FROM debian:bookworm-slim
RUN useradd --system --uid 999 --user-group --home-dir /data --no-create-home broker \
    && mkdir -p /data && chown broker:broker /data
COPY --from=build /src/target/release/broker-server /usr/local/bin/broker-server
COPY config/docker.conf /etc/broker-server.conf
VOLUME /data
WORKDIR /data
EXPOSE 6379
USER broker
# PING over bash's /dev/tcp: no client needs to be installed in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\\r\\n' >&3 && read -r -t 2 reply <&3 && [[ $reply == +PONG* ]]"]
ENTRYPOINT ["broker-server"]
CMD ["/etc/broker-server.conf"]
