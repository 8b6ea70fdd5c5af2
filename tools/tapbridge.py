#!/usr/bin/python3
"""tapbridge.py - relay whole Ethernet frames between a Linux TAP device and UDP.

Standard library only; one UDP datagram == one Ethernet frame (no FCS, no extra header).
The UDP socket is created in the namespace the helper was started in (the root namespace, next
to the Node test process); then the helper enters --netns (made beforehand with
`ip netns add NAME`) and creates the TAP there, so the device never appears in the root
namespace. The TAP is non-persistent: the kernel deletes it when this process exits.
Prints `READY <udp-port>` once the TAP exists. Design from ../shared/REAL-PEER.md §2c.
"""
import argparse, ctypes, fcntl, os, selectors, signal, socket, struct, sys, time

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1


def hostport(s):
    h, p = s.rsplit(':', 1)
    return h, int(p)


ap = argparse.ArgumentParser()
ap.add_argument('--netns', help='name under /run/netns')
ap.add_argument('--tap', default='tap0')
ap.add_argument('--listen', type=hostport, default=('127.0.0.1', 0))
ap.add_argument('--peer', type=hostport, required=True)
ap.add_argument('--lifetime', type=float, default=600.0, help='exit after N seconds')
ap.add_argument('--die-with-parent', action='store_true')
a = ap.parse_args()

if a.die_with_parent:
    ppid = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != ppid:
        sys.exit('parent already gone')

udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
udp.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
udp.bind(a.listen)

if a.netns:
    libc = ctypes.CDLL(None, use_errno=True)
    nsfd = os.open('/run/netns/' + a.netns, os.O_RDONLY)
    if libc.setns(nsfd, CLONE_NEWNET) != 0:
        sys.exit('setns: ' + os.strerror(ctypes.get_errno()))
    os.close(nsfd)

tap = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(tap, TUNSETIFF, struct.pack('16sH', a.tap.encode(), IFF_TAP | IFF_NO_PI))
os.set_blocking(tap, False)
udp.setblocking(False)
print(f'READY {udp.getsockname()[1]} tap={a.tap} netns={a.netns or "-"}', flush=True)


def on_sig(*_):
    raise SystemExit(0)


signal.signal(signal.SIGTERM, on_sig)
signal.signal(signal.SIGINT, on_sig)

sel = selectors.DefaultSelector()
sel.register(tap, selectors.EVENT_READ, 'tap')
sel.register(udp, selectors.EVENT_READ, 'udp')
deadline = time.monotonic() + a.lifetime
n_t2u = n_u2t = 0
try:
    while time.monotonic() < deadline:
        for key, _ in sel.select(0.5):
            try:
                if key.data == 'tap':
                    while True:
                        frame = os.read(tap, 65536)
                        try:
                            udp.sendto(frame, a.peer)
                            n_t2u += 1
                        except (ConnectionRefusedError, BlockingIOError):
                            pass  # peer not bound or buffer full: lost, as on a wire
                else:
                    while True:
                        frame, _src = udp.recvfrom(65536)
                        if len(frame) >= 14:
                            os.write(tap, frame)
                            n_u2t += 1
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:
                print('tapbridge: ' + str(e), file=sys.stderr, flush=True)
finally:
    print(f'tapbridge: exit tap->udp={n_t2u} udp->tap={n_u2t}', flush=True)
