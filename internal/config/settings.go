package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/threat-intel/threat-intel/internal/netclass"
)

// setting binds one field of Config to its variable and flag.
type setting struct {
	env    string // environment variable; also the name used in messages
	flag   string // command-line flag without dashes
	def    string // default, in the same syntax as the variable
	help   string // what it sets, with its unit
	secret bool   // never echoed in messages or help
	// apply parses v into c. Its error completes the sentence
	// `invalid ENV "value": …` and states what is allowed.
	apply func(c *Config, v string) error
}

// settings lists every setting. Its order is the order of --help.
var settings = []setting{
	{env: "FILTERLOG_PATH", flag: "filterlog", help: "pfSense/OPNsense filterlog files or globs, plain or gzip, comma-separated; - reads stdin",
		apply: func(c *Config, v string) error { c.FilterlogPaths = splitList(v); return nil }},
	{env: "TZ", flag: "timezone", help: "IANA time zone of log timestamps that carry none (BSD syslog), e.g. Europe/Berlin; empty means the system zone",
		apply: func(c *Config, v string) error { return setLocation(&c.Location, v) }},
	{env: "LOOKBACK_HOURS", flag: "lookback-hours", def: "1", help: "length of the report window, in hours",
		apply: intIn(func(c *Config) *int { return &c.LookbackHours }, 1, 720, "a whole number of hours")},
	{env: "TOP_BLOCKED_IPS", flag: "top-blocked-ips", def: "50", help: "number of blocked public sources to report and enrich",
		apply: intIn(func(c *Config) *int { return &c.TopBlockedIPs }, 1, 1000, "a whole number")},
	{env: "TOP_OUTBOUND_IPS", flag: "top-outbound-ips", def: "20", help: "number of outbound public destinations to report and enrich",
		apply: intIn(func(c *Config) *int { return &c.TopOutboundIPs }, 1, 1000, "a whole number")},
	{env: "TOP_PORTS", flag: "top-ports", def: "20", help: "number of targeted ports to report",
		apply: intIn(func(c *Config) *int { return &c.TopPorts }, 1, 1000, "a whole number")},
	{env: "WAN_INTERFACES", flag: "wan-interfaces", help: "comma-separated interface names that face the internet (e.g. igc0,pppoe0); empty means every interface",
		apply: func(c *Config, v string) error { c.WANInterfaces = splitList(v); return nil }},
	{env: "OWN_PREFIXES", flag: "own-prefixes", help: "comma-separated CIDR prefixes of your own public addresses; never reported as attackers nor looked up",
		apply: prefixes(func(c *Config) *[]netip.Prefix { return &c.OwnPrefixes })},
	{env: "MAX_TRACKED_ADDRESSES", flag: "max-tracked-addresses", def: "20000", help: "addresses counted exactly per table and time bucket; beyond it counts become bounded estimates",
		apply: intIn(func(c *Config) *int { return &c.MaxTracked }, 100, 10_000_000, "a whole number")},

	{env: "ABUSEIPDB_API_KEY", flag: "abuseipdb-api-key", secret: true, help: "AbuseIPDB API key; empty skips AbuseIPDB",
		apply: func(c *Config, v string) error { c.AbuseIPDBAPIKey = v; return nil }},
	{env: "GREYNOISE_API_KEY", flag: "greynoise-api-key", secret: true, help: "GreyNoise Community API key; empty skips GreyNoise unless GREYNOISE_UNAUTHENTICATED is true",
		apply: func(c *Config, v string) error { c.GreyNoiseAPIKey = v; return nil }},
	{env: "GREYNOISE_UNAUTHENTICATED", flag: "greynoise-unauthenticated", def: "false", help: "with no GREYNOISE_API_KEY, look addresses up on GreyNoise's unauthenticated community API (100 lookups a day); off, nothing is sent without a key",
		apply: boolean(func(c *Config) *bool { return &c.GreyNoiseNoKey })},
	{env: "OTX_API_KEY", flag: "otx-api-key", secret: true, help: "AlienVault OTX API key; empty skips OTX",
		apply: func(c *Config, v string) error { c.OTXAPIKey = v; return nil }},
	{env: "IPINFO_TOKEN", flag: "ipinfo-token", secret: true, help: "IPinfo token; empty skips IPinfo",
		apply: func(c *Config, v string) error { c.IPinfoToken = v; return nil }},
	{env: "ABUSEIPDB_BASE_URL", flag: "abuseipdb-base-url", def: "https://api.abuseipdb.com", help: "AbuseIPDB API base URL",
		apply: baseURL(func(c *Config) *string { return &c.AbuseIPDBBaseURL })},
	{env: "GREYNOISE_BASE_URL", flag: "greynoise-base-url", def: "https://api.greynoise.io", help: "GreyNoise API base URL",
		apply: baseURL(func(c *Config) *string { return &c.GreyNoiseBaseURL })},
	{env: "OTX_BASE_URL", flag: "otx-base-url", def: "https://otx.alienvault.com", help: "AlienVault OTX API base URL",
		apply: baseURL(func(c *Config) *string { return &c.OTXBaseURL })},
	{env: "IPINFO_BASE_URL", flag: "ipinfo-base-url", help: "IPinfo API base URL; empty means https://api.ipinfo.io for the Lite API and https://ipinfo.io for the full one",
		apply: func(c *Config, v string) error {
			if v == "" {
				c.IPinfoBaseURL = ""
				return nil
			}
			return baseURL(func(c *Config) *string { return &c.IPinfoBaseURL })(c, v)
		}},
	{env: "IPINFO_MODE", flag: "ipinfo-mode", def: "lite", help: "IPinfo API: lite (free, country and ASN) or full (/{ip}/json, org)",
		apply: oneOf(func(c *Config) *string { return &c.IPinfoMode }, "lite", "full")},
	{env: "PROVIDER_TIMEOUT_SECONDS", flag: "provider-timeout-seconds", def: "10", help: "timeout of one request to a threat-intelligence provider, in seconds",
		apply: secondsIn(func(c *Config) *time.Duration { return &c.ProviderTimeout }, 1, 300)},
	{env: "ABUSEIPDB_DAILY_BUDGET", flag: "abuseipdb-daily-budget", def: "900", help: "AbuseIPDB checks per UTC day, a hard cap (the free plan allows 1000)",
		apply: intIn(func(c *Config) *int { return &c.AbuseIPDBDailyBudget }, 1, 10_000_000, "a whole number of requests")},
	{env: "GREYNOISE_DAILY_BUDGET", flag: "greynoise-daily-budget", def: "90", help: "GreyNoise lookups per UTC day, a hard cap (the unauthenticated limit is 100)",
		apply: intIn(func(c *Config) *int { return &c.GreyNoiseDailyBudget }, 1, 10_000_000, "a whole number of requests")},
	{env: "OTX_DAILY_BUDGET", flag: "otx-daily-budget", def: "5000", help: "OTX lookups per UTC day, a hard cap",
		apply: intIn(func(c *Config) *int { return &c.OTXDailyBudget }, 1, 10_000_000, "a whole number of requests")},
	{env: "IPINFO_DAILY_BUDGET", flag: "ipinfo-daily-budget", def: "10000", help: "IPinfo requests per UTC day, a hard cap; a batch request of many addresses counts once",
		apply: intIn(func(c *Config) *int { return &c.IPinfoDailyBudget }, 1, 10_000_000, "a whole number of requests")},
	{env: "ABUSEIPDB_RATE_PER_MINUTE", flag: "abuseipdb-rate-per-minute", def: "60", help: "AbuseIPDB request rate, in requests per minute",
		apply: rateIn(func(c *Config) *float64 { return &c.AbuseIPDBRate })},
	{env: "GREYNOISE_RATE_PER_MINUTE", flag: "greynoise-rate-per-minute", def: "30", help: "GreyNoise request rate, in requests per minute",
		apply: rateIn(func(c *Config) *float64 { return &c.GreyNoiseRate })},
	{env: "OTX_RATE_PER_MINUTE", flag: "otx-rate-per-minute", def: "60", help: "OTX request rate, in requests per minute",
		apply: rateIn(func(c *Config) *float64 { return &c.OTXRate })},
	{env: "IPINFO_RATE_PER_MINUTE", flag: "ipinfo-rate-per-minute", def: "300", help: "IPinfo request rate, in requests per minute",
		apply: rateIn(func(c *Config) *float64 { return &c.IPinfoRate })},
	{env: "CACHE_TTL_SECONDS", flag: "cache-ttl-seconds", def: "86400", help: "how long a provider's answer is reused, in seconds",
		apply: secondsIn(func(c *Config) *time.Duration { return &c.CacheTTL }, 60, 30*86400)},
	{env: "NOT_FOUND_TTL_SECONDS", flag: "not-found-ttl-seconds", def: "21600", help: "how long a provider's \"not found\" answer is reused, in seconds",
		apply: secondsIn(func(c *Config) *time.Duration { return &c.NotFoundTTL }, 60, 30*86400)},
	{env: "BAD_ACTOR_MIN_SCORE", flag: "bad-actor-min-score", def: "25", help: "composite score from which an inbound address is a known bad actor, 0 to 100",
		apply: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 100 {
				return fmt.Errorf("want a number from 0 to 100")
			}
			c.BadActorMinScore = f
			return nil
		}},
	{env: "ENRICHMENT_CONCURRENCY", flag: "enrichment-concurrency", def: "8", help: "addresses enriched at the same time",
		apply: intIn(func(c *Config) *int { return &c.Concurrency }, 1, 256, "a whole number")},

	{env: "GEOIP_ASN_DB", flag: "geoip-asn-db", help: "MaxMind-format ASN database (GeoLite2-ASN, DB-IP ASN Lite or IPinfo Lite .mmdb); reopened when the file changes",
		apply: func(c *Config, v string) error { c.GeoIPASNDB = v; return nil }},
	{env: "GEOIP_COUNTRY_DB", flag: "geoip-country-db", help: "MaxMind-format country database (GeoLite2-Country, DB-IP Country Lite or IPinfo Lite .mmdb)",
		apply: func(c *Config, v string) error { c.GeoIPCountryDB = v; return nil }},
	{env: "FEEDS", flag: "feeds", help: "blocklist feeds, one per line or separated by commas, or @FILE to read them from a file; see the README for the syntax",
		apply: func(c *Config, v string) error { c.Feeds = v; return nil }},
	{env: "FEED_POINTS", flag: "feed-points", def: "25", help: "points a malicious feed listing adds to the composite score, 0 to 100",
		apply: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 100 {
				return fmt.Errorf("want a number from 0 to 100")
			}
			c.FeedPoints = f
			return nil
		}},

	{env: "VICTORIAMETRICS_URL", flag: "victoriametrics-url", help: "VictoriaMetrics or Prometheus base URL with firewall_events_total; when set, it replaces the built-in log reader",
		apply: optionalURL(func(c *Config) *string { return &c.VictoriaMetricsURL })},
	{env: "LOKI_URL", flag: "loki-url", help: "Loki base URL for the targeted ports, used with VICTORIAMETRICS_URL",
		apply: optionalURL(func(c *Config) *string { return &c.LokiURL })},
	{env: "LOKI_SELECTOR", flag: "loki-selector", def: `{job="syslog"}`, help: "LogQL stream selector of the firewall's syslog lines",
		apply: func(c *Config, v string) error {
			v = strings.TrimSpace(v)
			if !strings.HasPrefix(v, "{") || !strings.HasSuffix(v, "}") {
				return fmt.Errorf(`want a LogQL stream selector such as {job="syslog"}`)
			}
			c.LokiSelector = v
			return nil
		}},
	{env: "QUERY_TIMEOUT_SECONDS", flag: "query-timeout-seconds", def: "30", help: "timeout of one VictoriaMetrics or Loki query, in seconds",
		apply: secondsIn(func(c *Config) *time.Duration { return &c.QueryTimeout }, 1, 600)},

	{env: "LLM_PROVIDER", flag: "llm-provider", help: "narrative writer: anthropic, openai, ollama or rules; empty means anthropic when ANTHROPIC_API_KEY is set, else rules",
		apply: func(c *Config, v string) error {
			if v == "" {
				c.LLMProvider = ""
				return nil
			}
			return oneOf(func(c *Config) *string { return &c.LLMProvider }, "anthropic", "openai", "ollama", "rules")(c, v)
		}},
	{env: "ANTHROPIC_API_KEY", flag: "anthropic-api-key", secret: true, help: "Anthropic API key for the narrative",
		apply: func(c *Config, v string) error { c.AnthropicAPIKey = v; return nil }},
	{env: "ANTHROPIC_MODEL", flag: "anthropic-model", help: "Anthropic model; empty means the narrative package's default Claude Haiku model",
		apply: func(c *Config, v string) error { c.AnthropicModel = strings.TrimSpace(v); return nil }},
	{env: "ANTHROPIC_BASE_URL", flag: "anthropic-base-url", help: "Anthropic API base URL; empty means the SDK's default",
		apply: optionalURL(func(c *Config) *string { return &c.AnthropicBaseURL })},
	{env: "OPENAI_API_KEY", flag: "openai-api-key", secret: true, help: "API key of the OpenAI-compatible endpoint; may be empty for local servers",
		apply: func(c *Config, v string) error { c.OpenAIAPIKey = v; return nil }},
	{env: "OPENAI_BASE_URL", flag: "openai-base-url", help: "base URL of an OpenAI-compatible endpoint (OpenAI, vLLM, LM Studio, Ollama's /v1)",
		apply: optionalURL(func(c *Config) *string { return &c.OpenAIBaseURL })},
	{env: "OPENAI_MODEL", flag: "openai-model", help: "model name at the OpenAI-compatible endpoint",
		apply: func(c *Config, v string) error { c.OpenAIModel = strings.TrimSpace(v); return nil }},
	{env: "LLM_TIMEOUT_SECONDS", flag: "llm-timeout-seconds", def: "60", help: "timeout of one narrative request to the model, in seconds",
		apply: secondsIn(func(c *Config) *time.Duration { return &c.LLMTimeout }, 1, 600)},

	{env: "BLOCKLIST_MIN_LEVEL", flag: "blocklist-min-level", def: "high", help: "lowest threat level of a known bad actor put on /api/blocklist.txt: low, medium, high or critical",
		apply: oneOf(func(c *Config) *string { return &c.BlocklistMinLevel }, "low", "medium", "high", "critical")},
	{env: "BLOCKLIST_TTL_HOURS", flag: "blocklist-ttl-hours", def: "24", help: "hours an address stays on the blocklist after it was last seen as a bad actor",
		apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 || n > 24*365 {
				return fmt.Errorf("want a whole number of hours from 1 to 8760")
			}
			c.BlocklistTTL = time.Duration(n) * time.Hour
			return nil
		}},
	{env: "BLOCKLIST_MAX_ENTRIES", flag: "blocklist-max-entries", def: "5000", help: "most addresses on the blocklist; the highest-scoring and most recently seen are kept",
		apply: intIn(func(c *Config) *int { return &c.BlocklistMaxEntries }, 1, 1_000_000, "a whole number")},
	{env: "ALLOWLIST", flag: "allowlist", help: "comma-separated addresses or CIDR prefixes never recommended for blocking nor put on the blocklist",
		apply: prefixes(func(c *Config) *[]netip.Prefix { return &c.Allowlist })},
	{env: "DNS_RESOLVERS", flag: "dns-resolvers", help: "comma-separated addresses of the resolvers you use; never put on the blocklist",
		apply: prefixes(func(c *Config) *[]netip.Prefix { return &c.DNSResolvers })},

	{env: "LISTEN_ADDR", flag: "listen-addr", def: ":8000", help: "address the HTTP API and /metrics listen on (serve)",
		apply: func(c *Config, v string) error {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("want host:port, such as :8000 or 127.0.0.1:8000")
			}
			c.ListenAddr = v
			return nil
		}},
	{env: "ENRICHMENT_INTERVAL_SECONDS", flag: "enrichment-interval-seconds", def: "3600", help: "time between cycles of serve, in seconds",
		apply: secondsIn(func(c *Config) *time.Duration { return &c.Interval }, 10, 7*86400)},
	{env: "CYCLE_TIMEOUT_SECONDS", flag: "cycle-timeout-seconds", def: "900", help: "bound of one cycle, in seconds; a cycle that runs longer is cancelled and counted as failed",
		apply: secondsIn(func(c *Config) *time.Duration { return &c.CycleTimeout }, 10, 7*86400)},
	{env: "API_TOKEN", flag: "api-token", secret: true, help: "bearer token required by every route but /health and /metrics; empty leaves the API open",
		apply: func(c *Config, v string) error { c.APIToken = v; return nil }},
	{env: "SYSLOG_LISTEN", flag: "syslog-listen", help: "syslog receivers for serve, e.g. udp://0.0.0.0:5514,tcp://0.0.0.0:5514",
		apply: func(c *Config, v string) error { c.SyslogListen = strings.TrimSpace(v); return nil }},
	{env: "FOLLOW_INTERVAL_MS", flag: "follow-interval-ms", def: "500", help: "how often serve checks followed log files for new lines, rotation and truncation, in milliseconds",
		apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 50 || n > 60_000 {
				return fmt.Errorf("want a whole number of milliseconds from 50 to 60000")
			}
			c.FollowInterval = time.Duration(n) * time.Millisecond
			return nil
		}},
	{env: "SHUTDOWN_TIMEOUT_SECONDS", flag: "shutdown-timeout-seconds", def: "10", help: "bound of a graceful shutdown on SIGTERM, in seconds",
		apply: secondsIn(func(c *Config) *time.Duration { return &c.ShutdownTimeout }, 1, 300)},

	{env: "DATA_DIR", flag: "data-dir", help: "directory of the on-disk store and port_services.json; empty means $XDG_STATE_HOME/threat-intel or ~/.local/state/threat-intel",
		apply: func(c *Config, v string) error {
			if v == "" {
				v = defaultDataDir()
			}
			c.DataDir = v
			return nil
		}},
	{env: "REDIS_URL", flag: "redis-url", secret: true, help: "Redis URL (redis://host:6379/0) for the cache, budgets and last report; empty uses the on-disk store in DATA_DIR",
		apply: func(c *Config, v string) error {
			if v == "" {
				c.RedisURL = ""
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
				return fmt.Errorf("want a URL such as redis://127.0.0.1:6379/0 (schemes redis, rediss, unix)")
			}
			c.RedisURL = v
			return nil
		}},

	{env: "LOG_LEVEL", flag: "log-level", def: "info", help: "log level: debug, info, warn or error",
		apply: oneOf(func(c *Config) *string { return &c.LogLevel }, "debug", "info", "warn", "error")},
	{env: "LOG_FORMAT", flag: "log-format", def: "text", help: "log format: text or json",
		apply: oneOf(func(c *Config) *string { return &c.LogFormat }, "text", "json")},
}

