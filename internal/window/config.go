package window

import (
	"errors"
	"fmt"
	"time"

	"github.com/threat-intel/threat-intel/internal/netclass"
)

// Defaults for the zero fields of Config.
const (
	// DefaultBucketCount sets the default bucket width to MaxLookback/60, so
	// counts age out in steps of one sixtieth of the window.
	DefaultBucketCount = 60
	// MinBucketWidth is the smallest default bucket width.
	MinBucketWidth = time.Minute

	DefaultTopBlocked  = 50
	DefaultTopOutbound = 20
	DefaultTopPorts    = 50

	DefaultInternalSourcesPerDestination = 8
	DefaultNATSourcesPerDestination      = 4

	// DefaultMaxTracked keeps the counts exact for up to 20,000 distinct keys
	// per bucket and table. With one-minute buckets that is 333 new blocked
	// sources per second, far above what an internet-facing address receives
	// outside a scan storm. With 24-minute buckets (a 24-hour window) it is
	// 14 per second. In a storm the error bound is n/20,000 for n events
	// in the window. A full address table costs about 1.4 MB per bucket
	// (see Config.MaxTracked).
	DefaultMaxTracked = 20_000
	// DefaultMaxTrackedPorts is smaller because a snapshot reports about 50
	// ports: a port scan spread over all 65,536 ports has no port worth
	// reporting, and 4,096 entries keep every port with more than 1/4,096 of
	// the blocked events.
	DefaultMaxTrackedPorts = 4_096

	DefaultMaxInterfaces = 256
)

// Config configures a Window. Zero fields take the defaults above, except
// MaxLookback, which is required.
type Config struct {
	// Classifier decides which addresses are public and which internal.
	// Nil means a classifier with no own prefixes.
	Classifier *netclass.Classifier
	// WANInterfaces are the names of the interfaces that face the internet.
	// Only blocked inbound and passed outbound events on them are counted.
	// Empty means every interface counts as WAN side.
	WANInterfaces []string

	// MaxLookback is the longest lookback a Snapshot may ask for. Buckets
	// older than this, measured from the newest event or snapshot end, are
	// dropped.
	MaxLookback time.Duration
	// BucketWidth is the time span of one bucket, the step in which counts
	// age out. Default: MaxLookback/60, at least one minute.
	BucketWidth time.Duration
	// Anchor is a time on a bucket boundary. The default, the Unix epoch,
	// puts boundaries on whole minutes for widths that divide an hour. A
	// caller that knows the window end in advance sets Anchor to it, so the
	// window's edges fall exactly on bucket boundaries.
	Anchor time.Time

	TopBlocked  int // blocked inbound sources in a snapshot
	TopOutbound int // outbound destinations in a snapshot
	TopPorts    int // targeted ports in a snapshot

	InternalSourcesPerDestination int
	NATSourcesPerDestination      int

	// MaxTracked is the maximum number of keys each address table of a
	// bucket keeps: blocked sources, outbound destinations, and the pairs of
	// an outbound destination with its internal and with its NAT sources.
	// It bounds memory whatever the number of distinct addresses. Measured
	// on amd64 with full tables, a key costs about 68 bytes in a source or
	// destination table (a 24-byte slot, an 8-byte heap entry and the map)
	// and 114 bytes in a pair table. A storm of spoofed blocked sources that
	// fills every bucket of a 60-bucket window therefore holds
	// 60 × 20,000 × 68 B ≈ 82 MB of sources. Its random ports add
	// 60 × 4,096 × 38 B ≈ 9 MB, and the HyperLogLog registers 60 × 16 KiB.
	// If all four address tables fill in every bucket, the bound is
	// 60 × 20,000 × 364 B ≈ 437 MB. A Snapshot allocates 20 bytes per stored
	// key on top of that while it runs.
	MaxTracked int
	// MaxTrackedPorts is the maximum number of ports a bucket keeps, at
	// about 38 bytes each.
	MaxTrackedPorts int

	// MaxInterfaces caps the interface names kept per bucket and reported.
	MaxInterfaces int

	// Now returns the current time for a live source. When set, events dated
	// after Now are counted at Now, so a clock running ahead on the firewall
	// cannot push the window forward and age out real events, and events
	// without a timestamp are counted at Now. Nil for file input, where the
	// newest event is the present.
	Now func() time.Time
}

// withDefaults returns c with zero fields set to their defaults, or an error
// naming the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.MaxLookback <= 0 {
		return c, fmt.Errorf("invalid maximum lookback %v: must be positive", c.MaxLookback)
	}
	if c.BucketWidth < 0 {
		return c, fmt.Errorf("invalid bucket width %v: must be positive", c.BucketWidth)
	}
	if c.BucketWidth == 0 {
		c.BucketWidth = max(c.MaxLookback/DefaultBucketCount, MinBucketWidth)
	}
	if c.BucketWidth > c.MaxLookback {
		return c, fmt.Errorf("invalid bucket width %v: must not exceed the maximum lookback %v", c.BucketWidth, c.MaxLookback)
	}
	if c.Anchor.IsZero() {
		c.Anchor = time.Unix(0, 0)
	}
	if c.Classifier == nil {
		c.Classifier = netclass.New(nil)
	}

	counts := []struct {
		name  string
		value *int
		def   int
	}{
		{"top blocked", &c.TopBlocked, DefaultTopBlocked},
		{"top outbound", &c.TopOutbound, DefaultTopOutbound},
		{"top ports", &c.TopPorts, DefaultTopPorts},
		{"internal sources per destination", &c.InternalSourcesPerDestination, DefaultInternalSourcesPerDestination},
		{"NAT sources per destination", &c.NATSourcesPerDestination, DefaultNATSourcesPerDestination},
		{"maximum tracked keys", &c.MaxTracked, DefaultMaxTracked},
		{"maximum tracked ports", &c.MaxTrackedPorts, DefaultMaxTrackedPorts},
		{"maximum interfaces", &c.MaxInterfaces, DefaultMaxInterfaces},
	}
	var errs []error
	for _, f := range counts {
		switch {
		case *f.value < 0:
			errs = append(errs, fmt.Errorf("invalid %s %d: must be positive, or 0 for the default %d", f.name, *f.value, f.def))
		case *f.value == 0:
			*f.value = f.def
		}
	}
	return c, errors.Join(errs...)
}
