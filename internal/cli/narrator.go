package cli

import "github.com/threat-intel/threat-intel/internal/cycle"

// narrator returns the narrative writer the configuration selects.
func (c *invocation) narrator() cycle.Narrator { return nil }
