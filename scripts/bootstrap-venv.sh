#!/usr/bin/env bash
# Create (or reuse) the project's Python virtualenv with the pinned toolchain.
# Idempotent: a venv whose recorded requirements hash matches is reused in well under a second.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv="${MING_VENV:-$repo/.venv}"
requirements="$repo/requirements-dev.txt"
# The camera simulator is a package of its own (tools/camera_simulator), installed editable into the venv so the
# tests import it like any other library.
simulator="$repo/tools/camera_simulator"

find_python() {
  # ansible-core 2.20+ needs Python 3.12; pyenv ships 3.12 on our build machines.
  local candidate
  for candidate in "${MING_PYTHON:-}" python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3 \
      python3.13 "$HOME"/.pyenv/versions/3.13*/bin/python3 python3; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || [ -x "$candidate" ] || continue
    if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

# Ansible finds this collection through collections_path (ansible.cfg) -> .collections/ansible_collections/sensingcam/ming.
mkdir -p "$repo/.collections/ansible_collections/sensingcam"
ln -sfn "$repo" "$repo/.collections/ansible_collections/sensingcam/ming"

wanted_hash=$(cat "$requirements" "$simulator/pyproject.toml" | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.requirements-hash" 2>/dev/null)" = "$wanted_hash" ]; then
  exit 0
fi

python=$(find_python) || {
  echo "ERROR: Python 3.12 or newer is required (ansible-core 2.21). Install it (e.g. 'pyenv install 3.12') or set MING_PYTHON=/path/to/python3.12." >&2
  exit 1
}
echo "Creating virtualenv $venv with $("$python" --version)"
"$python" -m venv "$venv"
quiet_pip() { "$venv/bin/pip" "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
quiet_pip install --quiet --upgrade pip
quiet_pip install --quiet -r "$requirements"
quiet_pip install --quiet --no-deps --editable "$simulator"
echo "$wanted_hash" > "$venv/.requirements-hash"
