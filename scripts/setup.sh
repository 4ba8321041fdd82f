#!/usr/bin/env bash
# Everything xents needs on a fresh Debian 12 machine with Node.js 20+:
# Debian packages (cross toolchain, QEMU as the reference, Xen headers and
# xenstore clients, qemu-img and e2fsprogs to make and check disk images,
# etcd as the Remus arbiter the tests start, curl as the README's HTTP API line,
# chromium for the web console's browser test),
# npm packages, and the build. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(gcc libc6-dev curl iproute2 iputils-ping gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user qemu-system-arm qemu-utils device-tree-compiler cpio xz-utils libxen-dev xenstore-utils e2fsprogs etcd-server chromium)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "setup: installing ${missing[*]}" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO dpkg --add-architecture arm64
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
