# syntax=docker/dockerfile:1
# Build: docker build -t xunjian .
# Run:   docker run -v xunjian-data:/data -v $PWD/accounts.toml:/etc/xunjian/accounts.toml:ro \
#          -v $PWD/xunjian.toml:/etc/xunjian/xunjian.toml:ro -e XUNJIAN_TELEGRAM_TOKEN=… xunjian

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, so code changes do not rebuild them.
COPY Cargo.toml Cargo.lock ./
COPY .cargo ./.cargo
RUN mkdir src benches && echo 'fn main() {}' > src/main.rs && echo '' > src/lib.rs \
    && for b in poll rules report; do echo 'fn main() {}' > benches/$b.rs; done \
    && (cargo build --release --locked || true)
COPY src ./src
COPY benches ./benches
COPY migrations ./migrations
COPY accounts.toml xunjian.toml ./
RUN touch src/main.rs src/lib.rs && cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin xunjian \
    && mkdir -p /data /etc/xunjian && chown xunjian /data
COPY --from=build /src/target/release/xunjian /usr/local/bin/xunjian
COPY --from=build /src/accounts.toml /src/xunjian.toml /etc/xunjian/
ENV XUNJIAN_CONFIG=/etc/xunjian/xunjian.toml \
    XUNJIAN_ACCOUNTS=/etc/xunjian/accounts.toml \
    XUNJIAN_DATABASE_URL=sqlite:///data/xunjian.db \
    TZ=Asia/Shanghai
USER xunjian
WORKDIR /data
VOLUME ["/data"]
ENTRYPOINT ["xunjian"]
CMD ["run"]
