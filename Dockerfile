# syntax=docker/dockerfile:1
#
# Image of threat-intel: one static binary on a distroless base, running as
# a non-root user. Build from the repository root:
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t threat-intel .
#
# The build stage runs on the build host's platform and cross-compiles, so
# `docker buildx build --platform linux/arm64` needs no emulation.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src

# Module downloads get their own layer, reused until go.mod or go.sum changes.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

COPY cmd ./cmd
COPY internal ./internal

ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath \
      -ldflags "-s -w -X github.com/threat-intel/threat-intel/internal/version.Version=${VERSION}" \
      -o /out/threat-intel ./cmd/threat-intel

# The data directory is created here because the final image has no shell.
RUN mkdir -p /out/data

# distroless/static holds CA certificates, /etc/passwd with the nonroot user
# (65532) and nothing else: no shell, no package manager. Time zones come
# from the binary, which embeds the zone database.
FROM gcr.io/distroless/static-debian12:nonroot

COPY --from=build /out/threat-intel /threat-intel
COPY --from=build --chown=65532:65532 /out/data /data

ENV DATA_DIR=/data \
    LISTEN_ADDR=:8000

USER 65532:65532
VOLUME ["/data"]

# 8000: HTTP API and /metrics. 5514: syslog from the firewall when
# SYSLOG_LISTEN is set (an unprivileged port, so no capability is needed).
EXPOSE 8000/tcp 5514/udp 5514/tcp

# The image has no curl, so the binary checks itself: it requests /health
# on LISTEN_ADDR and exits non-zero unless it gets 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/threat-intel", "healthcheck"]

ENTRYPOINT ["/threat-intel"]
CMD ["serve"]
