#!/usr/bin/env bash
# Measures the resident memory of `threat-intel serve` after its first cycle
# over 70 distinct public addresses (50 blocked sources, 20 outbound
# destinations), with the four providers replayed on loopback from the test
# corpus. It runs BenchmarkServeRSS, which builds the binary, starts it RUNS
# times and reports the largest VmRSS (rss_MiB) and VmHWM (hwm_MiB) read from
# /proc/PID/status. The target is an RSS under 40 MiB. Linux only.
#
# Settings (environment): RUNS (default 3), THREAT_INTEL_CORPUS (the corpus
# directory, default ../shared/corpus beside the repository). Run from
# anywhere in the repository:
#
#	scripts/bench-serve-rss.sh
set -euo pipefail

RUNS=${RUNS:-3}

cd "$(git rev-parse --show-toplevel)"
go test -run '^$' -bench '^BenchmarkServeRSS$' -benchtime "${RUNS}x" ./cmd/threat-intel
