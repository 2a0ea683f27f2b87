# syntax=docker/dockerfile:1
# The Managed Identity Controller. Build from the repository root:
#   docker build -f deploy/docker/mic.Dockerfile -t <registry>/pod-identity/mic:<version> .
# Without a Docker engine, `pnpm images:build` builds the same image with buildah: it runs the same
# two scripts (deploy/images/rootfs.sh, deploy/images/stage-app.ts) and applies this file's last stage.
# The base images are build arguments; the image itself is FROM scratch: Debian's libraries (and
# nothing else) from the rootfs stage, then Node and the bundled program from the build stage.
ARG BUILD_IMAGE=node:24-bookworm
ARG DEBIAN_IMAGE=debian:bookworm-slim
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://github.com/pod-identity/pod-identity

FROM ${BUILD_IMAGE} AS build
RUN npm install --global pnpm@12
WORKDIR /src
# Fetch dependencies from the lockfile alone, so this layer is reused until the lockfile changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch
COPY . .
RUN pnpm install --frozen-lockfile \
 && pnpm --filter "@pod-identity/mic..." run build \
 && pnpm exec node deploy/images/stage-app.ts mic /out

FROM ${DEBIAN_IMAGE} AS rootfs
COPY deploy/images/rootfs.sh deploy/images/base.packages /tmp/
RUN sh /tmp/rootfs.sh /rootfs /tmp/base.packages

FROM scratch
ARG VERSION
ARG REVISION
ARG SOURCE
COPY --from=rootfs /rootfs/ /
COPY --from=build /out/ /
ENV NODE_ENV=production PATH=/usr/local/bin:/usr/sbin:/usr/bin
WORKDIR /app
# Non-root (the base's nonroot user). The chart runs it as uid 0 only to read the node's root-owned
# /etc/kubernetes/azure.json, with every capability dropped.
USER 65532:65532
# /healthz and /metrics
EXPOSE 8080 8888
LABEL org.opencontainers.image.title=pod-identity-mic \
      org.opencontainers.image.version=${VERSION} \
      org.opencontainers.image.revision=${REVISION} \
      org.opencontainers.image.source=${SOURCE} \
      org.opencontainers.image.licenses=MIT
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/cli.cjs"]
