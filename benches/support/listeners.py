#!/usr/bin/env python3
"""Fixture for benches: N listeners on 127.0.0.1 with C accepted connections spread across them.

Usage: listeners.py serve N ADDRFILE [BASE]
                                          bind N listeners on ports BASE.. (default 20000: below
                                          the ephemeral range clients use, as servers' ports
                                          are), write their addresses to ADDRFILE, accept and
                                          hold every connection
       listeners.py connect C ADDRFILE    open C connections round-robin over ADDRFILE's
                                          addresses, write ADDRFILE.connected, hold them
       listeners.py hold N C Q ADDRFILE [BASE]
                                          one process holding both ends: N listeners as serve,
                                          C connections round-robin over them from 127.0.0.2-9
                                          (so many fit in the ephemeral port range), each
                                          accepted except the last Q, left queued in their
                                          listeners' backlogs; writes ADDRFILE when all are
                                          in place. Both ends of a connection are held by one
                                          of several children, each within the open-files
                                          limit; SIGTERM ends them all.
                                          Every socket closes with a reset: no TIME_WAITs
                                          left to slow the next run's dumps.
serve and connect are two processes, so each stays under a 20,000 open-files limit. Every
mode exits after 10 minutes. Loopback only.
"""
import ctypes
import os
import resource
import selectors
import signal
import socket
import struct
import sys
import time

deadline = time.time() + 600
held = []
mode = sys.argv[1]
if mode == "hold":
    listeners, count, queued = (int(a) for a in sys.argv[2:5])
    addrfile = sys.argv[5]
    base = int(sys.argv[6]) if len(sys.argv) > 6 else 20000
    reset = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close sends RST
    IP_BIND_ADDRESS_NO_PORT = 24  # the port is chosen at connect, per destination
    servers = []
    for i in range(listeners):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", base + i))
        s.listen(4096)
        servers.append(s)
    # Each child holds both ends of a slice of the connections, within the open-files limit
    # (which a container may cap below what root could otherwise raise it to).
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    per_child = max(1, (limit - listeners - 64) // 2)
    children = []

    def stop(*_):
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    for first in range(0, count, per_child):
        ready, done = os.pipe()
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the parent
            for i in range(first, min(count, first + per_child)):
                server = servers[i % listeners]
                c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, reset)
                c.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                c.bind(("127.0.0.%d" % (2 + i % 8), 0))
                c.connect(server.getsockname())
                held.append(c)
                if i < count - queued:
                    conn, _ = server.accept()
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, reset)
                    held.append(conn)
            os.write(done, b".")
            time.sleep(max(0, deadline - time.time()))
            os._exit(0)
        children.append(pid)
        os.close(done)
        if os.read(ready, 1) != b".":
            print("a fixture child failed", file=sys.stderr)
            stop()
        os.close(ready)
    with open(addrfile + ".tmp", "w") as f:
        f.writelines("%s:%d\n" % s.getsockname() for s in servers)
    os.rename(addrfile + ".tmp", addrfile)
    time.sleep(max(0, deadline - time.time()))
    stop()

count, addrfile = int(sys.argv[2]), sys.argv[3]
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
