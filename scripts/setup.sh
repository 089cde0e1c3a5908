#!/usr/bin/env bash
# npm run setup: install the dependencies, build dist/ (the `pagepool` command and the library) and, when no
# Chromium is found, install Debian's chromium through apt-get (and, for the tests, redis-server and
# poppler-utils when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

# A symlinked node_modules is a shared install (a git worktree): npm ci would empty the folder it points to.
if [ ! -L node_modules ] && { [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  npm ci --no-audit --no-fund   # its `prepare` script builds dist/
elif [ ! -f dist/.tsbuildinfo ] || [ -n "$(find src tsconfig.json tsconfig.build.json -newer dist/.tsbuildinfo -print -quit)" ]; then
  npm run build
fi

missing=""
if node --input-type=module -e "
  import { register } from 'tsx/esm/api'; register();
  const { findChromium } = await import('./src/browser/find-chromium.ts');
  console.log('Chromium: ' + findChromium(process.env.CHROMIUM_PATH || null));
" 2>/dev/null; then
  :
else
  missing="chromium"
fi
# The test suite also drives a real redis-server (fleet tests) and poppler's pdftoppm (the independent PDF check).
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v pdftoppm >/dev/null 2>&1 || missing="$missing poppler-utils"
[ -z "$missing" ] && exit 0

if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "Installing Debian's$missing with apt-get"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
  case "$missing" in *chromium*) echo "Chromium: $(command -v chromium)" ;; esac
elif [[ "$missing" == *chromium* ]]; then
  echo "No Chromium found and no apt-get here: run 'npx playwright install chromium' or set CHROMIUM_PATH." >&2
  exit 1
else
  echo "Not installed (needed by the tests only):$missing" >&2
fi