func boolean(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		*field(c) = b
		return nil
	}
}

func optionalURL(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if strings.TrimSpace(v) == "" {
			*field(c) = ""
			return nil
		}
		return baseURL(field)(c, strings.TrimSpace(v))
	}
}

func prefixes(field func(*Config) *[]netip.Prefix) func(*Config, string) error {
	return func(c *Config, v string) error {
		p, err := netclass.ParsePrefixes(v)
		*field(c) = p
		return err
	}
}

func splitList(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func setLocation(dst **time.Location, v string) error {
	if v == "" {
		*dst = time.Local
		return nil
	}
	loc, err := time.LoadLocation(strings.TrimPrefix(v, ":"))
	if err != nil {
		return fmt.Errorf("want an IANA time zone name such as UTC or America/New_York")
	}
	*dst = loc
	return nil
}

func intIn(field func(*Config) *int, lo, hi int, what string) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want %s from %d to %d", what, lo, hi)
		}
		*field(c) = n
		return nil
	}
}

func secondsIn(field func(*Config) *time.Duration, lo, hi int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want a whole number of seconds from %d to %d", lo, hi)
		}
		*field(c) = time.Duration(n) * time.Second
		return nil
	}
}

func rateIn(field func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f <= 0 || f > 100_000 {
			return fmt.Errorf("want a number of requests per minute above 0 and at most 100000")
		}
		*field(c) = f
		return nil
	}
}

func oneOf(field func(*Config) *string, allowed ...string) func(*Config, string) error {
	return func(c *Config, v string) error {
		v = strings.ToLower(strings.TrimSpace(v))
		for _, a := range allowed {
			if v == a {
				*field(c) = v
				return nil
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(allowed, ", "))
	}
}

func baseURL(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("want an absolute http or https URL such as https://api.example.com")
		}
		*field(c) = strings.TrimRight(v, "/")
		return nil
	}
}

func defaultDataDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "threat-intel")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "threat-intel")
	}
	return "data"
}
