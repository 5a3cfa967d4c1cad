#!/usr/bin/env bash
# Run `ansible-test sanity` on the collection, offline-capable.
# ansible-test needs the collection at .../ansible_collections/<namespace>/<name> inside a git checkout, so
# the tracked (and new, not ignored) files are copied into build/sanity/ first.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv="${MING_VENV:-$repo/.venv}"
python_version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# MING_SANITY_DIR lets two runs on one machine use separate copies.
work="${MING_SANITY_DIR:-$repo/build/sanity}/ansible_collections/sensingcam/ming"

# ansible-test downloads a get-pip script from Ansible's CI file server, which build machines cannot reach.
# The stand-in bootstraps pip with ensurepip, then installs what ansible-test asks for. Each step runs in its
# own process: ensurepip empties PIP_CONFIG_FILE, which would drop the machine's pip settings (its CA bundle).
pip_version=$(grep -oE "pip='[0-9.]+'" "$venv"/lib/python*/site-packages/ansible_test/_internal/python_requirements.py | head -n 1 | cut -d"'" -f2)
stand_in="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$stand_in")"
cat > "$stand_in" <<'PY'
"""Offline stand-in for ansible-test's get-pip bootstrap script (written by sensingcam.ming scripts/sanity.sh)."""
import subprocess
import sys

# get-pip's own flags, which pip itself does not know.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}
arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY]
subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], check=True, stdout=subprocess.DEVNULL)
subprocess.run([sys.executable, "-m", "pip", "install", *arguments], check=True)
PY

rm -rf "$work"
mkdir -p "$work"
# Every tracked or new file is copied, or the run fails: sanity must check what the commit holds, not less.
# (A tracked file deleted in the work tree is not part of what would be committed, so it is left out.)
(cd "$repo" && git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' file; do [ -e "$file" ] || [ -L "$file" ] || continue; printf '%s\0' "$file"; done \
  | xargs -0 cp --parents -P --target-directory="$work/")
cd "$work"
git init -q && git add -A && git -c user.name=sanity -c user.email=sanity@localhost commit -qm sanity
PATH="$venv/bin:$PATH" ansible-test sanity --venv --python "$python_version" --color no "$@"
