// Package intel holds the vocabulary shared by the provider clients, the
// enrichment engine, the cache and the scoring: what each provider returned
// for an address, how each lookup ended, and the scored record a report shows.
package intel

import (
	"net/netip"
	"strings"
	"time"
)

// Provider names a threat-intelligence source. The names are used as cache
// key parts, metric label values and JSON keys, so they never change.
type Provider string

const (
	AbuseIPDB Provider = "abuseipdb"
	GreyNoise Provider = "greynoise"
	OTX       Provider = "otx"
	IPinfo    Provider = "ipinfo"
)

// Local sources: they cost no quota and send nothing out, so they are not
// in Providers, but a score can rest on them.
const (
	GeoIP Provider = "geoip"
	Feeds Provider = "feeds"
)

// Providers lists the remote providers in the order they are shown.
var Providers = []Provider{AbuseIPDB, GreyNoise, OTX, IPinfo}

// Status is the outcome of one provider lookup for one address. Failures
// carry their cause after the prefix: "failed: timeout", "failed: HTTP 503".
type Status string

const (
	StatusOK                 Status = "ok"
	StatusNotFound           Status = "not found"
	StatusSkippedNoKey       Status = "skipped: no key"
	StatusSkippedBudget      Status = "skipped: budget"
	StatusSkippedRateLimited Status = "skipped: rate limited"
	StatusSkippedDisabled    Status = "skipped: disabled"
	StatusSkippedInternal    Status = "skipped: internal"
	// StatusNotCached marks a provider with no cached answer in a
	// cache-only lookup, which never calls a provider.
	StatusNotCached Status = "not cached"
)

// Failed returns the status of a lookup that failed for the given reason.
func Failed(reason string) Status { return Status("failed: " + reason) }

// IsFailure reports whether s is a "failed: …" status.
func (s Status) IsFailure() bool { return strings.HasPrefix(string(s), "failed: ") }

// Answered reports whether the provider gave a usable answer, found or not.
func (s Status) Answered() bool { return s == StatusOK || s == StatusNotFound }

// AbuseIPDBResult is the part of an AbuseIPDB check response that is used.
type AbuseIPDBResult struct {
	AbuseConfidenceScore int    `json:"abuse_confidence_score"`
	IsWhitelisted        bool   `json:"is_whitelisted"`
	UsageType            string `json:"usage_type,omitempty"`
	IsTor                bool   `json:"is_tor"`
	TotalReports         int    `json:"total_reports"`
	CountryCode          string `json:"country_code,omitempty"`
	ISP                  string `json:"isp,omitempty"`
	Domain               string `json:"domain,omitempty"`
}

// GreyNoiseResult is a GreyNoise Community answer. A 404 "not observed"
// answer has Observed false and Classification "unknown".
type GreyNoiseResult struct {
	Observed       bool   `json:"observed"`
	Noise          bool   `json:"noise"`
	RIOT           bool   `json:"riot"`
	Classification string `json:"classification"`
	Name           string `json:"name,omitempty"`
	LastSeen       string `json:"last_seen,omitempty"`
}

// OTXResult is the part of an OTX general indicator response that is used.
type OTXResult struct {
	PulseCount  int      `json:"pulse_count"`
	Validation  []string `json:"validation,omitempty"`
	ASN         string   `json:"asn,omitempty"`
	CountryCode string   `json:"country_code,omitempty"`
}

// IPinfoResult is an IPinfo answer, from the Lite API or the full one.
type IPinfoResult struct {
	CountryCode string `json:"country_code,omitempty"`
	Country     string `json:"country,omitempty"`
	ASN         string `json:"asn,omitempty"` // "AS15169"
	ASName      string `json:"as_name,omitempty"`
	ASDomain    string `json:"as_domain,omitempty"`
	Org         string `json:"org,omitempty"` // full API only: "AS15169 Google LLC"
}

// GeoIPResult is the record of an address in the local MaxMind-format
// databases.
type GeoIPResult struct {
	CountryCode string `json:"country_code,omitempty"`
	ASN         string `json:"asn,omitempty"` // "AS15169"
	ASName      string `json:"as_name,omitempty"`
}

// FeedKind is the meaning of a listing on a blocklist feed.
type FeedKind string

