// Package narrative writes the analyst's narrative of a report: a risk
// level, an executive summary, the top threats, an analysis of inbound,
// outbound and port activity, and pfSense steps to take.
//
// A Generator requests the narrative as JSON from a language model:
// Anthropic, or any OpenAI-compatible endpoint such as Ollama, vLLM or LM
// Studio. It uses the provider's structured-output mechanism, checks the
// response against the schema and retries once. When the model still
// fails, it returns the deterministic rules narrative instead. The rules
// narrative is also what a Generator without a model returns, so a report
// always has a narrative.
//
// After the model responds, guardrails drop every line that recommends
// blocking an address that must not be blocked: see [Generator.Generate].
package narrative

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/threat-intel/threat-intel/internal/report"
)

// Provider names, the values of Options.Provider and of the narrative's
// provider field.
const (
	ProviderAnthropic = "anthropic"
	ProviderOpenAI    = "openai"
	// ProviderOllama is an OpenAI-compatible provider whose base URL
	// defaults to OllamaBaseURL.
	ProviderOllama = "ollama"
	// ProviderRules is the deterministic narrative written from the data.
	ProviderRules = "rules"
)

// Defaults of Options.
const (
	// DefaultAnthropicModel is the newest Claude Haiku that the Anthropic
	// SDK in go.mod (v2.17.0) declares, an alias that follows its latest
	// snapshot.
	DefaultAnthropicModel = anthropic.ModelClaudeHaiku5_5
	// OllamaBaseURL is the OpenAI-compatible endpoint of a local Ollama.
	OllamaBaseURL = "http://localhost:11434/v1"
	// DefaultMaxTokens bounds the response. The rules narrative of the busy
	// hour in testdata/storm.json is 4,259 characters, about 1,100 tokens at
	// an estimated four characters a token, so a model has room to spare.
	DefaultMaxTokens = 2000
	// DefaultTimeout bounds one request, from sending it to reading the
	// whole response.
	DefaultTimeout = 60 * time.Second
	// DefaultRetryDelay is the pause before the one retry when the server
	// sends no Retry-After.
	DefaultRetryDelay = 2 * time.Second
	// MaxRetryAfter is the longest Retry-After that is waited for. A longer
	// one ends the attempt, and the rules narrative is used for this cycle.
	MaxRetryAfter = 30 * time.Second
	// maxRetryTokens caps the doubled token budget of a retry after a
	// truncated response.
	maxRetryTokens = 8192
)

// Options configures a Generator.
type Options struct {
	// Provider is anthropic, openai, ollama or rules. Empty means rules.
	Provider string
	// Model is the model id. Empty means DefaultAnthropicModel for
	// anthropic; openai and ollama need one.
	Model string
	// APIKey authenticates to the provider. Required for anthropic and for
	// openai without BaseURL; local OpenAI-compatible servers need none.
	APIKey string
	// BaseURL replaces the provider's endpoint: an OpenAI-compatible server
	// such as http://localhost:8000/v1, or a proxy in front of Anthropic.
	// Empty means the provider's public API (OllamaBaseURL for ollama).
	BaseURL string
	// Timeout bounds each request. Zero means DefaultTimeout.
	Timeout time.Duration
	// MaxTokens bounds the response. Zero means DefaultMaxTokens. A retry
	// after a truncated response requests twice as many, at most 8192.
	MaxTokens int
	// RetryDelay is the pause before the retry when the server gives no
	// Retry-After. Zero means DefaultRetryDelay.
	RetryDelay time.Duration
	// HTTPClient sends the requests. Nil means a client that never follows
	// redirects, so the API key is never sent to another host.
	HTTPClient *http.Client
	// Logger receives retries, fallbacks and every line the guardrails
	// drop. Nil discards them.
	Logger *slog.Logger
	// Registerer receives the token and request counters. Nil keeps them
	// unregistered.
	Registerer prometheus.Registerer
}

// Generator writes narratives. It remembers the last narrative a model
// wrote, so an unchanged report costs no model call. It is safe for
// concurrent use.
type Generator struct {
	name       string // provider name as configured: anthropic, openai, ollama, rules
	model      string
	client     modelClient // nil for rules
	maxTokens  int
	timeout    time.Duration
	retryDelay time.Duration
	secrets    []string
	logger     *slog.Logger
	metrics    *metrics

	mu          sync.Mutex
	last        *report.Narrative
	fingerprint string
}

