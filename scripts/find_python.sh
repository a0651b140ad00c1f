#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter: Rasa 3.6 runs on 3.10 and not on 3.11+.
# Looks at $PYTHON, python3.10 on PATH, then pyenv's installed 3.10.x versions.
set -euo pipefail

is_310() { [ -n "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; }

for candidate in "${PYTHON:-}" "$(command -v python3.10 || true)"; do
  if is_310 "$candidate"; then echo "$candidate"; exit 0; fi
done

if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.[0-9]+)?$' | sort -t. -k3 -n -r); do
    candidate="$root/versions/$version/bin/python3.10"
    if is_310 "$candidate"; then echo "$candidate"; exit 0; fi
  done
fi

cat >&2 <<'MSG'
error: no Python 3.10 interpreter found.
Rasa Open Source 3.6 needs Python 3.10 exactly (it does not run on 3.11 or later).
Install one, e.g. `pyenv install 3.10.13`, or put python3.10 on PATH, or set PYTHON=/path/to/python3.10.
MSG
exit 1
