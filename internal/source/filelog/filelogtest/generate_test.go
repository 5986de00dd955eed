package filelogtest

import (
	"bufio"
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/filterlog"
	"github.com/threat-intel/threat-intel/internal/netclass"
)

var documentation = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
}

func isDocumentation(a netip.Addr) bool {
	for _, p := range documentation {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func TestGenerateParsesWithDocumentationAddresses(t *testing.T) {
	const lines = 20_000
	var buf bytes.Buffer
	end := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	if err := Generate(&buf, Options{Lines: lines, Seed: 3, End: end}); err != nil {
		t.Fatalf("Generate: %v", err)
	}

	parser := filterlog.NewParser(filterlog.Options{Location: time.UTC})
	classifier := netclass.New(nil)
	var ev filterlog.Event
	var last time.Time
	count := 0
	actions := make(map[filterlog.Action]int)
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		count++
		if err := parser.Parse(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %d: %v: %s", count, err, sc.Bytes())
		}
		for _, a := range []netip.Addr{ev.Src, ev.Dst} {
			if classifier.IsPublic(a) && !isDocumentation(a) {
				t.Fatalf("line %d: public address %v is not a documentation address", count, a)
			}
		}
		if ev.Time.Before(last) {
			t.Fatalf("line %d: time %v before the previous line's %v", count, ev.Time, last)
		}
		last = ev.Time
		actions[ev.Action]++
	}
	if count != lines {
		t.Errorf("wrote %d lines, want %d", count, lines)
	}
	if !last.Equal(end) {
		t.Errorf("last line at %v, want %v", last, end)
	}
	if actions[filterlog.ActionBlock] == 0 || actions[filterlog.ActionPass] == 0 {
		t.Errorf("actions = %v, want both block and pass", actions)
	}
}

func TestGenerateSameSeedSameOutput(t *testing.T) {
	var a, b, c bytes.Buffer
	for _, run := range []struct {
		buf  *bytes.Buffer
		seed uint64
	}{{&a, 1}, {&b, 1}, {&c, 2}} {
		if err := Generate(run.buf, Options{Lines: 500, Seed: run.seed}); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two runs with seed 1 differ")
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Error("runs with seeds 1 and 2 are equal")
	}
}

func TestGenerateNegativeLines(t *testing.T) {
	if err := Generate(new(bytes.Buffer), Options{Lines: -1}); err == nil {
		t.Error("Generate with -1 lines: no error")
	}
}
