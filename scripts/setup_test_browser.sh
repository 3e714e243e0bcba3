#!/usr/bin/env bash
# Headless Chromium for tests/viz (the Kedro-Viz browser test skips, saying why, without it).
# Called by `make test` only: `make run` installs no system package. Needs root and apt-get;
# otherwise (or offline) it says so and the suite still runs.
set -uo pipefail
if command -v chromium >/dev/null 2>&1 || [ -n "${SEQHEALTH_CHROMIUM:-}" ]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation) \
    || echo "setup_test_browser: chromium not installed; tests/viz will skip the browser test" >&2
else
  echo "setup_test_browser: no chromium (install Debian's chromium as root); tests/viz will skip the browser test" >&2
fi
exit 0
