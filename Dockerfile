# syntax=docker/dockerfile:1
# spine-cds production image. CI does not build it (no Docker engine on the CI machines); keep it simple.

# --- build: compile TypeScript and the native SQLite binding, then drop dev dependencies ---
FROM node:26-slim AS build
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
RUN npm run build && npm prune --omit=dev

# --- runtime: production dependencies only, non-root ---
FROM node:26-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=sqlite:/data/spine-cds.db
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY mappings ./mappings
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
