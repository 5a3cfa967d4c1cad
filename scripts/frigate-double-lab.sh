#!/usr/bin/env bash
# Start or stop the Frigate API double for the lab: a stand-in for Frigate, which cannot run on these machines
# (tools/frigate_double/README.md says what it covers). Node-RED's correlation flow creates its manual events and
# waits for their clips there, so the lab pipeline runs end to end.
#   scripts/frigate-double-lab.sh start    # idempotent: a running double with the same cameras is kept
#   scripts/frigate-double-lab.sh stop
#   scripts/frigate-double-lab.sh status
# Needs the lab CA (.secrets/lab/mosquitto-ca, made by the first site.yml run): the double serves HTTPS with a
# certificate from it on 127.0.0.1:${MING_LAB_FRIGATE_PORT:-18971} and publishes frigate/available and
# frigate/reviews to the lab broker as the MQTT user `frigate`. Its admin password is the lab secret
# .secrets/lab/frigate-nodered, the file the inventory's nodered_frigate_password lookup reads.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

state_dir=${MING_DEV_DIR:-/var/lib/ming-dev}
work_dir="$state_dir/frigate-double-lab"
pid_file="$state_dir/frigate-double-lab.pid"
log_file="$state_dir/frigate-double-lab.log"
cameras_file="$work_dir/cameras"
secrets_dir="$repo/.secrets/lab"
ca_dir="$secrets_dir/mosquitto-ca"
password_file="$secrets_dir/frigate-nodered"
mqtt_password_file="$secrets_dir/mosquitto-frigate"
control_token_file="$secrets_dir/frigate-double-control"
port=${MING_LAB_FRIGATE_PORT:-18971}
control_port=${MING_LAB_FRIGATE_CONTROL_PORT:-17998}
python="$repo/.venv/bin/python"
# shellcheck source=scripts/lab-owner.sh
. "$repo/scripts/lab-owner.sh"
# shellcheck source=scripts/lab-process.sh
. "$repo/scripts/lab-process.sh"

die() { echo "ERROR: $*" >&2; exit 1; }

running_pid() { lab_process_pid "$pid_file" 'frigate[-_]double'; }

mqtt_tls_port() {
  # The lab broker's TLS port: the inventory's mosquitto_tls_port on the first broker host, or the role's 8883.
  "$repo/.venv/bin/ansible-inventory" -i inventories/lab/hosts.yml --host "$(
    "$repo/.venv/bin/ansible-inventory" -i inventories/lab/hosts.yml --list 2>/dev/null | "$python" -c '
import json, sys
print((json.load(sys.stdin).get("ming_brokers", {}).get("hosts") or ["localhost"])[0])')" 2>/dev/null \
    | "$python" -c 'import json, sys; print(json.load(sys.stdin).get("mosquitto_tls_port") or 8883)'
}

lab_cameras() {
  # The lab inventory's cameras, one name per line: Frigate's camera names are the inventory names.
  "$repo/.venv/bin/ansible-inventory" -i inventories/lab/hosts.yml --list --export 2>/dev/null | "$python" -c '
import json, sys
names = sorted(json.load(sys.stdin).get("sensingcams", {}).get("hosts", []))
if not names:
    sys.exit("no hosts in the sensingcams group of inventories/lab")
print("\n".join(names))
'
}

ensure_lab_secret() {
  # $1 file, $2 a host pattern, $3 the variable whose password lookup creates the file: resolving it once creates
  # the secret with the inventory's own options. Only its length is printed, and thrown away.
  [ -s "$1" ] && return 0
  "$repo/.venv/bin/ansible" -i inventories/lab/hosts.yml "$2" -m ansible.builtin.debug \
    -a "msg={{ $3 | length }}" >/dev/null || die "could not resolve $3 from inventories/lab"
  [ -s "$1" ] || die "the lab inventory did not create $1"
}

ensure_certificate() {
  # A server certificate from the lab CA for 127.0.0.1 and localhost, renewed when the CA changed.
  local ca_hash
  if [ ! -s "$ca_dir/ca.crt" ] || [ ! -s "$ca_dir/ca.key" ]; then
    die "no lab CA in $ca_dir: run the roll-out first (make lab runs site.yml before this script)"
  fi
  ca_hash=$(sha256sum "$ca_dir/ca.crt" | cut -d' ' -f1)
  if [ -s "$work_dir/server.crt" ] && [ "$(cat "$work_dir/ca.sha256" 2>/dev/null)" = "$ca_hash" ] \
    && openssl x509 -checkend 86400 -noout -in "$work_dir/server.crt" >/dev/null; then
    return 0
  fi
  (umask 077 && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$work_dir/server.key" -subj "/CN=frigate-double.lab" -out "$work_dir/server.csr" 2>/dev/null)
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$work_dir/ext.cnf"
  openssl x509 -req -in "$work_dir/server.csr" -CA "$ca_dir/ca.crt" -CAkey "$ca_dir/ca.key" -CAcreateserial \
    -CAserial "$work_dir/ca.srl" -days 90 -sha256 -extfile "$work_dir/ext.cnf" -out "$work_dir/server.crt" 2>/dev/null \
    || die "could not sign the Frigate double's certificate with the lab CA in $ca_dir"
  echo "$ca_hash" >"$work_dir/ca.sha256"
}

start() {
  [ -x "$python" ] || die "$python missing: run scripts/bootstrap-venv.sh first"
  mkdir -p "$state_dir"
  (umask 077 && mkdir -p "$work_dir")
  local wanted pid camera_args=()
  wanted=$(lab_cameras)
  pid=$(running_pid)
  if [ -n "$pid" ]; then
    if [ "$wanted" = "$(cat "$cameras_file" 2>/dev/null)" ]; then
      echo "Frigate API double (a stand-in, not Frigate) for the lab already runs (pid $pid)"
      return 0
    fi
    echo "lab cameras changed in the inventory: restarting the Frigate API double"
    stop
  fi
  ensure_certificate
  ensure_lab_secret "$password_file" 'ming_apps[0]' nodered_frigate_password
  ensure_lab_secret "$mqtt_password_file" 'ming_brokers[0]' mosquitto_clients
  printf '%s\n' "$wanted" >"$cameras_file"
  while read -r camera; do camera_args+=(--camera "$camera"); done <"$cameras_file"
  PYTHONPATH="$repo/tools" nohup "$python" -m frigate_double --host 127.0.0.1 --port "$port" "${camera_args[@]}" \
    --password-file "$password_file" --tls-cert "$work_dir/server.crt" --tls-key "$work_dir/server.key" \
    --mqtt-host 127.0.0.1 --mqtt-port "$(mqtt_tls_port)" --mqtt-ca "$ca_dir/ca.crt" --mqtt-user frigate \
    --mqtt-password-file "$mqtt_password_file" \
    --control-port "$control_port" --control-token-file "$control_token_file" \
    >"$log_file" 2>&1 </dev/null &
  echo $! >"$pid_file"
  lab_process_wait_ready "$pid_file" "$log_file" "frigate_double ready" "Frigate API double"
  grep "frigate_double ready" "$log_file"
  echo "  (pid $(cat "$pid_file"), log $log_file, control API token in $control_token_file)"
}

stop() { lab_process_stop "$pid_file" 'frigate[-_]double' "Frigate API double for the lab"; }

status() {
  local pid
  pid=$(running_pid)
  if [ -n "$pid" ]; then
    echo "running (pid $pid) on https://127.0.0.1:$port, a stand-in for Frigate"
  else
    echo "not running"
    return 3
  fi
}

case "${1:-}" in
  start) lab_claim; start ;;
  stop) lab_claim; stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
