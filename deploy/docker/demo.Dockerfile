# syntax=docker/dockerfile:1
# The walkthrough's demo app: gets a token for its identity through IMDS (answered by NMI), lists the
# VMs of a resource group and reads instance metadata. Build from the repository root:
#   docker build -f deploy/docker/demo.Dockerfile -t <registry>/pod-identity/demo:<version> .
ARG NODE_IMAGE=node:24

FROM ${NODE_IMAGE} AS build
RUN npm install --global pnpm@12
WORKDIR /src
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch
COPY . .
RUN pnpm install --frozen-lockfile \
 && pnpm --filter "@pod-identity/example-demo..." run build \
 && pnpm --filter @pod-identity/example-demo deploy --prod /out

FROM ${NODE_IMAGE}-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out /app
USER node
ENTRYPOINT ["node", "/app/dist/main.js"]
