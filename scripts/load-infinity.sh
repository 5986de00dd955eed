#!/usr/bin/env bash
# Compares the requests per second of /api/infinity/blocked_ips served by the
# API handler with a bare net/http handler that writes the same bytes, both
# started by tools/apiload on loopback ports, under the same wrk load. The
# target is a ratio of at least 0.80.
#
# Settings (environment): DURATION (wrk -d, default 10s), CONNECTIONS (wrk -c,
# default 32), THREADS (wrk -t, default 1), ROUNDS (default 2; each round runs
# bare then API, and the script reports the mean of the rounds). wrk comes from
# the Debian package wrk. Run from anywhere in the repository:
#
#	scripts/load-infinity.sh
set -euo pipefail

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-2}
ROUTE=/api/infinity/blocked_ips

log() { printf 'load-infinity: %s\n' "$*" >&2; }

if ! command -v wrk >/dev/null 2>&1; then
	log "wrk is not installed; install the Debian package wrk (apt-get install wrk) and rerun"
	exit 1
fi

cd "$(dirname "$0")/.."
workdir=$(mktemp -d)
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$workdir"
}
trap cleanup EXIT

go build -o "$workdir/apiload" ./tools/apiload
"$workdir/apiload" -addr-file "$workdir/addrs" &
server_pid=$!

for _ in $(seq 1 100); do
	[ -s "$workdir/addrs" ] && break
	sleep 0.1
done
if [ ! -s "$workdir/addrs" ]; then
	log "tools/apiload did not start within 10 s"
	exit 1
fi
api_url=$(sed -n 1p "$workdir/addrs")
bare_url=$(sed -n 2p "$workdir/addrs")

headers=()
if [ -n "${API_TOKEN:-}" ]; then
	headers=(-H "Authorization: Bearer $API_TOKEN")
fi

# rps URL prints the requests per second wrk reaches against URL, and fails
# when any request got a non-2xx response or a socket error.
rps() {
	local out
	out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "${headers[@]}" "$1$ROUTE")
	if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
		log "errors against $1:"
		printf '%s\n' "$out" >&2
		return 1
	fi
	awk '/^Requests\/sec:/ { print $2 }' <<<"$out"
}

bare_total=0
api_total=0
for round in $(seq 1 "$ROUNDS"); do
	bare=$(rps "$bare_url")
	api=$(rps "$api_url")
	printf 'round %d: bare %.0f req/s, api %.0f req/s\n' "$round" "$bare" "$api"
	bare_total=$(awk -v a="$bare_total" -v b="$bare" 'BEGIN { print a + b }')
	api_total=$(awk -v a="$api_total" -v b="$api" 'BEGIN { print a + b }')
done

awk -v b="$bare_total" -v a="$api_total" -v n="$ROUNDS" -v c="$CONNECTIONS" -v t="$THREADS" -v d="$DURATION" 'BEGIN {
	printf "wrk -t%s -c%s -d%s, %d rounds\n", t, c, d, n
	printf "bare handler: %.0f req/s\n", b / n
	printf "api handler:  %.0f req/s\n", a / n
	printf "ratio: %.2f (target >= 0.80)\n", a / b
	exit (a / b >= 0.80) ? 0 : 2
}'
