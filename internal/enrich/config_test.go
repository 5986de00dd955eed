package enrich

import (
	"testing"

	"github.com/threat-intel/threat-intel/internal/config"
	"github.com/threat-intel/threat-intel/internal/intel"
)

func TestGreyNoiseWithoutKeyIsOptIn(t *testing.T) {
	tests := []struct {
		name            string
		key             string
		unauthenticated bool
		want            bool
	}{
		{"no key", "", false, false},
		{"no key, unauthenticated allowed", "", true, true},
		{"key", "gn-key", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{GreyNoiseAPIKey: tt.key, GreyNoiseNoKey: tt.unauthenticated, GreyNoiseBaseURL: "http://127.0.0.1:1"}
			for _, p := range ProvidersFromConfig(cfg) {
				if p.Name() == intel.GreyNoise && p.Configured() != tt.want {
					t.Errorf("GreyNoise Configured() = %v, want %v", p.Configured(), tt.want)
				}
			}
		})
	}
}
