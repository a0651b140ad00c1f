#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (never a downloaded browser). Install it when missing.
set -euo pipefail
needed=()
[ -x /usr/bin/chromium ] || needed+=(chromium)
[ -x /usr/bin/chromedriver ] || needed+=(chromium-driver)
fc-list :lang=zh 2>/dev/null | grep -q . || needed+=(fonts-wqy-microhei)
[ ${#needed[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "error: browser tests need Debian packages: ${needed[*]} (install them as root: apt-get install ${needed[*]})" >&2
  exit 1
fi
echo "installing ${needed[*]} for the browser tests …"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}" >/dev/null
