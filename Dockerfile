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
ENV NODE_ENV=production \
    STORE_URL=sqlite:///data/sora-bot.sqlite
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
# Checks only that the bot's node process is running and is neither a zombie nor stopped; it does
# not reach Discord or Ace Data Cloud (no network). If the bot touches
# /tmp/sora-discord-bot.heartbeat, the check instead requires that file to be younger than 90 s.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "const fs=require('fs');const hb='/tmp/sora-discord-bot.heartbeat';if(fs.existsSync(hb))process.exit(Date.now()-fs.statSync(hb).mtimeMs<90000?0:1);const alive=fs.readdirSync('/proc').some(p=>{if(!/^[0-9]+$/.test(p)||p===String(process.pid))return false;try{return fs.readFileSync('/proc/'+p+'/cmdline','latin1').split('\\0').includes('dist/src/main.js')&&!/\) [ZT] /.test(fs.readFileSync('/proc/'+p+'/stat','latin1'))}catch{return false}});process.exit(alive?0:1)"
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--enable-source-maps", "dist/src/main.js"]
