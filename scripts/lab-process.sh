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