// New returns a Generator for opts, or an error naming the invalid option.
// It sends nothing: a wrong key or model shows up in the first narrative's
// error field.
func New(opts Options) (*Generator, error) {
	name := strings.ToLower(strings.TrimSpace(opts.Provider))
	if name == "" {
		name = ProviderRules
	}
	switch {
	case opts.Timeout < 0:
		return nil, fmt.Errorf("narrative: invalid timeout %s: must be 0 (default %s) or more", opts.Timeout, DefaultTimeout)
	case opts.MaxTokens < 0:
		return nil, fmt.Errorf("narrative: invalid max tokens %d: must be 0 (default %d) or more", opts.MaxTokens, DefaultMaxTokens)
	case opts.RetryDelay < 0:
		return nil, fmt.Errorf("narrative: invalid retry delay %s: must be 0 (default %s) or more", opts.RetryDelay, DefaultRetryDelay)
	}

	g := &Generator{
		name:       name,
		model:      strings.TrimSpace(opts.Model),
		maxTokens:  cmp.Or(opts.MaxTokens, DefaultMaxTokens),
		timeout:    cmp.Or(opts.Timeout, DefaultTimeout),
		retryDelay: cmp.Or(opts.RetryDelay, DefaultRetryDelay),
		logger:     opts.Logger,
	}
	if g.logger == nil {
		g.logger = slog.New(slog.DiscardHandler)
	}

	httpClient := opts.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	baseURL := strings.TrimSpace(opts.BaseURL)
	if baseURL != "" {
		if err := checkBaseURL(baseURL); err != nil {
			return nil, err
		}
	}

	switch name {
	case ProviderRules:
		g.model = ""
	case ProviderAnthropic:
		if opts.APIKey == "" {
			return nil, errors.New("narrative: provider anthropic needs an API key: set ANTHROPIC_API_KEY, or choose the rules provider")
		}
		if g.model == "" {
			g.model = DefaultAnthropicModel
		}
		g.client = newAnthropicClient(g.model, opts.APIKey, baseURL, g.timeout, httpClient)
	case ProviderOpenAI, ProviderOllama:
		if name == ProviderOllama && baseURL == "" {
			baseURL = OllamaBaseURL
		}
		if g.model == "" {
			return nil, fmt.Errorf("narrative: provider %s needs a model name, such as llama3.1:8b for Ollama", name)
		}
		if baseURL == "" && opts.APIKey == "" {
			return nil, errors.New("narrative: provider openai needs an API key for api.openai.com: set OPENAI_API_KEY, or set OPENAI_BASE_URL to a local OpenAI-compatible server")
		}
		g.client = newOpenAIClient(g.model, opts.APIKey, baseURL, g.timeout, httpClient)
	default:
		return nil, fmt.Errorf("narrative: unknown provider %q: want anthropic, openai, ollama or rules", opts.Provider)
	}

	g.secrets = secretsOf(opts.APIKey, baseURL)
	registerer := opts.Registerer
	if registerer == nil {
		registerer = prometheus.NewRegistry()
	}
	m, err := newMetrics(registerer, g.name, g.client != nil)
	if err != nil {
		return nil, err
	}
	g.metrics = m
	return g, nil
}

// Provider returns the configured provider name.
func (g *Generator) Provider() string { return g.name }

// Model returns the model id, "" for the rules provider.
func (g *Generator) Model() string { return g.model }

