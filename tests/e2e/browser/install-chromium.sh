#!/bin/sh
# Chromium for the browser tests (tests/e2e/browser): Playwright drives Debian's `chromium`
# package through executable_path, since Playwright's own browser download is not used.
# Installs it as root when /usr/bin/chromium is missing; otherwise says which package to install.
set -eu
CHROMIUM="${PARLEY_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing the Debian package 'chromium' for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    exit 0
fi
echo "The browser tests need Chromium at $CHROMIUM: install the Debian package 'chromium'" >&2
echo "(sudo apt-get install chromium) or set PARLEY_CHROMIUM to a Chromium binary." >&2
exit 1
