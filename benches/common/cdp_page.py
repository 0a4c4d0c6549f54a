"""Load a page in headless Chromium over the DevTools protocol (real time, not the
virtual time of --dump-dom) and print the page's own timing attributes once it has drawn:
`wall_ms fetch_ms parse_ms draw_ms` (wall: from navigation to the first drawing seen).
Standard library only: a minimal WebSocket client for the one connection it needs.

    python3 cdp_page.py URL PROFILE_DIR [TIMEOUT_S]
"""
import base64, json, os, socket, struct, subprocess, sys, time, urllib.request

url, profile = sys.argv[1], sys.argv[2]
limit = float(sys.argv[3]) if len(sys.argv) > 3 else 120.0
os.makedirs(profile, exist_ok=True)
chrome = subprocess.Popen(
    ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
     "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    end = time.time() + limit
    port_file = os.path.join(profile, "DevToolsActivePort")
    while not os.path.exists(port_file) or not open(port_file).read().strip():
        if time.time() > end:
            sys.exit("chromium did not open its DevTools port")
        time.sleep(0.05)
    port = int(open(port_file).read().split()[0])
    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
    page = next(t for t in targets if t["type"] == "page")
    path = page["webSocketDebuggerUrl"].split(f":{port}", 1)[1]

    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert b" 101 " in head.split(b"\r\n")[0], head

    def send(obj):
        data = json.dumps(obj).encode()
        mask = os.urandom(4)
        n = len(data)
        hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n))
        s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def read_exact(n):
        b = b""
        while len(b) < n:
            chunk = s.recv(n - len(b))
            if not chunk:
                raise EOFError
            b += chunk
        return b

    def recv():
        h = read_exact(2)
        n = h[1] & 0x7F
        if n == 126:
            n = struct.unpack(">H", read_exact(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", read_exact(8))[0]
        return json.loads(read_exact(n))

    ids = iter(range(1, 1 << 30))

    def call(method, **params):
        i = next(ids)
        send({"id": i, "method": method, "params": params})
        while True:
            m = recv()
            if m.get("id") == i:
                return m.get("result", {})

    t0 = time.time()
    call("Page.navigate", url=url)
    expr = ("(() => { const m = document.getElementById('main'); if (!m || m.dataset.rendered !== '1' || !m.dataset.drawMs) return null;"
            " return [m.dataset.fetchMs, m.dataset.parseMs, m.dataset.drawMs].join(' '); })()")
    while time.time() < end:
        r = call("Runtime.evaluate", expression=expr, returnByValue=True)
        v = r.get("result", {}).get("value")
        if v:
            print(f"{(time.time() - t0) * 1000:.0f} {v}")
            break
        time.sleep(0.02)
    else:
        sys.exit("the page did not draw")
finally:
    chrome.kill()
    chrome.wait()
