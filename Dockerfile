# syntax=docker/dockerfile:1

# Build stage: a full Node image has npm, which the distroless runtime lacks.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
# Manifests first so the dependency layer is reused until they change.
COPY package.json package-lock.json ./
# --omit=dev leaves out tooling, including the `node` devDependency (a Node
# binary used only for local development): the runtime image ships its own.
# No production dependency needs an install script; drop --ignore-scripts if
# one ever does (a native addon, for example).
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
# Distroless has no shell to create this later; PGlite writes here when
# DATABASE_URL is unset, and the non-root user must own it.
RUN mkdir -p /app/data

# Runtime stage: no shell or package manager, runs as uid 65532 (nonroot).
FROM gcr.io/distroless/nodejs24-debian13:nonroot
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data
# Application files stay owned by root so the process cannot rewrite its code.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps --chown=nonroot:nonroot /app/data ./data
COPY package.json ./
COPY src ./src
COPY views ./views
COPY migrations ./migrations
COPY public ./public
# The commit the image is built from (CD passes it): /healthz and /readyz show it. Last, so a
# new commit changes only the image's configuration, not a layer.
ARG REVISION=""
ENV APP_REVISION=${REVISION}
USER nonroot
EXPOSE 3000
# No curl in distroless; Node's fetch does the probe. App Service uses its own
# health check (healthCheckPath) and ignores this one.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/nodejs/bin/node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The distroless entrypoint is node; Node 24 strips the TypeScript types itself.
# A young generation of 8 MB (Node 24 sizes it far larger) and an old generation capped at
# 192 MB (V8 otherwise lets garbage pile up) keep a busy process at about 200 MB (peak 183-212 MB
# a worker through npm run bench) instead of 290-330 MB, and were no slower (docs/benchmarks.md). The live heap is 40-50 MB.
# --liftoff-only keeps V8 from recompiling the embedded database's WebAssembly with its
# optimizing compiler, which took 600 MB for one function (PostgreSQL's parser) and set the
# peak of a start on PGlite; without DATABASE_URL nothing else here runs WebAssembly
# (docs/operations.md, "Memory").
CMD ["--max-semi-space-size=8", "--max-old-space-size=192", "--liftoff-only", "src/server.ts"]
