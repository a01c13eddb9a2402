"""A local HTTP server over a folder, for the tests of live URL sources (loopback only)."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def serve_folder(root: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve ``root`` on 127.0.0.1 while the block runs.

    Yields the base URL (``http://127.0.0.1:PORT``) and the list the request paths are
    appended to. A path under ``/once/`` is served only on its first request and is a 404
    afterwards: a camera that went away after its first session.
    """
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep the test output clean
            pass

        def do_GET(self) -> None:
            requests.append(self.path)
            if self.path.startswith("/once/") and requests.count(self.path) > 1:
                self.send_error(404)
                return
            super().do_GET()

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
