package blocklist_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/blocklist"
	"github.com/threat-intel/threat-intel/internal/report"
)

// fullList returns a Blocklist whose store holds DefaultMaxEntries entries,
// half IPv4 and half IPv6, all seen at t0.
func fullList(b *testing.B) *blocklist.Blocklist {
	b.Helper()
	list, err := blocklist.New(&memStore{}, blocklist.DefaultOptions())
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	var r report.Report
	for i := range blocklist.DefaultMaxEntries {
		addr := fmt.Sprintf("2001:db8::%x", i)
		if i%2 == 0 {
			addr = fmt.Sprintf("198.51.%d.%d", i/256, i%256)
		}
		r.BlockedIPs = append(r.BlockedIPs, blocked(badActor(addr, 50+float64(i%50))))
	}
	if _, err := list.Update(context.Background(), r, t0); err != nil {
		b.Fatalf("Update: %v", err)
	}
	return list
}

// cycleReport is the size of one default cycle: 50 blocked sources and 20
// outbound destinations.
func cycleReport() report.Report {
	var r report.Report
	for i := range 50 {
		r.BlockedIPs = append(r.BlockedIPs, blocked(badActor(fmt.Sprintf("203.0.113.%d", i), 60)))
	}
	for i := range 20 {
		r.OutboundIPs = append(r.OutboundIPs, outbound(badActor(fmt.Sprintf("2001:db8:1::%x", i), 80)))
	}
	return r
}

func BenchmarkUpdateFullList(b *testing.B) {
	list := fullList(b)
	r := cycleReport()
	ctx := context.Background()
	b.ReportAllocs()

	now := t0
	for b.Loop() {
		now = now.Add(time.Minute)
		if _, err := list.Update(ctx, r, now); err != nil {
			b.Fatalf("Update: %v", err)
		}
	}
}

func BenchmarkTextFullList(b *testing.B) {
	list := fullList(b)
	ctx := context.Background()
	b.ReportAllocs()

	for b.Loop() {
		if _, err := list.Text(ctx, blocklist.FamilyAll, t0.Add(time.Hour)); err != nil {
			b.Fatalf("Text: %v", err)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	list := fullList(b)
	entries, err := list.Entries(context.Background(), t0)
	if err != nil {
		b.Fatalf("Entries: %v", err)
	}
	opts := blocklist.RenderOptions{GeneratedAt: t0, MinLevel: "high", TTL: 24 * time.Hour}
	b.ReportAllocs()

	for b.Loop() {
		if err := blocklist.Render(io.Discard, entries, opts); err != nil {
			b.Fatalf("Render: %v", err)
		}
	}
}
