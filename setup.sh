#!/usr/bin/env bash
# Sets up nngraph on a fresh Debian/Ubuntu machine: Graphviz, a virtualenv in .venv, the package.
#   bash setup.sh          # what the command needs
#   bash setup.sh --test   # plus the test tools: pytest, hypothesis, a Jupyter kernel (nbclient,
#                          # ipykernel), PyTorch (CPU) and Chromium
set -euo pipefail
cd "$(dirname "$0")"
want_tests=${1:-}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: please install: ${missing[*]} (e.g. sudo apt-get install -y ${missing[*]})" >&2
    return 1
  fi
  [ -n "${NNGRAPH_APT_UPDATED:-}" ] || { apt-get update -qq; export NNGRAPH_APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

apt_install graphviz fonts-dejavu-core
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip >/dev/null 2>&1 || true
if [ "$want_tests" = "--test" ]; then
  apt_install chromium chromium-driver || echo "setup: no Chromium; the browser test will be skipped" >&2
  .venv/bin/pip install -q -e ".[test]"
  # A second, independent gradient oracle; optional (the CPU build lies on disk on our machines).
  .venv/bin/pip install -q torch==2.13.0 >/dev/null 2>&1 || echo "setup: PyTorch not installed; its tests will be skipped" >&2
else
  .venv/bin/pip install -q -e .
fi
