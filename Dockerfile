# Plinth's production image: the esbuild bundle plus the few packages it loads from node_modules at run time.
#
#   docker build -t plinth .
#   docker run -p 3000:3000 plinth                    embedded backends under the /data volume
#   docker run --no-healthcheck -e MODE=worker ...     a worker has no HTTP server to check
#
# test/deploy/dockerfile.test.ts checks this file's shape, since CI has no Docker engine to build it.

# Dependencies, including the dev ones that the build needs. Install scripts stay off, as package.json's
# allowScripts has them: the native modules come as prebuilt per-platform packages.
FROM node:22-alpine AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# Production dependencies only. The bundle holds every package except the ones that read files next to
# themselves (ADR 0011), so only those are carried into the runtime stage.
FROM node:22-alpine AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:22-alpine AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    DATA_DIR=/data \
    LOG_FORMAT=json
WORKDIR /app
COPY --from=production-dependencies /app/node_modules/@electric-sql ./node_modules/@electric-sql
COPY --from=production-dependencies /app/node_modules/@node-rs ./node_modules/@node-rs
COPY --from=build /app/dist ./dist
# The embedded backends keep their state under DATA_DIR; the image's own files stay root-owned and read-only.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
# The `node` user (uid 1000) that the base image provides, by number so that runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD wget -q -O /dev/null "http://127.0.0.1:${PORT}/health/live" || exit 1
STOPSIGNAL SIGTERM
CMD ["node", "--enable-source-maps", "dist/main.mjs"]
