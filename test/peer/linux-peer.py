#!/usr/bin/python3
"""linux-peer.py - the Linux kernel's TCP as a bulk-transfer peer, run inside the test namespace.

  linux-peer.py server ADDR PORT NBYTES TIMEOUT   listen, accept one connection
  linux-peer.py client ADDR PORT NBYTES TIMEOUT   connect (retrying until TIMEOUT)

Either way: send NBYTES random bytes then shut down the write side, while receiving until EOF.

  linux-peer.py stalled-server ADDR PORT 0 TIMEOUT STALLS STALL_S CHUNK RCVBUF
                                                  a stalled reader: listen with SO_RCVBUF=RCVBUF,
                                                  accept one connection, then STALLS times: read
                                                  nothing for STALL_S seconds (the window closes),
                                                  then read CHUNK bytes; then read until EOF.
                                                  Sends nothing.

Prints `LISTENING` (server) once bound, then one JSON line:
  {"sentBytes", "sentSha256", "rcvdBytes", "rcvdSha256", "seconds"}
Exits non-zero on error or timeout. Standard library only.
"""
import hashlib, json, os, socket, sys, threading, time

mode, addr, port, nbytes, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
deadline = time.monotonic() + timeout

if mode == 'stalled-server':
    stalls, stall_s, chunk, rcvbuf = int(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)   # inherited by the accepted socket
    ls.bind((addr, port))
    ls.listen(1)
    ls.settimeout(timeout)
    print('LISTENING', flush=True)
    conn, _ = ls.accept()
    ls.close()
    conn.settimeout(max(1.0, deadline - time.monotonic()))
    t0 = time.monotonic()
    h = hashlib.sha256()
    rcvd = 0
    eof = False
    for _ in range(stalls):
        time.sleep(stall_s)
        want = chunk
        while want > 0:
            d = conn.recv(min(want, 1 << 16))
            if not d:
                eof = True
                break
            h.update(d)
            rcvd += len(d)
            want -= len(d)
        if eof:
            break
    while not eof:
        d = conn.recv(1 << 16)
        if not d:
            break
        h.update(d)
        rcvd += len(d)
    conn.close()
    print(json.dumps({'sentBytes': 0, 'sentSha256': hashlib.sha256(b'').hexdigest(), 'rcvdBytes': rcvd,
                      'rcvdSha256': h.hexdigest(), 'seconds': round(time.monotonic() - t0, 3), 'errors': []}), flush=True)
    sys.exit(0)

if mode == 'server':
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1)
    ls.settimeout(timeout)
    print('LISTENING', flush=True)
    conn, _ = ls.accept()
    ls.close()
else:
    while True:
        try:
            conn = socket.create_connection((addr, port), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)

conn.settimeout(max(1.0, deadline - time.monotonic()))
payload = os.urandom(nbytes)
sent_sha = hashlib.sha256(payload).hexdigest()
t0 = time.monotonic()
err = []


def sender():
    try:
        conn.sendall(payload)
        conn.shutdown(socket.SHUT_WR)
    except OSError as e:
        err.append('send: ' + str(e))


th = threading.Thread(target=sender, daemon=True)
th.start()
h = hashlib.sha256()
rcvd = 0
while True:
    chunk = conn.recv(1 << 16)
    if not chunk:
        break
    h.update(chunk)
    rcvd += len(chunk)
th.join(max(0.0, deadline - time.monotonic()))
conn.close()
print(json.dumps({'sentBytes': nbytes, 'sentSha256': sent_sha, 'rcvdBytes': rcvd, 'rcvdSha256': h.hexdigest(),
                  'seconds': round(time.monotonic() - t0, 3), 'errors': err}), flush=True)
sys.exit(1 if err or th.is_alive() else 0)
