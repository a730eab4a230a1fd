# Flow Realtime: one image for every role (`all`, `gateway`, `worker`).
#   docker build -t flow-realtime .
#   docker run -p 3001:3001 flow-realtime              # `flow all`, everything in memory
#   docker run ... flow-realtime gateway               # or worker; see docker-compose.cluster.yml
#
# node:20-slim (Debian, glibc) rather than alpine: the uWebSockets.js build
# the project installs has native binaries for glibc Linux only, and Node 20
# is the version it is built for (README.md, "Quick start"; `engines` in package.json).

FROM node:20-slim AS build
WORKDIR /app
# Dependencies first, so that a source change does not reinstall them.
# --ignore-scripts: the project's `prepare` (a build) needs the sources, copied
# below; no dependency needs an install script (uWebSockets.js ships binaries).
COPY package.json package-lock.json* ./
RUN if [ -f package-lock.json ]; then npm ci --ignore-scripts; \
    else npm install --ignore-scripts --no-audit --no-fund; fi
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/build-bundles.mjs scripts/without-ws.mjs ./scripts/
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3001
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# The image's own non-root user (uid 1000).
USER node
EXPOSE 3001
# Every process answers /health with 200 when it can serve, 503 naming the
# failing dependency otherwise: on METRICS_PORT when it is set (a worker's
# only HTTP port), on PORT otherwise. node:20-slim has no curl; Node 20 has fetch.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (Number(process.env.METRICS_PORT) > 0 ? process.env.METRICS_PORT : (process.env.PORT || 3001)) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM (docker stop) closes clients with 1001, drains for up to
# SHUTDOWN_DRAIN_MS and exits 0; node runs as PID 1 and handles it itself.
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["all"]
