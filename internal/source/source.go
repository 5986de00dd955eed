// Package source defines what an event source yields for a lookback window:
// the top blocked public sources, the top outbound public destinations with
// the internal hosts behind them, the targeted ports and the interfaces seen.
// The built-in log reader and the metrics backends all produce an Observation.
package source

import (
	"context"
	"net/netip"
	"time"
)

// Source produces the Observation for the window of the given length that ends
// at until. A zero until means "the newest event the source has" for file
// input and "now" for live sources.
type Source interface {
	Observe(ctx context.Context, until time.Time, lookback time.Duration) (Observation, error)
}

// Observation is the aggregated content of one lookback window.
type Observation struct {
	Start, End time.Time

	// Blocked holds the top blocked inbound public sources, most events first.
	Blocked []AddrCount
	// DistinctBlocked is the number of distinct blocked inbound public
	// sources in the window, not capped at len(Blocked).
	DistinctBlocked int

	// Outbound holds the top passed outbound public destinations, most events first.
	Outbound []Outbound

	// Ports holds the destination ports of blocked inbound traffic from
	// public sources, most events first.
	Ports []PortCount

	// Interfaces are the names of the interfaces seen in the window, sorted.
	Interfaces []string

	// Approximate is true when the memory bound was reached and counts are
	// estimates with a known maximum error (see ErrorBound).
	Approximate bool
	// ErrorBound is the maximum amount by which any count may be overstated
	// when Approximate is true.
	ErrorBound uint64

	// Lines counts input lines by outcome ("parsed", or the skip reason).
	// Sources without line input leave it nil.
	Lines map[string]uint64
}

// AddrCount is an address with its event count.
type AddrCount struct {
	Addr  netip.Addr
	Count uint64
}

// Outbound is an outbound destination with what is known about who sent to it.
type Outbound struct {
	Addr  netip.Addr
	Count uint64
	// InternalSources are internal hosts seen sending to Addr, from pass
	// lines logged before NAT (usually on a LAN interface), most events first.
	InternalSources []netip.Addr
	// NATSources are the source addresses of the outbound lines themselves;
	// on pfSense these are the WAN address after NAT.
	NATSources []netip.Addr
}

// PortCount is a destination port and transport protocol with its event count.
type PortCount struct {
	Port     uint16
	Protocol string // "tcp", "udp" or "sctp"
	Count    uint64
}

// PartialError is implemented by errors that come with a usable
// Observation: some inputs failed, others were read. A cycle reports what
// was read and logs the error instead of failing.
type PartialError interface {
	error
	// Partial reports whether the Observation holds data despite the error.
	Partial() bool
}
