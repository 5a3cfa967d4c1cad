"""Health probe of the stream proxy: stream-proxy-health PORT CA_FILE.

Sends HEAD / over TLS to nginx on 127.0.0.1:PORT, the certificate verified against CA_FILE (the name is not checked:
the probe reaches nginx on loopback, whatever names the certificate holds). nginx answers / itself (404) and never
asks go2rtc, so the probe says whether the proxy serves TLS, not whether Frigate is up. Exit 0 on any HTTP answer.
"""
import http.client
import ssl
import sys


def main(argv):
    if len(argv) != 3:
        print("usage: stream-proxy-health PORT CA_FILE", file=sys.stderr)
        return 2
    context = ssl.create_default_context(cafile=argv[2])
    context.check_hostname = False
    connection = http.client.HTTPSConnection("127.0.0.1", int(argv[1]), context=context, timeout=3)
    try:
        connection.request("HEAD", "/")
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as error:
        print(f"stream proxy does not answer: {error}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    print(f"stream proxy answers HTTP {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
