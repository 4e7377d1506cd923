# syntax=docker/dockerfile:1

# --- build: dev dependencies, TypeScript, native better-sqlite3 -------------------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# Dependencies first: this layer is reused until package*.json change.
COPY package.json package-lock.json ./
RUN SCARF_ANALYTICS=false npm ci --no-audit --no-fund
COPY tsconfig.json nest-cli.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# --- runtime: Node, rclone from Debian, production dependencies, non-root -----------------------------
FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends rclone ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    PORT=8080 \
    DATA_DIR=/data \
    RCLONE_CONFIG=/config/rclone/rclone.conf
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Read at run time from the working directory: page templates and static assets.
COPY views ./views
COPY public ./public
COPY scripts/check-app.mjs ./scripts/check-app.mjs
RUN mkdir -p /data /config/rclone && chown -R node:node /data /config
USER node
VOLUME ["/data", "/config/rclone"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# tini forwards SIGTERM to Node (PID 1 would ignore it) so the graceful shutdown runs.
ENTRYPOINT ["/usr/bin/tini", "--"]
# Same command as `npm run start:prod`. The larger first old-generation limit stops V8 from answering the
# stream's buffer churn with back-to-back full GCs (~2x CPU per GiB); see README, Benchmark.
CMD ["node", "--initial-old-space-size=128", "dist/main.js"]
