"""Run the double stand-alone: ``python -m influxdb2_double --port 8086 --version 2.9.1`` (from tools/)."""

import argparse
import sys

from .server import DEFAULT_VERSION, InfluxDB2Double


def main(argv=None):
    parser = argparse.ArgumentParser(prog="influxdb2_double", description="In-memory InfluxDB OSS 2.x API double")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8086, help="TCP port (default 8086, 0 = a free one)")
    parser.add_argument("--version", default=DEFAULT_VERSION,
                        help=f"InfluxDB version to imitate, e.g. 2.7.12 (tokens readable) or {DEFAULT_VERSION}")
    args = parser.parse_args(argv)
    double = InfluxDB2Double(args.host, args.port, args.version)
    print(f"InfluxDB {args.version} API double listening on {double.url} (not onboarded; Ctrl-C stops it)",
          flush=True)
    try:
        double.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        double.httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
