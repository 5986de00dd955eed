package window

import "github.com/threat-intel/threat-intel/internal/filterlog"

// bucket holds the counts of the events of one time span. Its tables are
// created on first use, so a quiet bucket costs a few hundred bytes.
type bucket struct {
	blocked  *summary[addrKey] // blocked inbound public sources
	outbound *summary[addrKey] // outbound public destinations
	ports    *summary[portKey] // ports targeted by blocked inbound traffic
	internal *summary[pairKey] // outbound destination × internal source
	nat      *summary[pairKey] // outbound destination × source after NAT

	// distinct holds every blocked source from the moment the blocked table
	// first evicts, seeded with the keys the table held then. Until that
	// moment the table's keys are the exact set of blocked sources.
	distinct *hyperLogLog

	interfaces         map[string]struct{}
	interfacesOverflow bool   // an interface name was dropped at MaxInterfaces
	lastInterface      string // skips the map for runs of one interface
}

func newBucket() *bucket {
	return &bucket{interfaces: make(map[string]struct{}, 4)}
}

func (b *bucket) add(ev *filterlog.Event, kind eventKind, cfg *Config) {
	b.addInterface(ev.Interface, cfg.MaxInterfaces)

	if kind.blocked {
		b.addBlocked(ev, cfg)
	}
	if kind.outbound {
		if b.outbound == nil {
			b.outbound = newSummary[addrKey](cfg.MaxTracked)
			b.nat = newSummary[pairKey](cfg.MaxTracked)
		}
		dst := keyOf(ev.Dst)
		b.outbound.add(dst)
		if ev.Src.IsValid() {
			b.nat.add(pairKey{dst: dst, src: keyOf(ev.Src)})
		}
	}
	if kind.internalSource {
		if b.internal == nil {
			b.internal = newSummary[pairKey](cfg.MaxTracked)
		}
		b.internal.add(pairKey{dst: keyOf(ev.Dst), src: keyOf(ev.Src)})
	}
}

func (b *bucket) addBlocked(ev *filterlog.Event, cfg *Config) {
	if b.blocked == nil {
		b.blocked = newSummary[addrKey](cfg.MaxTracked)
	}
	src := keyOf(ev.Src)
	if b.distinct == nil && b.blocked.full() && !b.blocked.contains(src) {
		// This add is the table's first eviction. Until now the table held
		// every source of the bucket, so they seed the sketch.
		b.distinct = new(hyperLogLog)
		b.blocked.each(func(k addrKey, _ uint32) { b.distinct.insert(k) })
	}
	b.blocked.add(src)
	if b.distinct != nil {
		b.distinct.insert(src)
	}

	if ev.HasPorts {
		if b.ports == nil {
			b.ports = newSummary[portKey](cfg.MaxTrackedPorts)
		}
		b.ports.add(portKey{port: ev.DstPort, proto: ev.ProtocolNum})
	}
}

func (b *bucket) addInterface(name string, maxInterfaces int) {
	if name == "" || name == b.lastInterface {
		return
	}
	if _, ok := b.interfaces[name]; ok {
		b.lastInterface = name
		return
	}
	if len(b.interfaces) >= maxInterfaces {
		b.interfacesOverflow = true
		return
	}
	b.interfaces[name] = struct{}{}
	b.lastInterface = name
}

// approximate reports whether any table of b has evicted a key or dropped an
// interface name.
func (b *bucket) approximate() bool {
	if b.interfacesOverflow {
		return true
	}
	for _, evicted := range []bool{
		b.blocked != nil && b.blocked.evicted,
		b.outbound != nil && b.outbound.evicted,
		b.ports != nil && b.ports.evicted,
		b.internal != nil && b.internal.evicted,
		b.nat != nil && b.nat.evicted,
	} {
		if evicted {
			return true
		}
	}
	return false
}
