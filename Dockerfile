# One image for both roles of the onboarding engine; docker-compose.yml chooses the command:
#   tsx worker/main.ts   the Temporal worker (Prometheus metrics on 9464)
#   tsx api/main.ts      the HTTP API (port 3000)
# test/deployment.test.ts checks this file; it has never been built on the machine it was written on (no Docker engine).

FROM node:24-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies are enough: tsx runs the TypeScript, @temporalio/worker bundles the workflows.
RUN npm ci --omit=dev && npm cache clean --force

FROM dependencies AS workflow-bundle
COPY . .
RUN npx tsx scripts/bundle-workflows.ts /app/dist/workflow-bundle.js

FROM node:24-bookworm-slim AS runtime
# tsx itself, not `npx tsx`: npx does not pass SIGTERM on, so the worker would be killed instead of draining.
ENV NODE_ENV=production \
    DATA_DIR=/data \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js \
    PATH=/app/node_modules/.bin:$PATH
# Memory (README, Production: sizing, with the benchmark's figures): two malloc arenas instead of eight per core, and
# every V8 heap (the worker's workflow thread too) capped, so the garbage of workflow replays is collected instead of
# growing the process: a worker with hundreds of onboardings parked stays near 400 MiB instead of 900.
ENV MALLOC_ARENA_MAX=2 \
    NODE_OPTIONS="--max-old-space-size=256 --max-semi-space-size=4"
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY . .
COPY --from=workflow-bundle /app/dist/workflow-bundle.js /app/dist/workflow-bundle.js
# The engine's state is in PostgreSQL (DATABASE_URL); DATA_DIR only holds what an old file vault import reads.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000 9464
CMD ["tsx", "api/main.ts"]
