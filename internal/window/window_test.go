package window

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/filterlog"
	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/source"
)

// base is on a minute boundary, so windows ending there are exact.
var base = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

const (
	actBlock  = filterlog.ActionBlock
	actReject = filterlog.ActionReject
	actPass   = filterlog.ActionPass
	dirIn     = filterlog.DirectionIn
	dirOut    = filterlog.DirectionOut
)

// event returns a TCP event to port 443 with the given fields.
func event(t time.Time, iface string, action filterlog.Action, dir filterlog.Direction, src, dst string) *filterlog.Event {
	return &filterlog.Event{
		Time:         t,
		Interface:    iface,
		Action:       action,
		Direction:    dir,
		IPVersion:    4,
		ProtocolNum:  6,
		ProtocolName: "tcp",
		Src:          netip.MustParseAddr(src),
		Dst:          netip.MustParseAddr(dst),
		HasPorts:     true,
		SrcPort:      50000,
		DstPort:      443,
	}
}

func blockedIn(t time.Time, src string) *filterlog.Event {
	return event(t, "igb0", actBlock, dirIn, src, "198.51.100.1")
}

func newWindow(t *testing.T, cfg Config) *Window {
	t.Helper()
	if cfg.MaxLookback == 0 {
		cfg.MaxLookback = time.Hour
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return w
}

func addAll(w *Window, events ...*filterlog.Event) {
	for _, ev := range events {
		w.Add(ev)
	}
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func blockedAddrs(obs source.Observation) []netip.Addr {
	var out []netip.Addr
	for _, c := range obs.Blocked {
		out = append(out, c.Addr)
	}
	return out
}

func outboundAddrs(obs source.Observation) []netip.Addr {
	var out []netip.Addr
	for _, o := range obs.Outbound {
		out = append(out, o.Addr)
	}
	return out
}

func TestSelection(t *testing.T) {
	at := base.Add(-time.Minute)
	own := []netip.Prefix{netip.MustParsePrefix("203.0.113.128/25")}

	tests := []struct {
		name         string
		wan          []string
		events       []*filterlog.Event
		wantBlocked  []netip.Addr
		wantOutbound []netip.Addr
	}{
		{
			name:        "blocked inbound public source",
			events:      []*filterlog.Event{blockedIn(at, "192.0.2.10")},
			wantBlocked: addrs("192.0.2.10"),
		},
		{
			name:        "rejected inbound public source",
			events:      []*filterlog.Event{event(at, "igb0", actReject, dirIn, "192.0.2.11", "198.51.100.1")},
			wantBlocked: addrs("192.0.2.11"),
		},
		{
			name:        "blocked inbound IPv6 source",
			events:      []*filterlog.Event{blockedIn(at, "2001:db8::10")},
			wantBlocked: addrs("2001:db8::10"),
		},
		{
			name:   "blocked outbound is not inbound",
			events: []*filterlog.Event{event(at, "igb0", actBlock, dirOut, "192.0.2.12", "198.51.100.1")},
		},
		{
			name:   "passed inbound is not blocked",
			events: []*filterlog.Event{event(at, "igb0", actPass, dirIn, "192.0.2.13", "10.0.0.5")},
		},
		{
			name:         "passed outbound public destination",
			events:       []*filterlog.Event{event(at, "igb0", actPass, dirOut, "198.51.100.1", "203.0.113.7")},
			wantOutbound: addrs("203.0.113.7"),
		},
		{
			name:   "passed outbound private destination",
			events: []*filterlog.Event{event(at, "igb0", actPass, dirOut, "198.51.100.1", "192.168.7.7")},
		},
		{
			name:   "blocked outbound is not outbound",
			events: []*filterlog.Event{event(at, "igb0", actBlock, dirOut, "198.51.100.1", "203.0.113.7")},
		},
		{
			name:        "WAN filter keeps blocked on WAN",
			wan:         []string{"igb0"},
			events:      []*filterlog.Event{blockedIn(at, "192.0.2.20")},
			wantBlocked: addrs("192.0.2.20"),
		},
		{
			name:   "WAN filter drops blocked on LAN",
			wan:    []string{"igb0"},
			events: []*filterlog.Event{event(at, "igb1", actBlock, dirIn, "192.0.2.21", "198.51.100.1")},
		},
		{
			name:   "WAN filter drops outbound on LAN",
			wan:    []string{"igb0"},
			events: []*filterlog.Event{event(at, "igb1", actPass, dirOut, "192.0.2.22", "203.0.113.8")},
		},
		{
			name:        "no WAN list counts every interface",
			events:      []*filterlog.Event{event(at, "igb1.20", actBlock, dirIn, "192.0.2.23", "10.1.1.1")},
			wantBlocked: addrs("192.0.2.23"),
		},
	}

	// Sources that are never public, whatever the action and interface.
	for _, src := range []string{
		"10.1.2.3", "172.16.5.4", "192.168.1.20", // RFC 1918
		"100.64.1.1", "100.127.255.254", // CGNAT
		"127.0.0.1", "::1", // loopback
		"169.254.10.10", "fe80::1", // link-local
		"224.0.0.251", "ff02::fb", // multicast
		"fd12:3456::1", "fc00::1", // unique local
		"0.0.0.0", "::", "255.255.255.255", // unspecified and broadcast
		"::ffff:10.1.2.3", // IPv4-mapped private
		"203.0.113.200",   // own prefix
	} {
		tests = append(tests, struct {
			name         string
			wan          []string
			events       []*filterlog.Event
			wantBlocked  []netip.Addr
			wantOutbound []netip.Addr
		}{
			name:   "non-public source " + src,
			events: []*filterlog.Event{blockedIn(at, src)},
		})
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWindow(t, Config{Classifier: netclass.New(own), WANInterfaces: tt.wan})
			addAll(w, tt.events...)
			obs := w.Snapshot(base, time.Hour)

			if got := blockedAddrs(obs); !slices.Equal(got, tt.wantBlocked) {
				t.Errorf("Blocked = %v, want %v", got, tt.wantBlocked)
			}
			if got := outboundAddrs(obs); !slices.Equal(got, tt.wantOutbound) {
				t.Errorf("Outbound = %v, want %v", got, tt.wantOutbound)
			}
			if obs.DistinctBlocked != len(tt.wantBlocked) {
				t.Errorf("DistinctBlocked = %d, want %d", obs.DistinctBlocked, len(tt.wantBlocked))
			}
			if len(tt.wantBlocked) == 0 && len(obs.Ports) != 0 {
				t.Errorf("Ports = %v, want none without a blocked source", obs.Ports)
			}
		})
	}
}