// Generate returns the narrative of r. It never fails: when no model is
// configured it returns the rules narrative, and when the model fails
// twice it returns the rules narrative with the model's error in Error.
//
// No model is called when the addresses shown to it, their threat levels
// and the overall risk level are the same as for the last narrative a model
// wrote: that narrative is returned again.
//
// The model's response passes guardrails before it is returned. A line of
// top_threats or recommended_actions, or a sentence of the other text
// fields, is dropped when it recommends blocking an address or prefix that
// must not be blocked, and each drop is logged at Warn with the address
// and the reason. A line recommends blocking when it contains an
// affirmative block, deny, reject, drop, ban or blocklist verb, names
// pfBlockerNG, or says an address should be blocked. "do not block",
// "never block" and "no block" are not affirmative.
//
// An address must not be blocked when it is internal or special-purpose,
// in OWN_PREFIXES or ALLOWLIST, the firewall's WAN address, a likely false
// positive with an AbuseIPDB confidence of 50 or less, or absent from the
// report. One exception: an internal host listed as a sender of a
// destination that the same line blocks is tolerated, because a rule for
// that destination may name its source. A prefix must be a /16 or longer
// (IPv4) or a /32 or longer (IPv6), lie in public space outside
// OWN_PREFIXES, ALLOWLIST and the WAN address, and contain at least one
// report address, all of which may be blocked. An ASN (AS64500) named in a
// blocking line follows the same rule as a prefix: the report must have
// addresses in it, and all of them may be blocked.
//
// A risk level more than one step below the report's is raised to the
// report's, so injected text cannot make a critical hour read as calm. A
// text field or list that the model left empty, or that the guardrails
// emptied, is filled from the rules narrative, so no dashboard panel is
// blank.
func (g *Generator) Generate(ctx context.Context, r report.Report, c Context) report.Narrative {
	f := newFacts(r, c)
	fallback := rulesNarrative(f)
	if g.client == nil {
		return fallback
	}

	fingerprint := f.fingerprint()
	if n, ok := g.reuse(fingerprint); ok {
		g.logger.Info("narrative reused: addresses and levels unchanged", "provider", g.name, "model", g.model)
		return n
	}

	started := time.Now()
	n, err := g.ask(ctx, buildPrompt(f))
	if err != nil {
		g.logger.Warn("narrative model failed, using the rules narrative", "provider", g.name, "model", g.model, "err", err.Error())
		fallback.Error = err.Error()
		return fallback
	}

	n = applyGuardrails(n, f, g.logger.With("provider", g.name))
	n = fillEmpty(n, fallback)
	n.Available = true
	n.Provider = g.name
	n.Model = g.model
	g.logger.Info("narrative written", "provider", g.name, "model", g.model,
		"threats", len(n.TopThreats), "actions", len(n.RecommendedActions),
		"duration_seconds", time.Since(started).Seconds())

	g.remember(fingerprint, n)
	return cloneNarrative(n)
}

func (g *Generator) reuse(fingerprint string) (report.Narrative, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.last == nil || g.fingerprint != fingerprint {
		return report.Narrative{}, false
	}
	return cloneNarrative(*g.last), true
}

// remember keeps n for reuse. Only a model's narrative is kept: after a
// fallback the next cycle tries the model again.
func (g *Generator) remember(fingerprint string, n report.Narrative) {
	stored := cloneNarrative(n)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.last = &stored
	g.fingerprint = fingerprint
}

// fillEmpty fills each empty field of n from the rules narrative, whose
// lines pass the guardrails by construction.
func fillEmpty(n, rules report.Narrative) report.Narrative {
	for _, field := range []struct{ got, fill *string }{
		{&n.ExecutiveSummary, &rules.ExecutiveSummary},
		{&n.InboundAnalysis, &rules.InboundAnalysis},
		{&n.OutboundAnalysis, &rules.OutboundAnalysis},
		{&n.PortAnalysis, &rules.PortAnalysis},
	} {
		if *field.got == "" {
			*field.got = *field.fill
		}
	}
	if len(n.TopThreats) == 0 {
		n.TopThreats = slices.Clone(rules.TopThreats)
	}
	if len(n.RecommendedActions) == 0 {
		n.RecommendedActions = slices.Clone(rules.RecommendedActions)
	}
	return n
}

func cloneNarrative(n report.Narrative) report.Narrative {
	n.TopThreats = slices.Clone(n.TopThreats)
	n.RecommendedActions = slices.Clone(n.RecommendedActions)
	return n
}

// checkBaseURL rejects a base URL that is not an absolute http or https URL.
// The message leaves out the value, because a malformed URL may carry a
// password that cannot be separated from the rest.
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("narrative: invalid base URL: want an absolute http or https URL such as http://localhost:11434/v1")
	}
	return nil
}

// secretsOf lists the strings that must never appear in an error or a log
// line: the key and the password of the base URL.
func secretsOf(apiKey, baseURL string) []string {
	var out []string
	if apiKey != "" {
		out = append(out, apiKey)
	}
	if u, err := url.Parse(baseURL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p)
		}
	}
	return out
}
