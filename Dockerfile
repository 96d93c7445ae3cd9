# syntax=docker/dockerfile:1
# One image for Nudge's API and worker; docker-compose.yml picks the command of each.
#   docker build -t nudge .
#   docker run nudge node dist/api/main.js      (the default)
#   docker run nudge node dist/worker/main.js
# Debian (glibc), not Alpine: the Temporal SDK's native core ships glibc builds.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS base
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

# Everything the build needs: dev dependencies (TypeScript) and the sources.
FROM base AS build
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY activities ./activities
COPY api ./api
COPY cli ./cli
COPY config ./config
COPY db ./db
COPY email ./email
COPY scripts ./scripts
COPY worker ./worker
COPY workflows ./workflows
# Compiles to dist/ and prebuilds the workflow bundle (dist/workflow-bundle.js).
RUN npm run build

# Production dependencies only.
FROM base AS runtime-deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

FROM base AS runtime
# MALLOC_ARENA_MAX=2: glibc otherwise keeps up to eight malloc arenas per core for a process
# with many threads (the Temporal SDK's workflow threads and Rust runtime, Node's), which
# keep more memory than they use: with two, the worker's RSS was lower in every run of
# bench/memory.ts (bench/RESULTS.md).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    HOST=0.0.0.0 \
    PORT=3000 \
    METRICS_HOST=0.0.0.0 \
    METRICS_PORT=9464 \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js
COPY --from=runtime-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
# 3000: the API. 9464: the worker's /metrics and /healthz.
EXPOSE 3000 9464
CMD ["node", "dist/api/main.js"]
