#!/bin/sh
# Runs the real-peer suite (the inet engine against Linux TCP through a TAP device).
# Needs root, /dev/net/tun, iproute2, /usr/bin/python3, tshark; otherwise the tests print SKIP.
# Usage: test/peer/run-peer.sh [vitest args]   e.g.  PEER_BYTES=1000000 test/peer/run-peer.sh -t clean
set -eu
cd "$(dirname "$0")/../.."
exec npx vitest run --config vitest.peer.config.ts "$@"