func TestInternalAndNATSources(t *testing.T) {
	at := base.Add(-time.Minute)
	dst := "203.0.113.50"
	w := newWindow(t, Config{WANInterfaces: []string{"igb0"}})

	// pfSense logs the flow twice: on the LAN as it enters, before NAT, and
	// on the WAN as it leaves, after NAT.
	for range 3 {
		w.Add(event(at, "igb1", actPass, dirIn, "192.168.1.10", dst))
	}
	w.Add(event(at, "igb1", actPass, dirIn, "192.168.1.11", dst))
	for range 2 {
		w.Add(event(at, "igb1", actPass, dirIn, "fd00::11", dst))
	}
	for range 6 {
		w.Add(event(at, "igb0", actPass, dirOut, "198.51.100.1", dst))
	}
	// A blocked internal source does not count as a sender.
	w.Add(event(at, "igb1", actBlock, dirIn, "192.168.1.99", dst))
	// An internal source of a destination outside the top list is not reported.
	w.Add(event(at, "igb1", actPass, dirIn, "192.168.1.12", "203.0.113.51"))

	obs := w.Snapshot(base, time.Hour)
	if len(obs.Outbound) != 1 {
		t.Fatalf("Outbound = %+v, want one destination", obs.Outbound)
	}
	o := obs.Outbound[0]
	if o.Addr != netip.MustParseAddr(dst) || o.Count != 6 {
		t.Errorf("Outbound[0] = %v × %d, want %s × 6", o.Addr, o.Count, dst)
	}
	if want := addrs("192.168.1.10", "fd00::11", "192.168.1.11"); !slices.Equal(o.InternalSources, want) {
		t.Errorf("InternalSources = %v, want %v (most events first)", o.InternalSources, want)
	}
	if want := addrs("198.51.100.1"); !slices.Equal(o.NATSources, want) {
		t.Errorf("NATSources = %v, want %v", o.NATSources, want)
	}
}

