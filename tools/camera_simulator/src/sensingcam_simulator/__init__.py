"""SICK sensingCam (SEC100) camera simulator for the sensingcam.ming Ansible collection.

It serves the HTTP API, SICK challenge/response login, snapshots, WebSocket live images, firmware updates and
(optionally) RTSP of a fleet of virtual cameras, with every device name taken from the collection's device
profile. See docs/camera-simulator.md.
"""

__version__ = "0.1.0"
