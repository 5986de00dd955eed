package filterlog

import (
	"bufio"
	"bytes"
	"testing"
)

// benchLines are the common shapes: IPv4 and IPv6, TCP and UDP, under a
// BSD and an RFC 5424 header.
var benchLines = []struct {
	name string
	line string
}{
	{"ipv4-tcp-bsd", `<134>Jan  5 10:20:30 fw.example.net filterlog[12345]: 5,,,1000000103,igb0,match,block,in,4,0x0,,242,54321,0,none,6,tcp,40,203.0.113.45,198.51.100.10,51234,3389,0,S,1234567890,,1024,,mss`},
	{"ipv4-udp-bsd", `<134>Jan  5 10:20:30 fw.example.net filterlog[12345]: 5,,,1000000103,igb0,match,block,in,4,0x0,,115,12345,0,none,17,udp,72,203.0.113.45,198.51.100.10,5353,53,52`},
	{"ipv6-tcp-bsd", `<134>Jan  5 10:20:30 fw.example.net filterlog[12345]: 6,,,1000000105,igb0,match,block,in,6,0x00,0x3f2a1,57,tcp,6,40,2001:db8:1::45,2001:db8:ffff:0:1:2:3:10,51234,22,0,S,987654321,,64800,,mss;sackOK;TS;nop;wscale`},
	{"ipv6-udp-bsd", `<134>Jan  5 10:20:30 fw.example.net filterlog[12345]: 6,,,1000000105,igb0,match,block,in,6,0x00,0x3f2a1,57,UDP,17,60,2001:db8:1::45,2001:db8:ffff::10,40000,443,60`},
	{"ipv4-tcp-rfc5424", `<134>1 2025-01-05T10:20:30.123456+01:00 fw.example.net filterlog 12345 - [meta sequenceId="42"] 68,,,2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e,vtnet1,match,pass,out,4,0x0,,64,0,0,DF,6,tcp,60,192.168.1.100,203.0.113.80,51645,443,0,S,2145306578,,65228,,mss;nop;wscale;sackOK;TS`},
	{"ipv4-udp-rfc5424", `<134>1 2025-01-05T10:20:30.123456+01:00 fw.example.net filterlog 12345 - [meta sequenceId="43"] 68,,,2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e,vtnet1,match,pass,out,4,0x0,,64,0,0,DF,17,udp,80,192.168.1.100,198.51.100.53,12162,53,60`},
	{"ipv6-tcp-rfc5424", `<134>1 2025-01-05T10:20:30.123456+01:00 fw.example.net filterlog 12345 - - 64,,,7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d,vtnet0,match,block,in,6,0x00,0x75c57,128,tcp,6,32,2001:db8:abcd:ef01:2345:6789:abcd:ef01,2001:db8:1111:2222:3333:4444:5555:6666,54683,80,0,S,3506412436,,64660,,mss;nop;wscale;nop;nop;sackOK`},
	{"ipv6-udp-rfc5424", `<134>1 2025-01-05T10:20:30.123456+01:00 fw.example.net filterlog 12345 - - 61,,,1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b,vtnet0,match,pass,in,6,0x00,0xfd492,128,udp,17,60,2001:db8:1234:5678::1,2001:db8:1234:5678::2,63511,53,60`},
}

// BenchmarkParse parses one line per operation with the default options,
// which read the clock for every BSD line.
func BenchmarkParse(b *testing.B) {
	for _, bc := range benchLines {
		b.Run(bc.name, func(b *testing.B) {
			p := NewParser(Options{})
			line := []byte(bc.line)
			var ev Event
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				if err := p.Parse(line, &ev); err != nil {
					b.Fatalf("Parse(%q): %v", bc.line, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// benchInput returns the benchmark lines repeated to about 1 MiB, one per line.
func benchInput() []byte {
	var buf bytes.Buffer
	for buf.Len() < 1<<20 {
		for _, bc := range benchLines {
			buf.WriteString(bc.line)
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

// BenchmarkScanLines is the baseline: a bufio.Scanner that only counts the
// lines of the same input, one line per operation.
func BenchmarkScanLines(b *testing.B) {
	input := benchInput()
	scanner := bufio.NewScanner(bytes.NewReader(input))
	lines := 0
	b.ReportAllocs()
	for b.Loop() {
		if !scanner.Scan() {
			scanner = bufio.NewScanner(bytes.NewReader(input))
			scanner.Scan()
		}
		lines++
	}
	b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkScanAndParse scans and parses the same input, one line per
// operation: what a log reader pays per line.
func BenchmarkScanAndParse(b *testing.B) {
	input := benchInput()
	scanner := bufio.NewScanner(bytes.NewReader(input))
	p := NewParser(Options{})
	var ev Event
	b.ReportAllocs()
	for b.Loop() {
		if !scanner.Scan() {
			scanner = bufio.NewScanner(bytes.NewReader(input))
			scanner.Scan()
		}
		if err := p.Parse(scanner.Bytes(), &ev); err != nil {
			b.Fatalf("Parse(%q): %v", scanner.Text(), err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