// TestOwnWANAddressIsNotAnInternalSource covers a WAN address listed in
// OWN_PREFIXES: the post-NAT line on the WAN is outbound, not a sender
// behind the firewall.
func TestOwnWANAddressIsNotAnInternalSource(t *testing.T) {
	at := base.Add(-time.Minute)
	dst := "203.0.113.50"
	own := netclass.New([]netip.Prefix{netip.MustParsePrefix("198.51.100.0/28")})
	w := newWindow(t, Config{Classifier: own, WANInterfaces: []string{"igb0"}})

	w.Add(event(at, "igb1", actPass, dirIn, "192.168.1.10", dst))
	w.Add(event(at, "igb0", actPass, dirOut, "198.51.100.1", dst))

	obs := w.Snapshot(base, time.Hour)
	if len(obs.Outbound) != 1 {
		t.Fatalf("Outbound = %+v, want one destination", obs.Outbound)
	}
	if want := addrs("192.168.1.10"); !slices.Equal(obs.Outbound[0].InternalSources, want) {
		t.Errorf("InternalSources = %v, want only the LAN host %v", obs.Outbound[0].InternalSources, want)
	}
}

func TestInternalSourcesCap(t *testing.T) {
	at := base.Add(-time.Minute)
	dst := "203.0.113.60"
	w := newWindow(t, Config{InternalSourcesPerDestination: 3, NATSourcesPerDestination: 2})

	w.Add(event(at, "igb0", actPass, dirOut, "198.51.100.1", dst))
	w.Add(event(at, "igb0", actPass, dirOut, "198.51.100.2", dst))
	w.Add(event(at, "igb0", actPass, dirOut, "198.51.100.3", dst))
	for i := range 10 {
		for range i + 1 {
			w.Add(event(at, "igb1", actPass, dirIn, fmt.Sprintf("10.0.0.%d", i+1), dst))
		}
	}

	o := w.Snapshot(base, time.Hour).Outbound[0]
	if want := addrs("10.0.0.10", "10.0.0.9", "10.0.0.8"); !slices.Equal(o.InternalSources, want) {
		t.Errorf("InternalSources = %v, want %v", o.InternalSources, want)
	}
	if want := addrs("198.51.100.1", "198.51.100.2"); !slices.Equal(o.NATSources, want) {
		t.Errorf("NATSources = %v, want %v (ties by address)", o.NATSources, want)
	}
}

