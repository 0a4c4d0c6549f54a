#!/usr/bin/env python3
"""Real servers and a client for the IPVS tests in the VM (stdlib only).

  peer.py serve NAME PORT           answer TCP (a line, then NAME) and UDP (NAME) on PORT
  peer.py fetch ADDR PORT N [udp] [src=IP,IP...] [hold]
                                    N requests (cycling over the source addresses), one
                                    server name per line; 'hold' keeps the TCP connections
                                    open until stdin closes
"""
import socket
import sys
import threading


def serve(name, port):
    reply = name.encode()

    def tcp(family, addr):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, port))
        s.listen(512)
        while True:
            c, _ = s.accept()
            threading.Thread(target=answer, args=(c,), daemon=True).start()

    def answer(c):
        try:
            c.recv(1024)
            c.sendall(reply + b"\n")
            # hold the connection until the client closes it (lc/wlc tests count them);
            # every later request on it is answered too (the active-active test's
            # long-lived connections ask again and again)
            while c.recv(1024):
                c.sendall(reply + b"\n")
        except OSError:
            pass
        finally:
            c.close()

    def udp(family, addr):
        s = socket.socket(family, socket.SOCK_DGRAM)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, port))
        while True:
            _, peer = s.recvfrom(2048)
            s.sendto(reply, peer)

    threads = [
        threading.Thread(target=tcp, args=(socket.AF_INET, "0.0.0.0"), daemon=True),
        threading.Thread(target=udp, args=(socket.AF_INET, "0.0.0.0"), daemon=True),
    ]
    if socket.has_ipv6:
        for f in (tcp, udp):
            threads.append(threading.Thread(target=f, args=(socket.AF_INET6, "::"), daemon=True))
    for t in threads:
        t.start()
    print("ready", flush=True)
    threading.Event().wait()


def fetch(addr, port, n, opts):
    udp = "udp" in opts
    hold = "hold" in opts
    srcs = [None]
    for o in opts:
        if o.startswith("src="):
            srcs = o[4:].split(",")
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    held = []
    for i in range(n):
        src = srcs[i % len(srcs)]
        try:
            if udp:
                s = socket.socket(family, socket.SOCK_DGRAM)
                s.settimeout(3)
                if src:
                    s.bind((src, 0))
                s.sendto(b"hi", (addr, port))
                name = s.recv(2048).decode().strip()
                s.close()
            else:
                s = socket.socket(family, socket.SOCK_STREAM)
                s.settimeout(5)
                if src:
                    s.bind((src, 0))
                s.connect((addr, port))
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                name = s.recv(1024).decode().strip()
                if hold:
                    held.append(s)
                else:
                    s.close()
        except OSError as e:
            name = "error:" + str(e)
        print(name, flush=True)
    if hold:
        sys.stdin.read()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "fetch":
        fetch(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:])
