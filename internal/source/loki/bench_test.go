package loki

import (
	"regexp"
	"testing"
)

// BenchmarkPortRegexps measures the two regexp stages of the port query
// on a blocked IPv4 and a blocked IPv6 TCP line, compiled with Go's regexp
// package, which Loki also uses. One op runs both stages on one line, as
// Loki does for every line that passes the line filters.
func BenchmarkPortRegexps(b *testing.B) {
	stages := []*regexp.Regexp{regexp.MustCompile(IPv4PortRegexp), regexp.MustCompile(IPv6PortRegexp)}
	lines := [][]byte{
		[]byte("Sep 28 10:38:09 pfSense filterlog: 5,,,1000000103,igb1,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,198.51.100.9,192.168.1.1,55000,22,0,S,1,,64240,,mss;sackOK;TS;nop;wscale"),
		[]byte("<134>1 2025-11-06T11:42:14.270789+00:00 firewall.lan filterlog 92653 - - 621,,,1644355515,vtnet0.10,match,block,in,6,0x00,0x07c63,64,TCP,6,44,2001:db8::d8:cdbf,2001:db8:5::6,65382,443,0,S,1927530165,,0,,mss;nop;wscale"),
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		line := lines[i%len(lines)]
		for _, re := range stages {
			re.FindSubmatch(line)
		}
	}
}