func TestTopOrderAndTies(t *testing.T) {
	at := base.Add(-time.Minute)
	w := newWindow(t, Config{TopBlocked: 4, TopOutbound: 2, TopPorts: 3})

	counts := map[string]int{
		"192.0.2.5":    5,
		"2001:db8::1":  3,
		"192.0.2.40":   3,
		"192.0.2.9":    3,
		"198.51.100.1": 1,
		"192.0.2.200":  1,
	}
	for src, n := range counts {
		for range n {
			w.Add(blockedIn(at, src))
		}
	}
	for _, dst := range []string{"203.0.113.9", "203.0.113.10", "203.0.113.8"} {
		w.Add(event(at, "igb0", actPass, dirOut, "198.51.100.1", dst))
	}
	for _, p := range []struct {
		port  uint16
		proto uint8
		name  string
		n     int
	}{{22, 6, "tcp", 4}, {53, 17, "udp", 2}, {53, 6, "tcp", 2}, {23, 6, "tcp", 2}, {3389, 6, "tcp", 1}} {
		for range p.n {
			ev := blockedIn(at, "203.0.113.99")
			ev.DstPort, ev.ProtocolNum, ev.ProtocolName = p.port, p.proto, p.name
			w.Add(ev)
		}
	}

	obs := w.Snapshot(base, time.Hour)

	wantBlocked := []source.AddrCount{
		{Addr: netip.MustParseAddr("203.0.113.99"), Count: 11},
		{Addr: netip.MustParseAddr("192.0.2.5"), Count: 5},
		{Addr: netip.MustParseAddr("192.0.2.9"), Count: 3},
		{Addr: netip.MustParseAddr("192.0.2.40"), Count: 3},
	}
	if !slices.Equal(obs.Blocked, wantBlocked) {
		t.Errorf("Blocked = %v, want %v (count descending, then address ascending, IPv4 before IPv6)", obs.Blocked, wantBlocked)
	}
	if want := addrs("203.0.113.8", "203.0.113.9"); !slices.Equal(outboundAddrs(obs), want) {
		t.Errorf("Outbound = %v, want %v", outboundAddrs(obs), want)
	}
	wantPorts := []source.PortCount{
		{Port: 443, Protocol: "tcp", Count: 16},
		{Port: 22, Protocol: "tcp", Count: 4},
		{Port: 23, Protocol: "tcp", Count: 2},
	}
	if !slices.Equal(obs.Ports, wantPorts) {
		t.Errorf("Ports = %v, want %v", obs.Ports, wantPorts)
	}
	if obs.DistinctBlocked != 7 {
		t.Errorf("DistinctBlocked = %d, want 7", obs.DistinctBlocked)
	}
	if obs.Approximate || obs.ErrorBound != 0 {
		t.Errorf("Approximate = %v, ErrorBound = %d, want exact counts", obs.Approximate, obs.ErrorBound)
	}
}

func TestPortsTiesByProtocol(t *testing.T) {
	at := base.Add(-time.Minute)
	w := newWindow(t, Config{})
	for _, p := range []struct {
		proto uint8
		name  string
	}{{17, "udp"}, {132, "sctp"}, {6, "tcp"}} {
		ev := blockedIn(at, "192.0.2.1")
		ev.DstPort, ev.ProtocolNum, ev.ProtocolName = 53, p.proto, p.name
		w.Add(ev)
	}
	// An ICMP event has no ports and counts only as a blocked source.
	icmp := blockedIn(at, "192.0.2.1")
	icmp.HasPorts, icmp.DstPort, icmp.ProtocolNum, icmp.ProtocolName = false, 0, 1, "icmp"
	w.Add(icmp)

	obs := w.Snapshot(base, time.Hour)
	want := []source.PortCount{
		{Port: 53, Protocol: "sctp", Count: 1},
		{Port: 53, Protocol: "tcp", Count: 1},
		{Port: 53, Protocol: "udp", Count: 1},
	}
	if !slices.Equal(obs.Ports, want) {
		t.Errorf("Ports = %v, want %v", obs.Ports, want)
	}
	if len(obs.Blocked) != 1 || obs.Blocked[0].Count != 4 {
		t.Errorf("Blocked = %v, want 192.0.2.1 × 4", obs.Blocked)
	}
}

