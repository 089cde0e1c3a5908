#!/usr/bin/env bash
# npm run setup: install the dependencies, build dist/ (the `pagepool` command and the library) and, when no
# Chromium is found, install Debian's chromium-headless-shell (what headless runs launch) and chromium (for
# --headed) through apt-get (and, for the tests, redis-server, poppler-utils, tmux, nginx, php-cli, zstd,
# tinyproxy, xvfb and xdotool when missing).
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
  missing="chromium-headless-shell chromium"
fi
# Debian's chromium without its headless shell (an earlier setup): add the shell, which headless runs prefer;
# without it (an older Debian), runs use chromium as before.
shell=""
if [ -z "$missing" ] && [ -z "${CHROMIUM_PATH:-}" ] && [ -x /usr/bin/chromium ] && [ ! -x /usr/bin/chromium-headless-shell ] \
  && command -v apt-get >/dev/null 2>&1; then
  shell="chromium-headless-shell"
fi
# The test suite also drives a real redis-server (fleet tests), poppler's pdftoppm (the independent PDF check), tmux
# (the progress display read off a real terminal), nginx and php -S (servers that close every connection) and zstd
# (a zstd-encoded file on a Node without zlib's zstd).
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v pdftoppm >/dev/null 2>&1 || missing="$missing poppler-utils"
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
[ -x /usr/sbin/nginx ] || missing="$missing nginx"
command -v php >/dev/null 2>&1 || missing="$missing php-cli"
command -v zstd >/dev/null 2>&1 || missing="$missing zstd"
# And tinyproxy (--proxy tests), Xvfb and xdotool (`pagepool login --headed` with a scripted person).
command -v tinyproxy >/dev/null 2>&1 || missing="$missing tinyproxy"
command -v Xvfb >/dev/null 2>&1 || missing="$missing xvfb"
command -v xdotool >/dev/null 2>&1 || missing="$missing xdotool"
[ -z "$missing$shell" ] && exit 0

if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  # shellcheck disable=SC2086
  echo "Installing Debian's $(echo $missing $shell) with apt-get"
  $SUDO apt-get update -qq
  if [ -n "$missing" ]; then
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
  fi
  if [ -n "$shell" ] && ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$shell" >/dev/null; then
    echo "No chromium-headless-shell package here: headless runs use /usr/bin/chromium." >&2
  fi
  case "$missing $shell" in *chromium*) echo "Chromium: $(command -v chromium-headless-shell || command -v chromium)" ;; esac
elif [[ "$missing" == *chromium* ]]; then
  echo "No Chromium found and no apt-get here: run 'npx playwright install chromium' or set CHROMIUM_PATH." >&2
  exit 1
else
  echo "Not installed (needed by the tests only):$missing" >&2
fi
