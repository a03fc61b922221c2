# pier: a high-concurrency TCP server daemon (pierd), in a two-stage image: the build stage
# makes pier's .deb (cpack -G DEB), the runtime stage installs it.
#
#   docker build -t pier .
#   docker run --rm -p 7000:7000 --stop-timeout 40 pier
#
# The base image is an argument: Debian 13 (trixie, the default), Debian 12 (bookworm) or
# Ubuntu 24.04 (noble), e.g. --build-arg BASE_IMAGE=debian:bookworm-slim, or a local image on
# machines without a registry (tests/docker/run.sh imports one made with debootstrap). Both
# stages use it, so the libraries pierd links against at build time are the ones it finds at
# run time. Default trixie: it is Debian's current stable release, so the image gets security
# updates the longest (bookworm is oldstable), and its Boost (1.83) is the unversioned
# libboost-dev; pier builds with either.
#
# Stop timeout 40 s, as the systemd unit's TimeoutStopSec: on SIGTERM pierd drains for up to
# shutdown.drain_timeout (20 s by default), then cancels what is left and waits up to 10 s
# more for it to end; 20 + 10 = 30 s at worst, plus 10 s of margin for the workers to stop and
# the process to exit = 40 s. Docker's default of 10 s would SIGKILL a drain in progress.
# Raise it with drain_timeout (drain_timeout + 20 s).
ARG BASE_IMAGE=debian:trixie-slim

# ---- build stage ---------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS build

# Boost's packages by release, from scripts/platform.sh (the one list of supported releases and
# their package names; an unsupported base stops here with one line naming them). dpkg-dev
# (dpkg-shlibdeps) and file are what cpack -G DEB needs to compute the package's library
# dependencies.
COPY scripts/platform.sh /tmp/platform.sh
RUN bash -c 'set -euo pipefail \
    && source /tmp/platform.sh && platform_detect \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        g++ cmake ninja-build "${platform_boost[@]}" libspdlog-dev libfmt-dev libyaml-cpp-dev \
        libssl-dev dpkg-dev file \
    && rm -rf /var/lib/apt/lists/*'

WORKDIR /src
# What the binaries and the package are made from: the presets are not used (they need ccache
# and mold), and tests/ is only read when PIER_BUILD_TESTS=ON. The package also takes the
# config (a conffile), the systemd units and the maintainer scripts.
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY server/ server/
COPY loadtest/ loadtest/
COPY config/ config/
COPY systemd/ systemd/
COPY packaging/ packaging/

# The .deb has stripped binaries (CPACK_STRIP_FILES) and its Depends from dpkg-shlibdeps.
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPIER_BUILD_TESTS=OFF \
        -DPIER_PACKAGING=ON \
    && cmake --build build \
    && cd build && cpack -G DEB -B /src/package \
    && mkdir /out && mv /src/package/pier_*.deb /out/

# ---- runtime stage -------------------------------------------------------------------------
FROM ${BASE_IMAGE}

ARG PIER_VERSION=0.1.0
LABEL org.opencontainers.image.title="pier" \
      org.opencontainers.image.description="High-concurrency TCP server daemon (pierd) configured from YAML" \
      org.opencontainers.image.version="${PIER_VERSION}" \
      org.opencontainers.image.source="https://github.com/pier/pier"

# The package as an operator installs it: pierd and pierload in /usr/bin, the config at
# /etc/pier/pier.yaml, and exactly the libraries its Depends name (dpkg-shlibdeps found them
# in the binaries, plus procps for the unit's ExecReload), so this list cannot drift from the
# build. Its maintainer scripts do nothing here: no systemd runs in a build (no
# /run/systemd/system), and a first install enables and starts nothing anyway. The .deb stays
# in the COPY layer (about 1 MB; deleting it below does not shrink the image). apt-get clean
# drops apt's package caches, which bases without debian:*-slim's docker-clean hook keep.
# A fixed uid/gid (above the system range, so no --system) keeps file ownership on mounted
# volumes predictable; no home, no login shell, and --no-log-init so that a high uid does not
# grow lastlog/faillog.
COPY --from=build /out/ /tmp/pier/
RUN cd /tmp/pier \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ./pier_*.deb \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /tmp/pier \
    && groupadd --gid 10001 pier \
    && useradd --uid 10001 --gid pier --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin --no-log-init pier

# Fail the build, not the first start, if a shared library is missing or the config is invalid.
RUN ["/usr/bin/pierd", "--check-config", "--config", "/etc/pier/pier.yaml"]

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# The echo listener of the default config (0.0.0.0:7000). The admin endpoint (9090) listens on
# the container's loopback only, where the health check runs: not exposed.
EXPOSE 7000
# SIGTERM is what pierd drains on before exiting 0 (stop timeout: see the top of this file).
STOPSIGNAL SIGTERM

# pierd probes its own admin endpoint: no curl or shell in the image. /readyz is 503 while
# pierd drains, so an orchestrator stops routing to a stopping container.
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/bin/pierd", "--probe", "http://127.0.0.1:9090/readyz", "--probe-timeout", "4s"]

# Exec form: pierd is PID 1 and receives SIGTERM itself. CMD holds the arguments, so
# `docker run pier --check-config --config /etc/pier/pier.yaml` works as expected.
ENTRYPOINT ["/usr/bin/pierd"]
CMD ["--config", "/etc/pier/pier.yaml"]
