#!/usr/bin/env bash
# System packages: the sandbox's (Debian's bubblewrap, g++) and the web page tests' (chromium).
# Installs them where we can (root + apt); elsewhere it says so, and the sandbox service reports the lower isolation level it then has.
set -u
need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v g++ >/dev/null 2>&1 || need+=(g++)
# the web page's browser tests (tests/test_ui_browser.py) drive Debian's chromium through its driver
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing system packages: ${need[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null 2>&1 \
        || echo "warning: could not install ${need[*]}; the sandbox will report reduced isolation" >&2
else
    echo "warning: please install ${need[*]} (e.g. sudo apt-get install ${need[*]}); the sandbox will" \
         "report reduced isolation until then" >&2
fi
exit 0
