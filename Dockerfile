# sora-discord-bot: multi-stage image. Build with `docker build -t sora-discord-bot .`, run with
# `docker compose up -d` (see docker-compose.yml) or
# `docker run --env-file .env -v sora-bot-data:/data sora-discord-bot`.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: compile TypeScript to dist/ -------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# tsc needs no native module, so skip install scripts here (no sqlite3 compile, no compiler needed).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY commands ./commands
RUN npm run build

# --- prod-deps: production node_modules, sqlite3 compiled from source ---------------------------
FROM ${NODE_IMAGE} AS prod-deps
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# Compile sqlite3 here instead of downloading a prebuilt binary, against the headers the official
# image ships in /usr/local/include/node (no header download either). npm 10 (bundled with Node 20)
# ignores package.json "allowScripts" and runs every install script; only sqlite3 has a native one.
# npm may warn "Unknown env config build-from-source": the variable still reaches sqlite3's script.
ENV npm_config_build_from_source=true \
    npm_config_nodedir=/usr/local
RUN npm ci --omit=dev --no-audit --no-fund \
  && node -e "require('sqlite3')" \
  && npm cache clean --force

# --- runtime: no compiler, no devDependencies, non-root ----------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 forwards SIGTERM to node (which then shuts down cleanly) and reaps zombies.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
# HTTP_HOST: outside Docker the HTTP server stays on loopback; here it must listen on the container's
# interface for a published port (-p 127.0.0.1:8080:8080) or a Prometheus on the same network.
ENV NODE_ENV=production \
    STORE_URL=sqlite:///data/sora-bot.sqlite \
    HTTP_HOST=0.0.0.0
WORKDIR /app
# package.json carries "type": "module", which dist/ needs at run time.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# /data holds the sqlite ledger; /app/data points there too, so the non-Docker default
# STORE_URL=sqlite://data/sora-bot.sqlite also lands on the volume.
RUN mkdir -p /data \
  && chown node:node /data \
  && ln -s /data /app/data
VOLUME ["/data"]
USER node
# /healthz (/healthz, /readyz and /metrics on HTTP_PORT, 8080 by default): the process is up and
# serving; readiness and alerts belong to /readyz and /metrics. No curl in the slim image, so node's
# fetch asks. With HTTP_PORT=off there is nothing to ask and the check passes; the restart policy
# still covers a process that exits.
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const port=(process.env.HTTP_PORT||'').trim().toLowerCase()||'8080';if(port==='off'||port==='0')process.exit(0);const h=(process.env.HTTP_HOST||'').trim();const host=!h||h==='0.0.0.0'||h==='::'?'127.0.0.1':h.includes(':')?'['+h+']':h;fetch('http://'+host+':'+port+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# The flags of `npm start` (package.json; test/docker/start-flags.test.ts keeps the two the same).
CMD ["node", "--enable-source-maps", "--max-old-space-size=512", "--max-semi-space-size=8", "dist/src/main.js"]