func TestWindowEdges(t *testing.T) {
	until := base
	tests := []struct {
		name     string
		anchor   time.Time
		until    time.Time
		at       time.Time
		included bool
	}{
		{"one second before start", time.Time{}, until, until.Add(-time.Hour - time.Second), false},
		{"exactly at start", time.Time{}, until, until.Add(-time.Hour), false},
		{"one second after start", time.Time{}, until, until.Add(-time.Hour + time.Second), true},
		{"exactly at until", time.Time{}, until, until, true},
		{"one second after until", time.Time{}, until, until.Add(time.Second), false},
		{"unaligned end, one second before start", time.Time{}, until.Add(30 * time.Second), until.Add(-time.Hour + 29*time.Second), false},
		{"unaligned end, at until", time.Time{}, until.Add(30 * time.Second), until.Add(30 * time.Second), true},
		{"anchor at until, one second before start", until.Add(30 * time.Second), until.Add(30 * time.Second), until.Add(-time.Hour + 29*time.Second), false},
		{"anchor at until, one second after start", until.Add(30 * time.Second), until.Add(30 * time.Second), until.Add(-time.Hour + 31*time.Second), true},
		{"anchor at until, at until", until.Add(30 * time.Second), until.Add(30 * time.Second), until.Add(30 * time.Second), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWindow(t, Config{Anchor: tt.anchor})
			w.Add(blockedIn(tt.at, "192.0.2.1"))

			obs := w.Snapshot(tt.until, time.Hour)
			got := slices.Contains(blockedAddrs(obs), netip.MustParseAddr("192.0.2.1"))
			if got != tt.included {
				t.Errorf("event at until%+v included = %v, want %v (window %v – %v)", tt.at.Sub(tt.until), got, tt.included, obs.Start, obs.End)
			}
			if !obs.End.Equal(tt.until) {
				t.Errorf("End = %v, want %v", obs.End, tt.until)
			}
			if obs.Start.Before(tt.until.Add(-time.Hour)) {
				t.Errorf("Start = %v, before until-lookback %v", obs.Start, tt.until.Add(-time.Hour))
			}
		})
	}
}

func TestSnapshotStartRoundsToBucket(t *testing.T) {
	w := newWindow(t, Config{})
	until := base.Add(30 * time.Second)
	// Inside the window, but in the bucket that straddles its start.
	w.Add(blockedIn(until.Add(-time.Hour+10*time.Second), "192.0.2.1"))

	obs := w.Snapshot(until, time.Hour)
	if want := base.Add(-time.Hour + time.Minute); !obs.Start.Equal(want) {
		t.Errorf("Start = %v, want %v, the first bucket boundary after until-lookback", obs.Start, want)
	}
	if len(obs.Blocked) != 0 {
		t.Errorf("Blocked = %v, want the straddling bucket left out", obs.Blocked)
	}
}

func TestSnapshotZeroUntilEndsAtNewest(t *testing.T) {
	w := newWindow(t, Config{})
	newest := base.Add(17 * time.Second)
	addAll(w,
		blockedIn(base.Add(-2*time.Hour), "192.0.2.1"),
		blockedIn(base.Add(-30*time.Minute), "192.0.2.2"),
		blockedIn(newest, "192.0.2.3"),
	)

	obs := w.Snapshot(time.Time{}, time.Hour)
	if !obs.End.Equal(newest) {
		t.Errorf("End = %v, want the newest event time %v", obs.End, newest)
	}
	if want := addrs("192.0.2.2", "192.0.2.3"); !slices.Equal(blockedAddrs(obs), want) {
		t.Errorf("Blocked = %v, want %v", blockedAddrs(obs), want)
	}
	if got := w.Newest(); !got.Equal(newest) {
		t.Errorf("Newest = %v, want %v", got, newest)
	}
}

func TestBucketsAgeOut(t *testing.T) {
	w := newWindow(t, Config{})
	for i := range 180 {
		w.Add(blockedIn(base.Add(time.Duration(i)*time.Minute), "192.0.2.1"))
	}

	w.mu.Lock()
	bucketsKept := len(w.buckets)
	w.mu.Unlock()
	if bucketsKept != 60 {
		t.Errorf("buckets kept = %d, want 60 (one hour of one-minute buckets)", bucketsKept)
	}

	obs := w.Snapshot(time.Time{}, time.Hour)
	if len(obs.Blocked) != 1 || obs.Blocked[0].Count != 60 {
		t.Errorf("Blocked = %v, want 192.0.2.1 × 60", obs.Blocked)
	}

	// The oldest events were dropped, so a window over them is empty.
	if old := w.Snapshot(base.Add(time.Hour), time.Hour); len(old.Blocked) != 0 {
		t.Errorf("Blocked of a dropped span = %v, want none", old.Blocked)
	}

	// An event older than the maximum lookback is dropped on arrival.
	w.Add(blockedIn(base, "192.0.2.9"))
	if got := w.Stats().TooOld; got != 1 {
		t.Errorf("Stats.TooOld = %d, want 1", got)
	}
}

