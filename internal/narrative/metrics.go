package narrative

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the model's token and request counters for one provider.
type metrics struct {
	tokensIn  prometheus.Counter
	tokensOut prometheus.Counter
	requests  *prometheus.CounterVec
	provider  string
}

// newMetrics registers the counters on reg, or reuses the ones a previous
// Generator registered there. With a model, every label value of provider
// starts at zero so dashboards show 0 rather than no data.
func newMetrics(reg prometheus.Registerer, provider string, withModel bool) (*metrics, error) {
	tokens, err := registerCounterVec(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "threat_intel_narrative_tokens_total",
		Help: "Tokens used by the narrative model, by provider and direction (input or output), as the provider reported them.",
	}, []string{"provider", "direction"}))
	if err != nil {
		return nil, err
	}
	requests, err := registerCounterVec(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "threat_intel_narrative_requests_total",
		Help: "Requests sent to the narrative model, retries included, by provider and outcome.",
	}, []string{"provider", "outcome"}))
	if err != nil {
		return nil, err
	}

	m := &metrics{requests: requests, provider: provider}
	if !withModel {
		return m, nil
	}
	m.tokensIn = tokens.WithLabelValues(provider, "input")
	m.tokensOut = tokens.WithLabelValues(provider, "output")
	for _, outcome := range requestOutcomes {
		requests.WithLabelValues(provider, outcome)
	}
	return m, nil
}

func registerCounterVec(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var dup prometheus.AlreadyRegisteredError
	if errors.As(err, &dup) {
		if existing, ok := dup.ExistingCollector.(*prometheus.CounterVec); ok {
			return existing, nil
		}
	}
	return nil, fmt.Errorf("narrative: registering the narrative metrics: %w", err)
}

func (m *metrics) addTokens(input, output int64) {
	if m.tokensIn == nil {
		return
	}
	if input > 0 {
		m.tokensIn.Add(float64(input))
	}
	if output > 0 {
		m.tokensOut.Add(float64(output))
	}
}

func (m *metrics) countRequest(outcome string) {
	m.requests.WithLabelValues(m.provider, outcome).Inc()
}
