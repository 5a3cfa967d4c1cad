"""RTSP side of the camera simulator: a GStreamer RTSP server child process serving H.264 test streams.

Run by the simulator with Debian's /usr/bin/python3 (GStreamer's Python bindings, `gi`, are Debian packages and
are not in a virtualenv). It deliberately imports nothing from the simulator package and runs on the
Python 3.11 of Debian bookworm.

Protocol (JSON lines): commands on stdin, replies on stdout.
  {"op": "start", "id": 1, "port": 18554, "user": "u", "password": "p",
   "streams": {"/stream1": {"width": 640, "height": 360, "fps": 10}, "/stream2": {...}}}
  {"op": "stop", "id": 2, "port": 18554}
Replies: {"id": 1, "ok": true} or {"id": 1, "ok": false, "error": "..."}; {"event": "ready"} once at start.
The child exits when stdin closes, so it never outlives the simulator.
"""

import json
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

ROLE = "camera"
PIPELINE = (
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,width={width},height={height},framerate={fps}/1 "
    "! videoconvert ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate={kbps} "
    "! rtph264pay name=pay0 pt=96 config-interval=1 )"
)


class Servers:
    def __init__(self, address):
        self.address = address
        self.running = {}  # port -> (server, source)

    def start(self, cmd):
        port = int(cmd["port"])
        if port in self.running:
            return
        server = GstRtspServer.RTSPServer()
        server.set_address(self.address)
        server.set_service(str(port))
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(cmd["user"], cmd["password"]), token)
        server.set_auth(auth)
        mounts = server.get_mount_points()
        for path, spec in cmd["streams"].items():
            factory = GstRtspServer.RTSPMediaFactory()
            factory.set_launch(PIPELINE.format(
                width=int(spec.get("width", 640)), height=int(spec.get("height", 360)),
                fps=int(spec.get("fps", 10)), gop=int(spec.get("gop", 10)), kbps=int(spec.get("bitrate_kbps", 1024))))
            factory.set_shared(True)
            permissions = GstRtspServer.RTSPPermissions()
            permissions.add_role(ROLE)
            permissions.add_permission_for_role(ROLE, GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
            permissions.add_permission_for_role(ROLE, GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
            factory.set_permissions(permissions)
            mounts.add_factory(path, factory)
        # create_source binds the socket now, so a busy port is reported here rather than silently ignored.
        source = server.create_source(None)
        source.attach(None)
        self.running[port] = (server, source)

    def stop(self, cmd):
        entry = self.running.pop(int(cmd["port"]), None)
        if entry is None:
            return
        server, source = entry
        source.destroy()  # closes the listening socket: clients now get "connection refused"
        server.client_filter(lambda _server, _client, *_args: GstRtspServer.RTSPFilterResult.REMOVE, None)


def reply(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main():
    address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    Gst.init(None)
    loop = GLib.MainLoop()
    servers = Servers(address)

    def handle(cmd):
        try:
            getattr(servers, cmd["op"])(cmd)
            reply({"id": cmd.get("id"), "ok": True})
        except Exception as exc:  # reported to the simulator, which logs it
            reply({"id": cmd.get("id"), "ok": False, "error": f"{type(exc).__name__}: {exc}"})
        return False

    def read_stdin():
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                cmd = json.loads(line)
            except ValueError:
                reply({"id": None, "ok": False, "error": "not JSON"})
                continue
            GLib.idle_add(handle, cmd)
        GLib.idle_add(loop.quit)

    threading.Thread(target=read_stdin, daemon=True).start()
    reply({"event": "ready", "gstreamer": Gst.version_string()})
    loop.run()


if __name__ == "__main__":
    main()
