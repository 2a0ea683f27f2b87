# syntax=docker/dockerfile:1
# The Node Managed Identity server, with iptables and conntrack. Its entrypoint picks the node's
# iptables backend (nft or legacy) and then runs NMI. Build from the repository root:
#   docker build -f deploy/docker/nmi.Dockerfile -t <registry>/pod-identity/nmi:<version> .
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
 && pnpm --filter "@pod-identity/nmi..." run build \
 && pnpm exec node deploy/images/stage-app.ts nmi /out

FROM ${DEBIAN_IMAGE} AS rootfs
COPY deploy/images/rootfs.sh deploy/images/base.packages deploy/images/nmi.packages /tmp/
RUN sh /tmp/rootfs.sh /rootfs /tmp/base.packages /tmp/nmi.packages

FROM scratch
ARG VERSION
ARG REVISION
ARG SOURCE
COPY --from=rootfs /rootfs/ /
COPY --from=build /out/ /
ENV NODE_ENV=production PATH=/usr/local/bin:/usr/sbin:/usr/bin
WORKDIR /app
# NMI edits the node's nat table with iptables: uid 0 with NET_ADMIN (and NET_RAW for the legacy
# backend), every other capability dropped (see the chart's DaemonSet).
USER 0:0
# 127.0.0.1:2579 (token server), /healthz and /metrics
EXPOSE 2579 8085 9090
LABEL org.opencontainers.image.title=pod-identity-nmi \
      org.opencontainers.image.version=${VERSION} \
      org.opencontainers.image.revision=${REVISION} \
      org.opencontainers.image.source=${SOURCE} \
      org.opencontainers.image.licenses=MIT
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/entrypoint.js", "/usr/local/bin/node", "/app/dist/cli.cjs"]
