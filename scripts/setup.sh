#!/usr/bin/env bash
# npm run setup: install the dependencies, build dist/ (the `pagepool` command and the library) and, when no
# Chromium is found, install Debian's chromium through apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

# A symlinked node_modules is a shared install (a git worktree): npm ci would empty the folder it points to.
if [ ! -L node_modules ] && { [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  npm ci --no-audit --no-fund   # its `prepare` script builds dist/
elif [ ! -f dist/.tsbuildinfo ] || [ -n "$(find src tsconfig.json tsconfig.build.json -newer dist/.tsbuildinfo -print -quit)" ]; then
  npm run build
fi

if node --input-type=module -e "
  import { register } from 'tsx/esm/api'; register();
  const { findChromium } = await import('./src/browser/find-chromium.ts');
  console.log('Chromium: ' + findChromium(process.env.CHROMIUM_PATH || null));
" 2>/dev/null; then
  exit 0
fi

if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "No Chromium found: installing Debian's chromium with apt-get"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  echo "Chromium: $(command -v chromium)"
else
  echo "No Chromium found and no apt-get here: run 'npx playwright install chromium' or set CHROMIUM_PATH." >&2
  exit 1
fi
