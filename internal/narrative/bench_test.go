package narrative

import (
	"log/slog"
	"testing"
)

func BenchmarkRules(b *testing.B) {
	r, c := loadFixture(b, "storm")
	for b.Loop() {
		Rules(r, c)
	}
}

func BenchmarkApplyGuardrails(b *testing.B) {
	r, c := loadFixture(b, "storm")
	f := newFacts(r, c)
	n := Rules(r, c)
	logger := slog.New(slog.DiscardHandler)
	for b.Loop() {
		applyGuardrails(n, f, logger)
	}
}
