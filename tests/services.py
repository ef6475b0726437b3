"""Where the real PostgreSQL, MariaDB and Redis are, and what to do when one is not there."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

PG_URL = os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

HOW_TO_START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "MariaDB": "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
    "Redis": 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
}


def require(name: str, url: str) -> str:
    """The URL when the service answers; otherwise skip (a laptop) or fail (CI=true)."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=1):
            return url
    except OSError as exc:
        message = f"{name} not reachable at {parts.hostname}:{parts.port} ({exc}); start it with: {HOW_TO_START[name]}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def require_binary(path: str, package: str) -> str:
    if os.path.exists(path):
        return path
    message = f"{path} not found; install Debian's {package} (make test does it as root)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
