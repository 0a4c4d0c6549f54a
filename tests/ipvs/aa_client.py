#!/usr/bin/env python3
"""The client of the active-active test (stdlib only).

  aa_client.py ADDR PORT N

N long-lived TCP connections to ADDR:PORT, each asking every 0.1 s (a line; the real
server answers with its name); and a new connection every 0.05 s (one request, closed).
A long-lived connection is *broken* when it is reset or closed, or when another real
server answers it than the first one did; a request that waits (the path moved, TCP
retransmits) is not a break, only *late* (over 1 s). Commands on stdin, one per line:

  report   print one JSON line with the counts since the start:
           {"held": N, "broken": B, "late": L, "requests": R, "by_server": {...},
            "new_ok": K, "new_fail": F, "worst_ms": W (the longest wait for an answer),
            "stuck": S (connections whose request has waited over 2 s now)}
  broken   print the names of the real servers of the broken connections (JSON list)
  refill   open new long-lived connections for the broken ones (N alive again), then
           print {"alive": N}
  quit     close everything and exit
"""
import json
import socket
import sys
import threading
import time

addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lock = threading.Lock()
stop = threading.Event()
counts = {"alive": 0, "held": 0, "broken": 0, "late": 0, "requests": 0, "new_ok": 0, "new_fail": 0,
          "worst_ms": 0}
by_server = {}
broken_on = []
# per held connection: since when its request waits (None: answered)
waiting = {}


def held_connection(ready):
    server = None
    try:
        s = socket.create_connection((addr, port), timeout=5)
        # a request waits as long as TCP retransmits through a routing change
        s.settimeout(30)
        f = s.makefile("rb")
        while not stop.is_set():
            t0 = time.monotonic()
            waiting[threading.get_ident()] = t0
            s.sendall(b"x\n")
            line = f.readline()
            if not line:
                raise ConnectionResetError("closed")
            name = line.decode().strip()
            took = time.monotonic() - t0
            waiting[threading.get_ident()] = None
            with lock:
                counts["requests"] += 1
                if took > 1:
                    counts["late"] += 1
                counts["worst_ms"] = max(counts["worst_ms"], int(took * 1000))
                if server is None:
                    server = name
                    counts["held"] += 1
                    counts["alive"] += 1
                    by_server[name] = by_server.get(name, 0) + 1
                    ready.set()
                elif name != server:
                    raise ConnectionError(f"answered by {name}, not {server}")
            stop.wait(0.1)
    except (OSError, ConnectionError):
        waiting[threading.get_ident()] = None
        if not stop.is_set():
            with lock:
                counts["broken"] += 1
                broken_on.append(server)
                if server is not None:
                    counts["alive"] -= 1
    ready.set()


def hold(k):
    """Open k long-lived connections, one after the other (each answered once)."""
    for _ in range(k):
        ready = threading.Event()
        threading.Thread(target=held_connection, args=(ready,), daemon=True).start()
        ready.wait(10)


def new_connections():
    while not stop.is_set():
        try:
            s = socket.create_connection((addr, port), timeout=2)
            s.settimeout(2)
            s.sendall(b"x\n")
            ok = bool(s.recv(1024))
            s.close()
        except OSError:
            ok = False
        with lock:
            counts["new_ok" if ok else "new_fail"] += 1
        stop.wait(0.05)


hold(n)
threading.Thread(target=new_connections, daemon=True).start()
print("ready", flush=True)
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "refill":
        with lock:
            missing = n - counts["alive"]
        hold(missing)
        with lock:
            print(json.dumps({"alive": counts["alive"]}), flush=True)
        continue
    with lock:
        if cmd == "report":
            now = time.monotonic()
            stuck = sum(1 for t in list(waiting.values()) if t is not None and now - t > 2)
            print(json.dumps(dict(counts, by_server=by_server, stuck=stuck)), flush=True)
        elif cmd == "broken":
            print(json.dumps(broken_on), flush=True)
    if cmd == "quit":
        break
stop.set()
