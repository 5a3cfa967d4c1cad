# shellcheck shell=bash
# Sourced by scripts/camera-simulator-lab.sh and scripts/frigate-double-lab.sh: a lab stand-in runs as one
# background process recorded in a pid file. A stale pid file, or a pid the kernel gave to another program, is not
# ours: the process's command line must match the stand-in's pattern.

# The pid of the process in $1 (pid file) whose command line matches $2 (extended regex), or nothing.
lab_process_pid() {
  local pid
  [ -f "$1" ] || return 0
  pid=$(cat "$1")
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qE "$2"; then
    echo "$pid"
  fi
}

# Stop it: TERM, up to 10 s for it to go, then KILL; the pid file is removed. $3 names it in the messages.
lab_process_stop() {
  local pid
  pid=$(lab_process_pid "$1" "$2")
  if [ -z "$pid" ]; then
    rm -f "$1"
    echo "$3 is not running"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 50); do
    [ -d "/proc/$pid" ] || break
    sleep 0.2
  done
  [ ! -d "/proc/$pid" ] || kill -KILL "$pid"
  rm -f "$1"
  echo "$3 stopped (pid $pid)"
}

# Wait up to 20 s for the process just started (pid in $1) to write $3 into its log $2. Returns 0 when it did; exits 1
# with the log's tail when the process ended or never got ready. $4 names it in the messages. Alive is checked with
# the pid alone: right after the fork its command line is still the starting script's.
lab_process_wait_ready() {
  local pid
  pid=$(cat "$1")
  for _ in $(seq 1 100); do
    grep -q "$3" "$2" 2>/dev/null && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "ERROR: the $4 exited; its log $2 says:" >&2
      tail -n 20 "$2" >&2
      rm -f "$1"
      exit 1
    fi
    sleep 0.2
  done
  echo "ERROR: the $4 did not get ready within 20 s; see $2" >&2
  exit 1
}
