# shellcheck shell=bash disable=SC2154  # $repo and $state_dir are set by the sourcing script
# Sourced by scripts/lab.sh and scripts/camera-simulator-lab.sh: one lab per machine, owned by one checkout.
# The lab's state outside the checkout (the broker's Compose project `ming` under /opt/ming, the camera simulator
# started with this checkout's .secrets/lab passwords) would otherwise be shared silently by a second checkout,
# whose camera writes then fail with 401. The owner is recorded in $state_dir/lab-owner; another checkout is
# refused while that lab runs, and told how to stop it. A lab that no longer runs may be taken over.
# Needs: $repo (this checkout), $state_dir (MING_DEV_DIR, default /var/lib/ming-dev).

lab_project=${MING_LAB_PROJECT:-ming}
lab_owner_file="$state_dir/lab-owner"

# What of the lab runs now, in words ("" when nothing): the simulator (pid file) and the broker's containers.
lab_running_parts() {
  local parts=() pid containers
  if [ -f "$state_dir/camera-simulator-lab.pid" ]; then
    pid=$(cat "$state_dir/camera-simulator-lab.pid")
    if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qE 'sensingcam[-_]simulator'; then
      parts+=("camera simulator pid $pid")
    fi
  fi
  if command -v docker >/dev/null 2>&1; then
    containers=$(docker ps --filter "label=com.docker.compose.project=$lab_project" --format '{{.Names}}' 2>/dev/null \
      | sort | paste -sd, - || true)
    [ -z "$containers" ] || parts+=("containers $containers")
  fi
  local IFS=';'
  echo "${parts[*]}"
}

# Fail (exit 1) when another checkout's lab runs; otherwise record this checkout as the owner.
lab_claim() {
  local owner running
  owner=$(cat "$lab_owner_file" 2>/dev/null || true)
  if [ -n "$owner" ] && [ "$owner" != "$repo" ]; then
    running=$(lab_running_parts)
    if [ -n "$running" ]; then
      echo "ERROR: the lab on this machine is run by the checkout $owner ($running)." >&2
      echo "       Its state (/opt/ming, project '$lab_project', the lab cameras' passwords) is that checkout's." >&2
      echo "       Stop it there first: make -C $owner clean-lab   then run this again here." >&2
      exit 1
    fi
    echo "Taking over the lab from $owner (nothing of it runs any more)."
  fi
  mkdir -p "$state_dir"
  printf '%s\n' "$repo" >"$lab_owner_file"
}

# After `clean-lab`: the lab is nobody's.
lab_release() {
  local owner
  owner=$(cat "$lab_owner_file" 2>/dev/null || true)
  [ "$owner" != "$repo" ] || rm -f "$lab_owner_file"
}
