"""Free loopback TCP ports for servers that tests start."""

import socket


def free_port() -> int:
    """Return a loopback port that was free a moment ago; the caller must bind it soon."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
