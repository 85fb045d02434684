# syntax=docker/dockerfile:1
# Phoenix controller image: Node 24 LTS, compiled JavaScript, production dependencies only,
# running as the unprivileged `node` user with a read-only root filesystem (see the chart).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM node:24-bookworm-slim
ENV NODE_ENV=production
# A small young generation returns memory after reconcile bursts (docs/runtime.md).
ENV NODE_OPTIONS=--max-semi-space-size=4
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
USER node
ENTRYPOINT ["node", "/app/bin/phoenix.js"]
CMD ["controller"]
