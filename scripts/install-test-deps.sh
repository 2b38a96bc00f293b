#!/usr/bin/env bash
# Installs the Debian packages the integration, e2e and benchmark tiers run against (chromium drives the
# console's browser tests through playwright-core). Idempotent:
# packages already present are left alone, and apt's lists are fetched only when something is missing.
set -euo pipefail

# package:binary pairs
NEEDED=(
  "victoria-metrics:/usr/bin/victoria-metrics"
  "mosquitto:/usr/sbin/mosquitto"
  "mosquitto-clients:/usr/bin/mosquitto_pub"
  "socat:/usr/bin/socat"
  "chromium:/usr/bin/chromium"
  # The README's shell blocks, which test/e2e/readme.test.ts runs as a user would.
  "curl:/usr/bin/curl"
  "jq:/usr/bin/jq"
  "openssl:/usr/bin/openssl"
  # The mail relay the email destination's tests send to (test/helpers/smtp_server.py).
  "python3-aiosmtpd:/usr/lib/python3/dist-packages/aiosmtpd/__init__.py"
  # The shared store's server (test/helpers/postgres.ts starts its own on a temporary directory).
  "postgresql:/usr/lib/postgresql/15/bin/postgres"
  # The clustered broker (examples/nats; test/helpers/nats.ts starts a three-node cluster).
  "nats-server:/usr/sbin/nats-server"
)

missing=()
for pair in "${NEEDED[@]}"; do
  pkg=${pair%%:*}
  bin=${pair#*:}
  [[ -e "$bin" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "test dependencies present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "missing Debian packages: ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Packaged services must not hold the ports or data the tests use; the tests start their own.
for svc in mosquitto victoria-metrics postgresql nats-server; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
echo "installed: ${missing[*]}"
