"""An in-memory InfluxDB OSS 2.x API double for the collection's tests (see README.md)."""

from .server import DEFAULT_VERSION, ApiFailure, InfluxDB2Double, State

__all__ = ["DEFAULT_VERSION", "ApiFailure", "InfluxDB2Double", "State"]
