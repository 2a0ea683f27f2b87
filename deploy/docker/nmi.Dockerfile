# syntax=docker/dockerfile:1
# The Node Managed Identity server, with iptables. Build from the repository root:
#   docker build -f deploy/docker/nmi.Dockerfile -t <registry>/pod-identity/nmi:<version> .
ARG NODE_IMAGE=node:24

FROM ${NODE_IMAGE} AS build
RUN npm install --global pnpm@12
WORKDIR /src
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch
COPY . .
RUN pnpm install --frozen-lockfile \
 && pnpm --filter "@pod-identity/nmi..." run build \
 && pnpm --filter @pod-identity/nmi deploy --prod /out

FROM ${NODE_IMAGE}-slim
# iptables for the redirect; conntrack for --enable-conntrack-deletion.
RUN apt-get update \
 && apt-get install --yes --no-install-recommends iptables conntrack \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out /app
COPY deploy/docker/nmi-entrypoint.sh /usr/local/bin/nmi-entrypoint
# NMI edits the node's nat table: it runs as root with NET_ADMIN and NET_RAW (see the chart's
# DaemonSet), so there is no USER line.
# 127.0.0.1:2579 (token server), /healthz and /metrics
EXPOSE 2579 8085 9090
ENTRYPOINT ["/usr/local/bin/nmi-entrypoint", "node", "/app/dist/cli.js"]
