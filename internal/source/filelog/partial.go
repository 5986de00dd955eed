package filelog

import "github.com/threat-intel/threat-intel/internal/source"

var _ source.PartialError = (*ReadError)(nil)

// Partial reports whether at least one input was read, so the Observation
// that comes with the error is worth reporting.
func (e *ReadError) Partial() bool { return e.Read > 0 }
