# syntax=docker/dockerfile:1
# The Managed Identity Controller. Build from the repository root:
#   docker build -f deploy/docker/mic.Dockerfile -t <registry>/pod-identity/mic:<version> .
ARG NODE_IMAGE=node:24

FROM ${NODE_IMAGE} AS build
RUN npm install --global pnpm@12
WORKDIR /src
# Fetch dependencies from the lockfile alone, so this layer is reused until the lockfile changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch
COPY . .
RUN pnpm install --frozen-lockfile \
 && pnpm --filter "@pod-identity/mic..." run build \
 && pnpm --filter @pod-identity/mic deploy --prod /out

FROM ${NODE_IMAGE}-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out /app
# Non-root by default (uid 1000). The chart runs it as uid 0 only to read the node's root-owned
# /etc/kubernetes/azure.json, with every capability dropped.
USER node
# /healthz and /metrics
EXPOSE 8080 8888
ENTRYPOINT ["node", "/app/dist/cli.js"]
