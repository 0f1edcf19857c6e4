# syntax=docker/dockerfile:1
# spine-cds production image. CI does not build it (no Docker engine on the CI machines); the same
# steps are run on the host instead (docs/operations-clients.md, "Checking the image without Docker").

# Node.js 24 LTS, the release in .nvmrc: keep the two in step (CI tests on .nvmrc's release).
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# --- build: compile TypeScript and the native SQLite binding, then drop dev dependencies ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary matches this Node version.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY hooks ./hooks
COPY scripts ./scripts
# The build compiles src/, hooks/ and scripts/ into dist/: the operator commands run from the image as
# `node dist/scripts/report.js` and `node dist/scripts/migrate.js` (tsx is a dev dependency).
RUN npm run build && npm prune --omit=dev
# Keep only the compiled addon: object files, the static library, the SQLite amalgamation and the
# C++ sources are about 30 MB that the runtime never reads.
RUN cd node_modules/better-sqlite3 \
 && mv build/Release/better_sqlite3.node /tmp/better_sqlite3.node \
 && rm -rf build deps src \
 && mkdir -p build/Release \
 && mv /tmp/better_sqlite3.node build/Release/better_sqlite3.node

# --- runtime: production dependencies only, non-root ---
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=sqlite:/data/spine-cds.db
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY mappings ./mappings
COPY hooks/topics ./hooks/topics
COPY hooks/sources.yaml hooks/phrases.yaml ./hooks/
COPY LICENSE ./
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