func TestSnapshotAdvancesTime(t *testing.T) {
	w := newWindow(t, Config{})
	w.Add(blockedIn(base, "192.0.2.1"))

	if obs := w.Snapshot(base.Add(30*time.Minute), time.Hour); len(obs.Blocked) != 1 {
		t.Errorf("Blocked half an hour later = %v, want the event", obs.Blocked)
	}
	if obs := w.Snapshot(base.Add(2*time.Hour), time.Hour); len(obs.Blocked) != 0 {
		t.Errorf("Blocked two hours later = %v, want none", obs.Blocked)
	}
	w.mu.Lock()
	bucketsKept := len(w.buckets)
	w.mu.Unlock()
	if bucketsKept != 0 {
		t.Errorf("buckets kept = %d, want 0 once the snapshot end passed them", bucketsKept)
	}
}

func TestShorterLookback(t *testing.T) {
	w := newWindow(t, Config{MaxLookback: 24 * time.Hour})
	addAll(w,
		blockedIn(base.Add(-23*time.Hour), "192.0.2.1"),
		blockedIn(base.Add(-50*time.Minute), "192.0.2.2"),
		blockedIn(base, "192.0.2.3"),
	)
	// 24-minute buckets: a one-hour lookback is two whole buckets.
	if got, want := blockedAddrs(w.Snapshot(base, time.Hour)), addrs("192.0.2.3"); !slices.Equal(got, want) {
		t.Errorf("Blocked over 1h = %v, want %v", got, want)
	}
	if got, want := blockedAddrs(w.Snapshot(base, 0)), addrs("192.0.2.1", "192.0.2.2", "192.0.2.3"); !slices.Equal(got, want) {
		t.Errorf("Blocked over 24h = %v, want %v", got, want)
	}
}

func TestUntimedEvents(t *testing.T) {
	t.Run("before any timed event", func(t *testing.T) {
		w := newWindow(t, Config{})
		w.Add(blockedIn(time.Time{}, "192.0.2.1"))
		obs := w.Snapshot(time.Time{}, 0)
		if got, want := blockedAddrs(obs), addrs("192.0.2.1"); !slices.Equal(got, want) {
			t.Errorf("Blocked = %v, want %v", got, want)
		}

		// The first timed event takes the untimed events into its bucket.
		w.Add(blockedIn(base, "192.0.2.2"))
		obs = w.Snapshot(time.Time{}, 0)
		if got, want := blockedAddrs(obs), addrs("192.0.2.1", "192.0.2.2"); !slices.Equal(got, want) {
			t.Errorf("Blocked = %v, want %v", got, want)
		}
		if obs2 := w.Snapshot(base.Add(3*time.Hour), 0); len(obs2.Blocked) != 0 {
			t.Errorf("Blocked 3 hours later = %v, want the untimed events aged out with their bucket", obs2.Blocked)
		}
	})

	t.Run("after a timed event", func(t *testing.T) {
		w := newWindow(t, Config{})
		w.Add(blockedIn(base.Add(-2*time.Hour), "192.0.2.1"))
		w.Add(blockedIn(time.Time{}, "192.0.2.2"))
		w.Add(blockedIn(base, "192.0.2.3"))

		// The untimed event counts at the newest time then, two hours ago.
		obs := w.Snapshot(base, time.Hour)
		if got, want := blockedAddrs(obs), addrs("192.0.2.3"); !slices.Equal(got, want) {
			t.Errorf("Blocked = %v, want %v", got, want)
		}
		if got := w.Stats().Untimed; got != 1 {
			t.Errorf("Stats.Untimed = %d, want 1", got)
		}
	})

	t.Run("live source counts at now", func(t *testing.T) {
		now := base
		w := newWindow(t, Config{Now: func() time.Time { return now }})
		w.Add(blockedIn(time.Time{}, "192.0.2.1"))
		now = base.Add(2 * time.Hour)
		if obs := w.Snapshot(base, time.Hour); len(obs.Blocked) != 1 {
			t.Errorf("Blocked = %v, want the untimed event at the time it arrived", obs.Blocked)
		}
	})
}

