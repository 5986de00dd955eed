package service

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/threat-intel/threat-intel/internal/config"
	"github.com/threat-intel/threat-intel/internal/cycle"
	"github.com/threat-intel/threat-intel/internal/narrative"
	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/report"
)

// NewNarrator returns the narrative writer the configuration selects:
// LLM_PROVIDER, or Claude when ANTHROPIC_API_KEY is set, or the rules
// narrative. Its counters register on reg.
func NewNarrator(cfg *config.Config, log *slog.Logger, reg prometheus.Registerer) (cycle.Narrator, error) {
	opts := narrative.Options{
		Provider:   cfg.LLMProvider,
		Timeout:    cfg.LLMTimeout,
		Logger:     log,
		Registerer: reg,
	}
	if opts.Provider == "" {
		opts.Provider = narrative.ProviderRules
		if cfg.AnthropicAPIKey != "" {
			opts.Provider = narrative.ProviderAnthropic
		}
	}
	switch opts.Provider {
	case narrative.ProviderAnthropic:
		opts.APIKey, opts.Model, opts.BaseURL = cfg.AnthropicAPIKey, cfg.AnthropicModel, cfg.AnthropicBaseURL
	case narrative.ProviderOpenAI, narrative.ProviderOllama:
		opts.APIKey, opts.Model, opts.BaseURL = cfg.OpenAIAPIKey, cfg.OpenAIModel, cfg.OpenAIBaseURL
	}
	gen, err := narrative.New(opts)
	if err != nil {
		return nil, err
	}
	return &narrator{gen: gen, context: narrative.Context{
		WANInterfaces: cfg.WANInterfaces,
		Classifier:    netclass.New(cfg.OwnPrefixes),
		OwnPrefixes:   cfg.OwnPrefixes,
		Allowlist:     cfg.Allowlist,
	}}, nil
}

// narrator adapts a narrative.Generator to the cycle with the firewall's
// context, which stays the same for the life of the process.
type narrator struct {
	gen     *narrative.Generator
	context narrative.Context
}

func (n *narrator) Narrate(ctx context.Context, r report.Report) report.Narrative {
	return n.gen.Generate(ctx, r, n.context)
}
