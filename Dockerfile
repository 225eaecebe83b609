# microgate: multi-stage build on the official Node 24 image; runs as a non-root numeric user
# with a read-only root filesystem (only /app/data is writable, as a volume).
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; the `node` devDependency (the pinned runtime) is not needed here.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:24-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATABASE_URL=sqlite:/app/data/microgate.db
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json .env.example ./
COPY app.ts server.ts first-run.ts errors.ts ./
COPY plugins ./plugins
COPY routes ./routes
COPY schemas ./schemas
COPY security ./security
COPY store ./store
COPY providers ./providers
COPY dashboard ./dashboard
COPY bin ./bin
RUN mkdir -p /app/data && chown 10001:10001 /app/data
USER 10001:10001
VOLUME ["/app/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The same Node flags as `npm start` (package.json): a 64 MB semi-space keeps short-lived request
# objects out of the old generation, and a 512 MB old space makes V8 collect before the heap
# balloons (RSS flat at ~0.5-0.6 GB under sustained load, BENCHMARKS.md; the Deployment allows 1 GiB).
CMD ["node", "--max-semi-space-size=64", "--max-old-space-size=512", "server.ts"]
