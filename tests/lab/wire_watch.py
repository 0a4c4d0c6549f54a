#!/usr/bin/env python3
"""Watch a bridge's frames (stdlib only): VRRP adverts and gratuitous ARP.

  wire_watch.py IFACE

Reads every frame IFACE receives (run it in the switch namespace on the bridge: multicast
adverts and broadcast ARP are flooded to it). Until a line "stop" on stdin, then prints
one JSON line:

  {"adverts": {"SRC": count}, "max_gap_ms": {"SRC": the longest time between two adverts
   of SRC, "any": between two adverts of any source with a priority above 0},
   "garp": {"MAC": gratuitous ARP frames sent by MAC}}
"""
import json
import select
import socket
import struct
import sys
import time

iface = sys.argv[1]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
s.bind((iface, 0))
adverts, last, gaps, garp = {}, {}, {}, {}
last_any = None
print("ready", flush=True)
while True:
    r, _, _ = select.select([s, sys.stdin], [], [], 1.0)
    if sys.stdin in r:
        line = sys.stdin.readline()
        if not line or line.strip() == "stop":
            break
    if s not in r:
        continue
    while True:
        try:
            frame = s.recv(2048, socket.MSG_DONTWAIT)
        except BlockingIOError:
            break
        now = time.monotonic()
        if len(frame) < 14:
            continue
        ethertype = struct.unpack("!H", frame[12:14])[0]
        if ethertype == 0x0800 and len(frame) >= 34 and frame[23] == 112:
            src = socket.inet_ntoa(frame[26:30])
            adverts[src] = adverts.get(src, 0) + 1
            if src in last:
                gap = (now - last[src]) * 1000
                gaps[src] = max(gaps.get(src, 0), round(gap, 1))
            last[src] = now
            ihl = (frame[14] & 0x0F) * 4
            prio = frame[14 + ihl + 2] if len(frame) > 14 + ihl + 2 else 0
            if prio > 0:
                if last_any is not None:
                    gap = (now - last_any) * 1000
                    gaps["any"] = max(gaps.get("any", 0), round(gap, 1))
                last_any = now
        elif ethertype == 0x0806 and len(frame) >= 42:
            sender_ip, target_ip = frame[28:32], frame[38:42]
            if sender_ip == target_ip:
                mac = frame[22:28].hex(":")
                garp[mac] = garp.get(mac, 0) + 1
print(json.dumps({"adverts": adverts, "max_gap_ms": gaps, "garp": garp}), flush=True)
