# pier: a high-concurrency TCP server daemon (pierd), in a two-stage image.
#
#   docker build -t pier .
#   docker run --rm -p 7000:7000 --stop-timeout 30 pier
#
# The base image is an argument so that machines without a registry can build from a local
# Debian 12 image (e.g. --build-arg BASE_IMAGE=local/bookworm-slim:12). Both stages use it, so
# the libraries pierd links against at build time are the ones it finds at run time.
# Stop timeout: pierd drains connections for up to shutdown.drain_timeout (20s by default) on
# SIGTERM, longer than docker's default 10s grace period; give it 30s as the systemd unit does.
ARG BASE_IMAGE=debian:bookworm-slim

# ---- build stage ---------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS build

# Boost 1.81 from its versioned packages: libboost-dev is 1.74 and conflicts with them.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        g++ cmake ninja-build \
        libboost1.81-dev libboost-program-options1.81-dev \
        libspdlog-dev libfmt-dev libyaml-cpp-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Only the sources pierd and pierload are built from: the presets are not used (they need
# ccache and mold), and tests/ is only read when PIER_BUILD_TESTS=ON.
COPY CMakeLists.txt ./
COPY server/ server/
COPY loadtest/ loadtest/

# The project's install rule with --strip: the runtime image gets a binary without symbols.
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPIER_BUILD_TESTS=OFF \
        -DPIER_PACKAGING=OFF \
    && cmake --build build \
    && cmake --install build --prefix /out --strip

# ---- runtime stage -------------------------------------------------------------------------
FROM ${BASE_IMAGE}

ARG PIER_VERSION=0.1.0
LABEL org.opencontainers.image.title="pier" \
      org.opencontainers.image.description="High-concurrency TCP server daemon (pierd) configured from YAML" \
      org.opencontainers.image.version="${PIER_VERSION}" \
      org.opencontainers.image.source="https://github.com/pier/pier"

# Only the shared libraries pierd needs (ldd: Boost.ProgramOptions 1.81, spdlog 1.10, fmt 9,
# yaml-cpp 0.7; libstdc++ is already in the base). apt-get clean drops apt's ~80 MB package
# caches, which bases without debian:bookworm-slim's docker-clean hook would keep.
# A fixed uid/gid (above the system range, so no --system) keeps file ownership on mounted
# volumes predictable; no home, no login shell, and --no-log-init so that a high uid does not
# grow lastlog/faillog.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libboost-program-options1.81.0 libspdlog1.10 libfmt9 libyaml-cpp0.7 \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 pier \
    && useradd --uid 10001 --gid pier --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin --no-log-init pier

# pierload ships beside pierd so operators can measure from inside the container too.
COPY --from=build /out/bin/pierd /out/bin/pierload /usr/bin/
COPY config/pier.yaml /etc/pier/pier.yaml

# Fail the build, not the first start, if a shared library is missing or the config is invalid.
RUN ["/usr/bin/pierd", "--check-config", "--config", "/etc/pier/pier.yaml"]

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# The echo listener of the default config (0.0.0.0:7000). The admin endpoint (9090) listens on
# the container's loopback only, where the health check runs: not exposed.
EXPOSE 7000
# SIGTERM is what pierd drains on before exiting 0.
STOPSIGNAL SIGTERM

# pierd probes its own admin endpoint: no curl or shell in the image. /readyz is 503 while
# pierd drains, so an orchestrator stops routing to a stopping container.
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/bin/pierd", "--probe", "http://127.0.0.1:9090/readyz", "--probe-timeout", "4s"]

# Exec form: pierd is PID 1 and receives SIGTERM itself. CMD holds the arguments, so
# `docker run pier --check-config --config /etc/pier/pier.yaml` works as expected.
ENTRYPOINT ["/usr/bin/pierd"]
CMD ["--config", "/etc/pier/pier.yaml"]
