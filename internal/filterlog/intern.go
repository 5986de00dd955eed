package filterlog

// Interning limits. A firewall typically has tens of interfaces and up to
// a few thousand rules and labels, so real logs fit (an estimate). Lines crafted to carry a new
// value each time fill the table once and are then copied per event, which
// costs an allocation but no memory that stays.
const (
	maxInternEntries = 4096
	maxInternLength  = 128 // UUID labels are 36 bytes, hostnames rarely over 64
)

// interner returns one shared string per distinct value of the fields that
// repeat from line to line (interface, host, label, rule, reason …), so
// parsing them allocates only the first time.
type interner struct {
	values map[string]string
}

func newInterner() interner {
	return interner{values: make(map[string]string, 256)}
}

// get returns b as a string, shared with earlier calls for the same bytes.
func (in *interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	// The compiler does not allocate for a string(b) map key in a lookup.
	if s, ok := in.values[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(in.values) < maxInternEntries && len(b) <= maxInternLength {
		in.values[s] = s
	}
	return s
}
