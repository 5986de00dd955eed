#!/usr/bin/env bash
# Makes sure every service the test suite talks to is running on loopback,
# installing it from Debian packages when it is missing and we are root.
# Services: Redis on 127.0.0.1:6379 and VictoriaMetrics on 127.0.0.1:8428
# (REDIS_TEST_URL and VICTORIAMETRICS_TEST_URL point the tests elsewhere),
# and the promtool command. Exits non-zero, naming the service, when one
# cannot be made ready.
set -euo pipefail

log() { printf 'test-services: %s\n' "$*" >&2; }

apt_updated=
install_pkg() {
	if [ "$(id -u)" != 0 ]; then
		log "$1 is not installed; install the Debian package $1 (or point the tests elsewhere) and rerun"
		exit 1
	fi
	if [ -z "$apt_updated" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
		apt_updated=1
	fi
	log "installing $1"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

# wait_for NAME SECONDS COMMAND... retries COMMAND until it succeeds.
wait_for() {
	local name=$1 secs=$2
	shift 2
	for _ in $(seq 1 $((secs * 10))); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	log "$name did not become ready within ${secs}s"
	return 1
}

ensure_redis() {
	command -v redis-server >/dev/null || install_pkg redis-server
	command -v redis-cli >/dev/null || install_pkg redis-tools
	if redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
		return 0
	fi
	log "starting redis-server on 127.0.0.1:6379"
	mkdir -p /tmp/threat-intel-redis
	redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
		--dir /tmp/threat-intel-redis --logfile /tmp/threat-intel-redis/redis.log
	wait_for redis 20 sh -c 'redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG'
}

# promtool checks the /metrics exposition; Debian ships it in the
# prometheus package. The package's own service is not needed.
ensure_promtool() {
	command -v promtool >/dev/null || install_pkg prometheus
	if pgrep -x prometheus >/dev/null 2>&1 && [ -n "$apt_updated" ]; then
		pkill -x prometheus || true
	fi
}

# ensure_victoriametrics starts VictoriaMetrics on 127.0.0.1:8428 with its data
# in /tmp, unless something already answers /health there. The stack source
# tests import samples a few minutes old, so a one-day retention covers them.
ensure_victoriametrics() {
	command -v victoria-metrics >/dev/null || install_pkg victoria-metrics
	command -v curl >/dev/null || install_pkg curl
	local url=http://127.0.0.1:8428
	if curl -fsS --max-time 2 "$url/health" 2>/dev/null | grep -q OK; then
		return 0
	fi
	log "starting victoria-metrics on 127.0.0.1:8428"
	local dir=/tmp/threat-intel-victoriametrics
	mkdir -p "$dir"
	setsid nohup victoria-metrics -httpListenAddr=127.0.0.1:8428 \
		-storageDataPath="$dir/data" -retentionPeriod=1d \
		>"$dir/victoria-metrics.log" 2>&1 </dev/null &
	wait_for victoria-metrics 30 sh -c "curl -fsS --max-time 2 $url/health | grep -q OK"
}

if [ -z "${REDIS_TEST_URL:-}" ]; then
	ensure_redis
fi
ensure_promtool
if [ -z "${VICTORIAMETRICS_TEST_URL:-}" ]; then
	ensure_victoriametrics
fi
log "ready"
