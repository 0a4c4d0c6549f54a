#!/usr/bin/env python3
"""Probe an address with ICMP echo every 10 ms (stdlib only; raw socket: root).

  icmp_probe.py ADDR

Prints "ready" at the first answer. On a line "stop" on stdin: stops sending, waits one
second for the last answers, prints one JSON line {"sent": N, "lost": L, "lost_seq":
[the first 20 lost]} and exits.
"""
import json
import os
import select
import socket
import struct
import sys
import time

addr = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident = os.getpid() & 0xFFFF


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    total = sum(struct.unpack(f"!{len(b) // 2}H", b))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo(seq):
    head = struct.pack("!BBHHH", 8, 0, 0, ident, seq & 0xFFFF)
    body = b"ldirector-probe"
    c = checksum(head + body)
    return struct.pack("!BBHHH", 8, 0, c, ident, seq & 0xFFFF) + body


sent, answered = 0, set()
ready = False
stop_at = None
next_send = time.monotonic()
while True:
    now = time.monotonic()
    if stop_at is None and now >= next_send:
        s.sendto(echo(sent), (addr, 0))
        sent += 1
        next_send += 0.01
    if stop_at is not None and now >= stop_at:
        break
    wait = max(0.0, (stop_at or next_send) - time.monotonic())
    r, _, _ = select.select([s, sys.stdin], [], [], wait)
    if sys.stdin in r:
        line = sys.stdin.readline()
        if (not line or line.strip() == "stop") and stop_at is None:
            stop_at = time.monotonic() + 1.0
    if s in r:
        pkt = s.recv(2048)
        ihl = (pkt[0] & 0x0F) * 4
        t, _, _, i, seq = struct.unpack("!BBHHH", pkt[ihl:ihl + 8])
        if t == 0 and i == ident:
            answered.add(seq)
            if not ready:
                ready = True
                print("ready", flush=True)
lost = [q for q in range(sent) if (q & 0xFFFF) not in answered]
print(json.dumps({"sent": sent, "lost": len(lost), "lost_seq": lost[:20]}), flush=True)
