"""A ThreadingHTTPServer that can cut its live connections, so stopping never waits on a client."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from http.server import ThreadingHTTPServer


class StoppableServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, handler) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        # Headers and body go out in separate writes; without TCP_NODELAY each small response would wait
        # for the client's delayed ACK (~40 ms), which no real registry makes a client wait.
        with contextlib.suppress(OSError):
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request, client_address):
        # Clients hanging up mid-body is normal in fault tests: stay quiet about socket errors only.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)