func TestFutureEventsClampedToNow(t *testing.T) {
	w := newWindow(t, Config{Now: func() time.Time { return base }})
	w.Add(blockedIn(base.Add(-10*time.Minute), "192.0.2.1"))
	// A year ahead: without the clamp this would age out everything.
	w.Add(blockedIn(base.AddDate(1, 0, 0), "192.0.2.2"))

	obs := w.Snapshot(base, time.Hour)
	if got, want := blockedAddrs(obs), addrs("192.0.2.1", "192.0.2.2"); !slices.Equal(got, want) {
		t.Errorf("Blocked = %v, want %v", got, want)
	}
	if got := w.Stats().Future; got != 1 {
		t.Errorf("Stats.Future = %d, want 1", got)
	}
}

func TestInterfaces(t *testing.T) {
	at := base.Add(-time.Minute)
	w := newWindow(t, Config{MaxInterfaces: 3})
	for _, name := range []string{"igb1", "igb0", "lagg0.102", "igb0", "ovpns1"} {
		w.Add(event(at, name, actPass, dirIn, "10.0.0.1", "10.0.0.2"))
	}
	// Interfaces outside the window are not reported.
	w.Add(event(base.Add(-2*time.Hour), "old0", actPass, dirIn, "10.0.0.1", "10.0.0.2"))

	obs := w.Snapshot(base, time.Hour)
	if want := []string{"igb0", "igb1", "lagg0.102"}; !slices.Equal(obs.Interfaces, want) {
		t.Errorf("Interfaces = %v, want %v", obs.Interfaces, want)
	}
	if !obs.Approximate {
		t.Error("Approximate = false, want true after an interface name was dropped")
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no lookback", Config{}, "invalid maximum lookback 0s"},
		{"negative lookback", Config{MaxLookback: -time.Hour}, "invalid maximum lookback -1h0m0s"},
		{"negative width", Config{MaxLookback: time.Hour, BucketWidth: -time.Minute}, "invalid bucket width -1m0s"},
		{"width above lookback", Config{MaxLookback: time.Hour, BucketWidth: 2 * time.Hour}, "must not exceed the maximum lookback 1h0m0s"},
		{"negative top", Config{MaxLookback: time.Hour, TopBlocked: -1}, "invalid top blocked -1"},
		{"negative tracked", Config{MaxLookback: time.Hour, MaxTracked: -5}, "invalid maximum tracked keys -5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil {
				t.Fatalf("New: no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		lookback time.Duration
		width    time.Duration
	}{
		{time.Hour, time.Minute},
		{30 * time.Minute, time.Minute},
		{24 * time.Hour, 24 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.lookback.String(), func(t *testing.T) {
			w := newWindow(t, Config{MaxLookback: tt.lookback})
			if got := w.cfg.BucketWidth; got != tt.width {
				t.Errorf("BucketWidth = %v, want %v", got, tt.width)
			}
		})
	}
}

func TestConcurrentAddAndSnapshot(t *testing.T) {
	w := newWindow(t, Config{MaxTracked: 64})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				at := base.Add(time.Duration(i) * time.Second)
				w.Add(blockedIn(at, fmt.Sprintf("2001:db8:%x::%x", g, i%300)))
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			w.Snapshot(time.Time{}, time.Hour)
		}
	})
	wg.Wait()

	if got := w.Stats().Added; got != 8000 {
		t.Errorf("Stats.Added = %d, want 8000", got)
	}
}

func TestExtremeTimes(t *testing.T) {
	w := newWindow(t, Config{})
	w.Add(blockedIn(base, "192.0.2.1"))
	// Far outside the range time.Duration covers from the anchor: must not
	// wrap around into the present.
	w.Add(blockedIn(time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), "192.0.2.2"))

	obs := w.Snapshot(base, time.Hour)
	if got, want := blockedAddrs(obs), addrs("192.0.2.1"); !slices.Equal(got, want) {
		t.Errorf("Blocked = %v, want %v", got, want)
	}
	if got := w.Stats().TooOld; got != 1 {
		t.Errorf("Stats.TooOld = %d, want 1", got)
	}
}
