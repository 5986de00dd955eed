// Package ports is the catalog of well-known ports: the service behind a
// destination port and transport protocol, how risky it is to have that
// service reached from the internet, and a short description.
//
// The catalog is embedded in the binary. An operator can replace or add
// entries with DATA_DIR/port_services.json, a JSON object keyed by port:
//
//	{
//	  "22":       {"service": "SSH", "risk_level": "high", "description": "Secure Shell"},
//	  "161/udp":  {"service": "SNMP", "risk": "high"},
//	  "8080/tcp": {"service": "Proxy", "risk_level": "medium", "description": "Corporate proxy"}
//	}
//
// A key is a port number from 1 to 65535, optionally followed by "/tcp",
// "/udp" or "/sctp". A bare port applies to every protocol and replaces all
// the embedded entries of that port. A port with a protocol replaces only
// the entry of that protocol. "service" and "risk_level" are required ("risk"
// is accepted as another name for "risk_level"), "description" is optional,
// and other fields are ignored. The risk level is one of low, medium, high
// or critical, in any letter case. See testdata/port_services.example.json.
package ports

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// OverrideFile is the name of the operator's override file in DATA_DIR.
const OverrideFile = "port_services.json"

// Risk is the danger level of a service that the internet can reach. The
// values are metric label values and JSON strings.
type Risk string

const (
	RiskLow      Risk = "low"
	RiskMedium   Risk = "medium"
	RiskHigh     Risk = "high"
	RiskCritical Risk = "critical"
)

// Risks lists the valid risk levels from least to most dangerous.
var Risks = []Risk{RiskLow, RiskMedium, RiskHigh, RiskCritical}

// UnknownService is the service name of a port that is not in the catalog.
const UnknownService = "unknown"

// Entry is the catalog record of one port.
type Entry struct {
	Port uint16
	// Protocol is "tcp", "udp" or "sctp", or empty when the entry applies
	// to every protocol.
	Protocol    string
	Service     string
	Risk        Risk
	Description string
}

// IsCritical reports whether a hit on e's port counts as a critical port
// targeted: its risk level is high or critical.
func IsCritical(e Entry) bool {
	return e.Risk == RiskHigh || e.Risk == RiskCritical
}

// key identifies an entry. An empty protocol matches every protocol.
type key struct {
	port     uint16
	protocol string
}

// Catalog maps ports to entries. It is read-only after Load or Default
// returns it and safe for concurrent use.
type Catalog struct {
	entries map[key]Entry
}

// NOTE: The embedded risk levels were chosen for this catalog, not copied:
// the exact levels of the Python service this project replaces were not
// available for its 32 ports, so they may differ. Telnet, SMB, RDP, VNC,
// exploit listeners and services without authentication by default are
// critical. Other remote administration, databases and amplification
// vectors are high, and VPN endpoints and plain web ports low.
//
//go:embed catalog.json
var embedded []byte

var defaultCatalog = sync.OnceValue(func() *Catalog {
	entries, err := parseOverride(embedded)
	if err != nil {
		panic(fmt.Sprintf("parsing embedded port catalog: %v", err))
	}
	c := &Catalog{entries: make(map[key]Entry, len(entries))}
	c.merge(entries)
	return c
})

// Default returns the embedded catalog. Callers must not modify it.
func Default() *Catalog {
	return defaultCatalog()
}

// Load reads dataDir/port_services.json and returns the embedded catalog
// with the file's entries applied over it. A missing file, or an empty
// dataDir, gives the embedded catalog alone.
func Load(dataDir string) (*Catalog, error) {
	base := Default()
	if dataDir == "" {
		return base, nil
	}

	path := filepath.Join(dataDir, OverrideFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return base, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading port catalog override: %w", err)
	}

	overrides, err := parseOverride(data)
	if err != nil {
		return nil, fmt.Errorf("parsing port catalog override %s: %w", path, err)
	}

	c := &Catalog{entries: make(map[key]Entry, len(base.entries)+len(overrides))}
	for k, e := range base.entries {
		c.entries[k] = e
	}
	c.merge(overrides)
	return c, nil
}

// merge applies entries over c. Bare-port entries go first, so that
// "22/tcp" in the same file refines "22" whatever their order in the file.
func (c *Catalog) merge(entries []Entry) {
	for _, e := range entries {
		if e.Protocol != "" {
			continue
		}
		for k := range c.entries {
			if k.port == e.Port {
				delete(c.entries, k)
			}
		}
		c.entries[key{e.Port, ""}] = e
	}
	for _, e := range entries {
		if e.Protocol != "" {
			c.entries[key{e.Port, e.Protocol}] = e
		}
	}
}

// Lookup returns the entry for port over protocol. An entry for the exact
// protocol wins over one for every protocol. A port that is not in the
// catalog gets service "unknown", risk medium and an empty description.
func (c *Catalog) Lookup(port uint16, protocol string) Entry {
	protocol = strings.ToLower(protocol)
	if e, ok := c.entries[key{port, protocol}]; ok {
		return e
	}
	if e, ok := c.entries[key{port, ""}]; ok {
		return e
	}
	return Entry{Port: port, Protocol: protocol, Service: UnknownService, Risk: RiskMedium}
}

// Entries returns every entry, sorted by port and then protocol.
func (c *Catalog) Entries() []Entry {
	out := make([]Entry, 0, len(c.entries))
	for _, e := range c.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int {
		if a.Port != b.Port {
			return int(a.Port) - int(b.Port)
		}
		return strings.Compare(a.Protocol, b.Protocol)
	})
	return out
}

// isBlank reports whether data holds only JSON whitespace.
func isBlank(data []byte) bool {
	return len(bytes.TrimLeft(data, " \t\r\n")) == 0
}
