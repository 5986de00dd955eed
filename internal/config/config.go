// Package config holds every setting of threat-intel in one struct, with its
// default, its environment variable, its command-line flag and its check.
//
// Precedence, lowest first: the default, a .env file in the working
// directory, the process environment, then flags. A value that fails its
// check stops start-up with a message naming the variable, the value and
// what is allowed. Secrets are never printed, including in those messages.
package config

import (
	"net/netip"
	"time"
)

// Config is the complete configuration of one run.
type Config struct {
	// Event source.
	FilterlogPaths []string       // files or globs, plain or gzip; "-" is stdin
	Location       *time.Location // zone of timestamps that carry none
	LookbackHours  int
	TopBlockedIPs  int
	TopOutboundIPs int
	TopPorts       int
	WANInterfaces  []string
	OwnPrefixes    []netip.Prefix
	MaxTracked     int // addresses tracked per table and time bucket

	// Enrichment.
	AbuseIPDBAPIKey      string
	GreyNoiseAPIKey      string
	OTXAPIKey            string
	GreyNoiseNoKey       bool // use GreyNoise's unauthenticated quota when no key is set
	IPinfoToken          string
	AbuseIPDBBaseURL     string
	GreyNoiseBaseURL     string
	OTXBaseURL           string
	IPinfoBaseURL        string
	IPinfoMode           string // "lite" or "full"
	ProviderTimeout      time.Duration
	AbuseIPDBDailyBudget int
	GreyNoiseDailyBudget int
	OTXDailyBudget       int
	IPinfoDailyBudget    int
	AbuseIPDBRate        float64 // requests per minute
	GreyNoiseRate        float64
	OTXRate              float64
	IPinfoRate           float64
	CacheTTL             time.Duration
	NotFoundTTL          time.Duration
	BadActorMinScore     float64
	Concurrency          int

	// Local intelligence.
	GeoIPASNDB     string
	GeoIPCountryDB string
	Feeds          string
	FeedPoints     float64

	// Observability stack as the event source.
	VictoriaMetricsURL string
	LokiURL            string
	LokiSelector       string
	QueryTimeout       time.Duration

	// Narrative.
	LLMProvider      string // "", "anthropic", "openai", "ollama" or "rules"; "" picks from the keys
	AnthropicAPIKey  string
	AnthropicModel   string
	AnthropicBaseURL string
	OpenAIAPIKey     string
	OpenAIBaseURL    string
	OpenAIModel      string
	LLMTimeout       time.Duration

	// Blocklist.
	BlocklistMinLevel   string
	BlocklistTTL        time.Duration
	BlocklistMaxEntries int

	// Guardrails shared by the narrative and the blocklist.
	Allowlist    []netip.Prefix
	DNSResolvers []netip.Prefix

	// Service.
	ListenAddr      string
	Interval        time.Duration
	CycleTimeout    time.Duration
	APIToken        string
	SyslogListen    string
	FollowInterval  time.Duration
	ShutdownTimeout time.Duration

	// State.
	DataDir  string
	RedisURL string

	// Logging.
	LogLevel  string
	LogFormat string
}
