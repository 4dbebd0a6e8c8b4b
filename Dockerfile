# syntax=docker/dockerfile:1
#
# ecsaudit image: a static Go binary on distroless, running as the nonroot
# user (65532). Multi-arch with buildx:
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=TAG -t REPO:TAG --push .
#
# The build stage runs on the builder's own platform and cross-compiles for
# TARGETOS/TARGETARCH, so no emulation is needed.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS TARGETARCH
# Recorded in every runs row (ecsaudit version).
ARG VERSION=dev
WORKDIR /src
# No blanket "go mod download": go build fetches only the modules the binary
# needs, not the test-only ones (DuckDB's static libraries, arrow).
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/ecsaudit ./cmd/ecsaudit

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ecsaudit /ecsaudit
USER 65532:65532
ENTRYPOINT ["/ecsaudit"]
CMD ["scan"]