const (
	// FeedMalicious lists addresses to block: a listing adds points to the
	// composite score and makes the address a bad actor.
	FeedMalicious FeedKind = "malicious"
	// FeedInfo lists addresses worth knowing about, such as Tor exits: a
	// listing only tags the address.
	FeedInfo FeedKind = "info"
)

// FeedMatch is one feed that lists an address.
type FeedMatch struct {
	Name string   `json:"name"`
	Kind FeedKind `json:"kind"`
}

// Lookup is everything the providers returned for one address in one cycle.
// A nil result pointer means that provider gave no answer; Status says why.
type Lookup struct {
	Addr     netip.Addr          `json:"ip"`
	Internal bool                `json:"internal"`
	Status   map[Provider]Status `json:"status"`

	AbuseIPDB *AbuseIPDBResult `json:"abuseipdb,omitempty"`
	GreyNoise *GreyNoiseResult `json:"greynoise,omitempty"`
	OTX       *OTXResult       `json:"otx,omitempty"`
	IPinfo    *IPinfoResult    `json:"ipinfo,omitempty"`

	// Local intelligence: nil or empty when not configured or not listed.
	GeoIP *GeoIPResult `json:"geoip,omitempty"`
	Feeds []FeedMatch  `json:"feeds,omitempty"`

	// Cached lists the providers whose answer came from the cache.
	Cached []Provider `json:"cached,omitempty"`
	// FetchedAt is when the freshest answer was obtained.
	FetchedAt time.Time `json:"fetched_at,omitzero"`
}

// Component is one term of a composite score.
type Component struct {
	Name   string  `json:"name"`   // "abuseipdb", "otx", "greynoise", "riot"
	Points float64 `json:"points"` // contribution to the composite, one decimal
	Detail string  `json:"detail"` // "abuse confidence 80 × 0.5"
}

// Explanation is the breakdown of a composite score: its components and
// the sources they rest on.
type Explanation struct {
	Components []Component `json:"components"`
	// Sources are the providers whose answers the score rests on.
	Sources []Provider `json:"sources"`
	// Missing are the providers that gave no answer, so the score may be low.
	Missing []Provider `json:"missing,omitempty"`
	Notes   []string   `json:"notes,omitempty"`
}

// Intel is the scored record of one address, as the report and the API
// serve it. The field names and types are a public contract: dashboards
// and scripts read them, so fields may be added but never renamed or removed.
type Intel struct {
	IP                   string  `json:"ip"`
	Country              string  `json:"country"` // ISO 3166-1 alpha-2, "" when unknown
	Org                  string  `json:"org"`
	Classification       string  `json:"classification"` // "malicious", "suspicious", "benign", "unknown", "internal"
	CompositeScore       float64 `json:"composite_score"`
	ThreatLevel          string  `json:"threat_level"` // "none", "low", "medium", "high", "critical"
	AbuseConfidenceScore int     `json:"abuse_confidence_score"`
	PulseCount           int     `json:"pulse_count"`
	GNClassification     string  `json:"gn_classification"`
	GNName               string  `json:"gn_name"`
	RIOT                 bool    `json:"riot"`
	IsKnownBadActor      bool    `json:"is_known_bad_actor"`
	LikelyFalsePositive  bool    `json:"likely_false_positive"`

	ASN      string `json:"asn"`
	ASName   string `json:"as_name"`
	Internal bool   `json:"internal"`
	// Feeds names the blocklist feeds that list the address.
	Feeds       []string            `json:"feeds"`
	Providers   map[Provider]Status `json:"providers"`
	Explanation Explanation         `json:"explanation"`
}

// WithEmptyLists returns i with every nil list and map replaced by an empty
// one, so its JSON has [] and {} where a client expects a list or an object,
// never null.
func (i Intel) WithEmptyLists() Intel {
	if i.Feeds == nil {
		i.Feeds = []string{}
	}
	if i.Providers == nil {
		i.Providers = map[Provider]Status{}
	}
	if i.Explanation.Components == nil {
		i.Explanation.Components = []Component{}
	}
	if i.Explanation.Sources == nil {
		i.Explanation.Sources = []Provider{}
	}
	return i
}
