#!/usr/bin/env bash
# Installs a real VS Code (code-server 4.100.3 = VS Code 1.100) for end-to-end tests, cached
# under .cache/ so a second run is fast. Needs root for the Debian packages; reaches only the npm
# registry and Debian's archive. Prints the code-server folder on success.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
version=4.100.3
cache="$root/.cache/code-server-$version"
done_marker="$cache/.ready"
if [ -f "$done_marker" ]; then echo "$cache/package"; exit 0; fi

packages=(libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config ripgrep chromium)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

rm -rf "$cache" && mkdir -p "$cache" && cd "$cache"
echo "fetching code-server@$version from the npm registry" >&2
npm pack "code-server@$version" --silent >&2
tar xzf "code-server-$version.tgz"
cd package
echo "installing code-server's dependencies (no install scripts)" >&2
npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2
(cd lib/vscode && npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)

gyp="node $(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
for module in node-pty kerberos native-watchdog @vscode/spdlog @vscode/deviceid; do
  dir="lib/vscode/node_modules/$module"
  [ -d "$dir" ] || continue
  echo "building $module" >&2
  (cd "$dir" && $gyp rebuild --nodedir=/usr >/dev/null 2>&1) || { echo "failed to build $module" >&2; exit 1; }
done
if [ -d node_modules/argon2 ]; then
  echo "building argon2" >&2
  (cd node_modules/argon2 && $gyp rebuild --nodedir=/usr --module_name=argon2 --module_path=lib/binding/napi-v3 --napi_build_version=3 >/dev/null 2>&1 \
    && mkdir -p lib/binding/napi-v3 && cp build/Release/argon2.node lib/binding/napi-v3/)
fi
mkdir -p lib/vscode/node_modules/@vscode/ripgrep/bin
cp /usr/bin/rg lib/vscode/node_modules/@vscode/ripgrep/bin/rg
(cd lib/vscode && ln -sfn node_modules node_modules.asar)
(cd lib/vscode/bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd lib/vscode/bin/helpers && ln -sfn browser-linux.sh browser.sh)
touch "$done_marker"
echo "$cache/package"
