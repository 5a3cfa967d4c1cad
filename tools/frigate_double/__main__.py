"""Run the Frigate API double stand-alone for the lab: ``python -m frigate_double --camera cam1 --password-file F``
(from tools/). A stand-in for Frigate, not Frigate: see README.md.

Passwords never have a built-in default: the admin password comes from --password-file, which is read, or generated
(mode 0600) when missing; a file others may read is refused. The control API (faults, state) runs only with
--control-token-file (same rules) on a loopback port.
"""

import argparse
import os
import secrets
import signal
import ssl
import sys
import threading
from pathlib import Path

from .server import DEFAULT_VERSION, FrigateDouble

MIN_CONTROL_TOKEN = 16


class ConfigError(ValueError):
    """The command line asks for something the double cannot do safely."""


def write_new_secret(path, value):
    """Create ``path`` (mode 0600, never through an existing file or symlink) holding ``value``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")


def read_or_create_secret(path, what, minimum=1):
    """The first line of ``path``; generated there (0600) when the file is missing. A file that others may read or
    write, or a value shorter than ``minimum``, is refused."""
    path = Path(path)
    generated = False
    if not path.exists():
        write_new_secret(path, secrets.token_urlsafe(24))
        generated = True
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(f"{what} file {path} has mode {mode:04o}: others may read it; chmod 600 it")
    lines = path.read_text(encoding="utf-8").strip().splitlines()
    value = lines[0].strip() if lines else ""
    if len(value) < minimum:
        raise ConfigError(f"{what} file {path} holds fewer than {minimum} characters")
    if generated:
        print(f"frigate_double: generated a random {what} and wrote it to {path} (mode 0600)",  # noqa: T201
              file=sys.stderr)
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog="frigate_double",
        description="A stand-in for Frigate's HTTP API (login, manual events, clips, snapshots, version, config) "
                    "and its frigate/available and frigate/reviews MQTT messages, for tests and the lab. It is not "
                    "Frigate.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8971, help="TCP port (default 8971, Frigate's; 0 = a free one)")
    parser.add_argument("--version", default=DEFAULT_VERSION, help="Frigate version to imitate: 0.16.x, 0.17.x or "
                                                                   f"0.18.x (default {DEFAULT_VERSION})")
    parser.add_argument("--camera", action="append", default=[], metavar="NAME",
                        help="a configured camera (repeat for more)")
    parser.add_argument("--user", default="ming-nodered", help="the admin user (default ming-nodered)")
    parser.add_argument("--password-file", required=True, metavar="FILE",
                        help="the admin password: read from FILE (mode 0600), or generated there when missing")
    parser.add_argument("--viewer-user", help="also a user with the viewer role (needs --viewer-password-file)")
    parser.add_argument("--viewer-password-file", metavar="FILE", help="the viewer's password (same rules)")
    parser.add_argument("--clip-delay", type=float, default=2.0, metavar="S",
                        help="recordings reach the database S seconds after they are made (default 2)")
    parser.add_argument("--review-cutoff", type=float, metavar="S",
                        help="an alert review item ends S seconds after its last activity (default: the "
                             "version's, 40 s; 120 s for 0.16)")
    parser.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate (chain) ...")
    parser.add_argument("--tls-key", metavar="PEM", help="... and this key")
    parser.add_argument("--mqtt-host", help="publish frigate/available and frigate/reviews to this broker")
    parser.add_argument("--mqtt-port", type=int, default=8883)
    parser.add_argument("--mqtt-user", help="MQTT user (needs --mqtt-password-file)")
    parser.add_argument("--mqtt-password-file", metavar="FILE", help="MQTT password, read from FILE (mode 0600)")
    parser.add_argument("--mqtt-ca", metavar="PEM", help="CA that signed the broker's certificate (turns on TLS)")
    parser.add_argument("--mqtt-client-id", default="frigate", help="MQTT client id (default frigate, Frigate's)")
    parser.add_argument("--control-port", type=int, default=-1,
                        help="control API port on 127.0.0.1 (0 = a free one; default -1: disabled)")
    parser.add_argument("--control-token-file", metavar="FILE",
                        help="control API bearer token: read from FILE (mode 0600), or generated there when missing")
    return parser


def build_double(args):
    if not args.camera:
        raise ConfigError("no camera: name at least one with --camera NAME")
    password = read_or_create_secret(args.password_file, "password")
    viewer = None
    if args.viewer_user:
        if not args.viewer_password_file:
            raise ConfigError("--viewer-user needs --viewer-password-file FILE")
        viewer = (args.viewer_user, read_or_create_secret(args.viewer_password_file, "viewer password"))
    context = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            raise ConfigError("--tls-cert and --tls-key go together")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    mqtt = None
    if args.mqtt_host:
        mqtt = {"host": args.mqtt_host, "port": args.mqtt_port, "client_id": args.mqtt_client_id,
                "ca_file": args.mqtt_ca, "tls": bool(args.mqtt_ca)}
        if args.mqtt_user:
            if not args.mqtt_password_file:
                raise ConfigError("--mqtt-user needs --mqtt-password-file FILE (never a password on the command line)")
            if not Path(args.mqtt_password_file).exists():
                raise ConfigError(f"--mqtt-password-file {args.mqtt_password_file} does not exist")
            mqtt.update(user=args.mqtt_user, password=read_or_create_secret(args.mqtt_password_file, "MQTT password"))
    control_port, token = None, None
    if args.control_port >= 0:
        if not args.control_token_file:
            raise ConfigError("--control-port needs --control-token-file FILE")
        control_port = args.control_port
        token = read_or_create_secret(args.control_token_file, "control token", MIN_CONTROL_TOKEN)
    return FrigateDouble(args.host, args.port, args.version, args.camera, args.clip_delay, args.user, password,
                         viewer=viewer, mqtt=mqtt, ssl_context=context, review_cutoff_s=args.review_cutoff,
                         control_port=control_port, control_token=token)


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        double = build_double(args)
    except (ConfigError, ValueError, OSError, ssl.SSLError) as error:
        print(f"frigate_double: error: {error}", file=sys.stderr)  # noqa: T201
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_args: stop.set())
    double.start()
    control = f", control API http://127.0.0.1:{double.control_port}" if double.control else ""
    print(f"frigate_double ready: Frigate {double.version} API double (a stand-in, not Frigate) on {double.url}, "  # noqa: T201
          f"cameras {', '.join(args.camera)}{control}", flush=True)
    try:
        stop.wait()
    finally:
        double.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
