#!/usr/bin/env python3
"""The client of the end-to-end director-pair test (stdlib only).

  http_client.py HOST

Until stdin closes: a new HTTP connection every 0.1 s, and one kept-alive connection asking
every 0.5 s (a long-lived TCP connection: it must never be replaced). One line per request:

  new OK NAME | new FAIL REASON | held OK NAME | held FAIL REASON

A line 'mark WORD' on stdin is echoed as 'MARK WORD', in order with the requests.
"""
import http.client
import sys
import threading
import time

lock = threading.Lock()
stop = threading.Event()


def say(s):
    with lock:
        print(s, flush=True)


def new_connections(host):
    while not stop.is_set():
        try:
            c = http.client.HTTPConnection(host, 80, timeout=1)
            c.request("GET", "/")
            r = c.getresponse()
            body = r.read().decode().strip()
            c.close()
            say(f"new OK {body}" if r.status == 200 else f"new FAIL status-{r.status}")
        except Exception as e:  # noqa: BLE001 - every failure is a result here
            say(f"new FAIL {type(e).__name__}")
        time.sleep(0.1)


def held_connection(host):
    # long timeout: a request in flight during a failover waits for TCP's retransmissions
    c = http.client.HTTPConnection(host, 80, timeout=30)
    port = None
    while not stop.is_set():
        try:
            c.request("GET", "/")
            r = c.getresponse()
            body = r.read().decode().strip()
            now = c.sock.getsockname()[1] if c.sock else None
            if port is None:
                port = now
            if now != port:
                say("held FAIL reconnected")
                return
            say(f"held OK {body}")
        except Exception as e:  # noqa: BLE001
            say(f"held FAIL {type(e).__name__}")
            return
        time.sleep(0.5)


def main():
    host = sys.argv[1]
    for f in (new_connections, held_connection):
        threading.Thread(target=f, args=(host,), daemon=True).start()
    for line in sys.stdin:
        w = line.split()
        if len(w) == 2 and w[0] == "mark":
            say(f"MARK {w[1]}")
    stop.set()


if __name__ == "__main__":
    main()
