"""Small network checks for scripts/scaleout.sh, standard library only.

python probe.py free-ports N            # N free loopback TCP ports, one a line
python probe.py health URL              # exit 0 if GET URL answers 200 within 2 s
python probe.py backends STATS_URL      # "<server> <status>" per backend server (HAProxy CSV)
python probe.py wait URL STATS_URL N S  # until URL answers 200 and N servers are UP; S seconds
python probe.py listening PORT...       # the ports something still listens on, one a line
"""

from __future__ import annotations

import socket
import sys
import time
import urllib.error
import urllib.request

# No proxy from the environment: everything here is on 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 right now (held open together while chosen)."""
    sockets = []
    try:
        for _ in range(count):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.bind(("127.0.0.1", 0))
            sockets.append(probe)
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def healthy(url: str) -> bool:
    try:
        with _OPENER.open(url, timeout=2.0) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def backends(stats_url: str) -> dict[str, str]:
    """Server name -> HAProxy's status of it (UP, DOWN, ...), from the stats page's CSV."""
    with _OPENER.open(stats_url.rstrip("/") + ";csv", timeout=2.0) as response:
        lines = response.read().decode().splitlines()
    header = lines[0].lstrip("# ").split(",")
    name, server, status = header.index("pxname"), header.index("svname"), header.index("status")
    found = {}
    for line in lines[1:]:
        fields = line.split(",")
        if (
            len(fields) > status
            and fields[name] == "prefect_api"
            and fields[server] not in ("FRONTEND", "BACKEND")
        ):
            found[fields[server]] = fields[status]
    return found


def wait(url: str, stats_url: str, servers: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            up = sum(1 for status in backends(stats_url).values() if status.startswith("UP"))
        except (OSError, urllib.error.URLError, ValueError):
            up = 0
        if up >= servers and healthy(url):
            return True
        time.sleep(0.2)
    return False


def listening(ports: list[int]) -> list[int]:
    still = []
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                still.append(port)
    return still


def main(argv: list[str]) -> int:
    command, args = argv[0], argv[1:]
    if command == "free-ports":
        print("\n".join(str(port) for port in free_ports(int(args[0]))))
        return 0
    if command == "health":
        return 0 if healthy(args[0]) else 1
    if command == "backends":
        for server, status in sorted(backends(args[0]).items()):
            print(server, status)
        return 0
    if command == "wait":
        return 0 if wait(args[0], args[1], int(args[2]), float(args[3])) else 1
    if command == "listening":
        print("\n".join(str(port) for port in listening([int(port) for port in args])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
