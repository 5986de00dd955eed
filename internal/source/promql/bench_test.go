package promql

import (
	"net/netip"
	"testing"
)

// BenchmarkNonPublicRegexp measures the label regex that the queries use
// to exclude non-public addresses, compiled as Go's regexp package, which
// VictoriaMetrics and Prometheus use, compiles an anchored matcher. One op
// matches one address text.
func BenchmarkNonPublicRegexp(b *testing.B) {
	re := anchored(b, NonPublicRegexp([]netip.Prefix{netip.MustParsePrefix("203.0.113.128/25"), netip.MustParsePrefix("2001:db8:ffff::/48")}))
	texts := []string{"203.0.113.10", "192.168.1.10", "2001:db8::20", "fd00::1", "100.64.1.2", "198.51.100.20", "fe80::1%igc0", "::ffff:10.1.2.3"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		re.MatchString(texts[i%len(texts)])
	}
}
