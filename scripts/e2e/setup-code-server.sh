#!/usr/bin/env bash
# Installs a real VS Code (code-server 4.100.3 = VS Code 1.100) for the end-to-end tests, cached
# under .cache/ (ignored by git) so that a second run takes a second. Reaches only the npm registry
# and Debian's archive: code-server's own post-install (which downloads ripgrep and prebuilt
# binaries) is skipped and its native modules are built here against the local Node headers.
# Needs root (or sudo) only when Debian packages are missing. Progress goes to stderr; the last
# line on stdout is the code-server folder.
# Usage: scripts/e2e/setup-code-server.sh   (CAL_E2E_CACHE=DIR puts the cache elsewhere)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
version=4.100.3
cache="${CAL_E2E_CACHE:-$root/.cache}/code-server-$version"
done_marker="$cache/.ready"
say() { echo "[setup-code-server] $*" >&2; }

# Debian packages: Chromium for Playwright, headers for code-server's native modules, ripgrep.
packages=(chromium libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config ripgrep python3 make g++)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { say "missing Debian packages ${missing[*]}; run this script as root to install them"; exit 1; }
    sudo="sudo"
  fi
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# playwright-core drives Chromium; it is a pinned devDependency and never downloads a browser.
if ! (cd "$root" && node -e "require.resolve('playwright-core')" 2>/dev/null); then
  pinned="$(cd "$root" && node -p "require('./package.json').devDependencies['playwright-core']")"
  say "installing playwright-core@$pinned (devDependency; no browser download)"
  (cd "$root" && npm install --no-save --no-audit --no-fund --loglevel=error "playwright-core@$pinned" >&2)
fi

if [ -f "$done_marker" ]; then
  say "code-server $version is ready (cached in $cache)"
  echo "$cache/package"
  exit 0
fi

started=$(date +%s)
rm -rf "$cache" && mkdir -p "$cache" && cd "$cache"
say "fetching code-server@$version from the npm registry into $cache"
npm pack "code-server@$version" --silent >/dev/null
tar xzf "code-server-$version.tgz"
cd package
say "installing code-server's dependencies (without install scripts)"
npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2
say "installing VS Code's dependencies (without install scripts)"
(cd lib/vscode && npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)

gyp="node $(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
build_log="$cache/native-build.log"
build() { # folder, extra node-gyp arguments…
  local dir="$1"
  shift
  say "building $(basename "$dir") against the Node headers in $nodedir"
  if ! (cd "$dir" && nice -n 10 $gyp rebuild --nodedir="$nodedir" "$@" >>"$build_log" 2>&1); then
    say "failed to build $dir; the end of $build_log:"
    tail -n 30 "$build_log" >&2
    exit 1
  fi
}
for module in node-pty kerberos native-watchdog @vscode/spdlog @vscode/deviceid; do
  [ -d "lib/vscode/node_modules/$module" ] && build "lib/vscode/node_modules/$module"
done
if [ -d node_modules/argon2 ]; then
  build node_modules/argon2 --module_name=argon2 --module_path=lib/binding/napi-v3 --napi_build_version=3
  mkdir -p node_modules/argon2/lib/binding/napi-v3
  cp node_modules/argon2/build/Release/argon2.node node_modules/argon2/lib/binding/napi-v3/
fi
say "linking Debian's ripgrep and the helper scripts code-server's post-install would link"
mkdir -p lib/vscode/node_modules/@vscode/ripgrep/bin
cp "$(command -v rg)" lib/vscode/node_modules/@vscode/ripgrep/bin/rg
(cd lib/vscode && ln -sfn node_modules node_modules.asar)
(cd lib/vscode/bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd lib/vscode/bin/helpers && ln -sfn browser-linux.sh browser.sh)
touch "$done_marker"
say "code-server $version built in $(( $(date +%s) - started )) s"
echo "$cache/package"
