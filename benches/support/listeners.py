#!/usr/bin/env python3
"""Fixture for benches: N listeners on 127.0.0.1 with C accepted connections spread across them.

Usage: listeners.py serve N ADDRFILE [BASE]
                                          bind N listeners on ports BASE.. (default 20000: below
                                          the ephemeral range clients use, as servers' ports
                                          are), write their addresses to ADDRFILE, accept and
                                          hold every connection
       listeners.py connect C ADDRFILE    open C connections round-robin over ADDRFILE's
                                          addresses, write ADDRFILE.connected, hold them
Two processes, so each stays under a 20,000 open-files limit. Both exit after 10 minutes.
Loopback only.
"""
import os
import selectors
import socket
import sys
import time

mode, count, addrfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
deadline = time.time() + 600
held = []
if mode == "serve":
    base = int(sys.argv[4]) if len(sys.argv) > 4 else 20000
    selector = selectors.DefaultSelector()
    with open(addrfile + ".tmp", "w") as f:
        for i in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAITs
            s.bind(("127.0.0.1", base + i))
            s.listen(4096)
            s.setblocking(False)
            selector.register(s, selectors.EVENT_READ)
            held.append(s)
            f.write("%s:%d\n" % s.getsockname())
    os.rename(addrfile + ".tmp", addrfile)
    while time.time() < deadline:
        for key, _ in selector.select(timeout=1):
            try:
                while True:
                    conn, _ = key.fileobj.accept()
                    held.append(conn)
            except BlockingIOError:
                pass
else:
    with open(addrfile) as f:
        addrs = [line.strip().rsplit(":", 1) for line in f if line.strip()]
    for i in range(count):
        host, port = addrs[i % len(addrs)]
        held.append(socket.create_connection((host, int(port))))
    open(addrfile + ".connected", "w").close()
    time.sleep(max(0, deadline - time.time()))
