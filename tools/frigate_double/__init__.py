"""A Frigate NVR HTTP API double (with optional MQTT) for the collection's tests and the lab (see README.md)."""

from .server import DEFAULT_VERSION, FAULT_KINDS, FrigateDouble, State

__all__ = ["DEFAULT_VERSION", "FAULT_KINDS", "FrigateDouble", "State"]
