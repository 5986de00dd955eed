package scoring

import (
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// lookupOption changes one part of a test lookup.
type lookupOption func(*intel.Lookup)

// lookup returns a lookup of 203.0.113.10 with no provider answers, changed
// by opts in order.
func lookup(opts ...lookupOption) intel.Lookup {
	l := intel.Lookup{
		Addr:   netip.MustParseAddr("203.0.113.10"),
		Status: map[intel.Provider]intel.Status{},
	}
	for _, o := range opts {
		o(&l)
	}
	return l
}

func withStatus(p intel.Provider, st intel.Status) lookupOption {
	return func(l *intel.Lookup) { l.Status[p] = st }
}

func withAbuse(score int) lookupOption {
	return func(l *intel.Lookup) {
		l.Status[intel.AbuseIPDB] = intel.StatusOK
		l.AbuseIPDB = &intel.AbuseIPDBResult{AbuseConfidenceScore: score}
	}
}

func withAbuseResult(r intel.AbuseIPDBResult) lookupOption {
	return func(l *intel.Lookup) {
		l.Status[intel.AbuseIPDB] = intel.StatusOK
		l.AbuseIPDB = &r
	}
}

func withPulses(n int) lookupOption {
	return func(l *intel.Lookup) {
		l.Status[intel.OTX] = intel.StatusOK
		l.OTX = &intel.OTXResult{PulseCount: n}
	}
}

func withOTXResult(r intel.OTXResult) lookupOption {
	return func(l *intel.Lookup) {
		l.Status[intel.OTX] = intel.StatusOK
		l.OTX = &r
	}
}

// withGreyNoise records an observed GreyNoise answer with this classification.
func withGreyNoise(classification string) lookupOption {
	return func(l *intel.Lookup) {
		l.Status[intel.GreyNoise] = intel.StatusOK
		l.GreyNoise = &intel.GreyNoiseResult{Observed: true, Noise: true, Classification: classification}
	}
}

// withNotObserved records the GreyNoise 404 "not observed" answer as the
// client stores it.
func withNotObserved() lookupOption {
	return func(l *intel.Lookup) {
		l.Status[intel.GreyNoise] = intel.StatusNotFound
		l.GreyNoise = &intel.GreyNoiseResult{Observed: false, Classification: "unknown"}
	}
}

func withRIOT(name string) lookupOption {
	return func(l *intel.Lookup) {
		l.Status[intel.GreyNoise] = intel.StatusOK
		l.GreyNoise = &intel.GreyNoiseResult{Observed: true, RIOT: true, Classification: "benign", Name: name}
	}
}

func withIPinfo(r intel.IPinfoResult) lookupOption {
	return func(l *intel.Lookup) {
		l.Status[intel.IPinfo] = intel.StatusOK
		l.IPinfo = &r
	}
}

// newScorer returns a Scorer with the default options changed by change,
// which may be nil.
func newScorer(t testing.TB, change func(*Options)) *Scorer {
	t.Helper()
	opts := DefaultOptions()
	if change != nil {
		change(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// componentSum returns the sum of the component points in tenths.
func componentSum(rec intel.Intel) int64 {
	var sum int64
	for _, c := range rec.Explanation.Components {
		sum += tenths(c.Points)
	}
	return sum
}

func TestCompositeScore(t *testing.T) {
	tests := []struct {
		name   string
		opts   func(*Options)
		lookup intel.Lookup
		want   float64
	}{
		{"all maximal reaches 100", nil, lookup(withAbuse(100), withPulses(20), withGreyNoise("malicious")), 100},
		{"sum above 100 capped", func(o *Options) { o.GreyNoiseMaliciousPoints = 40 },
			lookup(withAbuse(100), withPulses(20), withGreyNoise("malicious")), 100},
		{"abuse 80 unknown", nil, lookup(withAbuse(80), withPulses(0), withGreyNoise("unknown")), 45},
		{"RIOT zero despite abuse 90", nil, lookup(withAbuse(90), withPulses(25), withRIOT("Google Public DNS")), 0},
		{"not observed adds 5", nil, lookup(withNotObserved()), 5},
		{"not found without body adds 5", nil, lookup(withStatus(intel.GreyNoise, intel.StatusNotFound)), 5},
		{"not observed empty classification adds 5", nil, lookup(
			withStatus(intel.GreyNoise, intel.StatusNotFound),
			func(l *intel.Lookup) { l.GreyNoise = &intel.GreyNoiseResult{} },
		), 5},
		{"GreyNoise failed adds nothing", nil, lookup(withAbuse(80), withStatus(intel.GreyNoise, intel.Failed("timeout"))), 40},
		{"GreyNoise skipped adds nothing", nil, lookup(withStatus(intel.GreyNoise, intel.StatusSkippedNoKey)), 0},
		{"GreyNoise budget skip adds nothing", nil, lookup(withStatus(intel.GreyNoise, intel.StatusSkippedRateLimited)), 0},
		{"GreyNoise absent adds nothing", nil, lookup(withAbuse(10)), 5},
		{"stale result of failed lookup ignored", nil, lookup(
			withGreyNoise("malicious"),
			withStatus(intel.GreyNoise, intel.Failed("HTTP 503")),
		), 0},
		{"result without status counts", nil, lookup(func(l *intel.Lookup) {
			l.GreyNoise = &intel.GreyNoiseResult{Observed: true, Classification: "malicious"}
		}), 20},
		{"GreyNoise benign adds nothing", nil, lookup(withGreyNoise("benign")), 0},
		{"GreyNoise classification ignores case", nil, lookup(withGreyNoise("Malicious")), 20},
		{"pulses 25 capped at 20", nil, lookup(withPulses(25)), 30},
		{"abuse 33", nil, lookup(withAbuse(33)), 16.5},
		{"abuse 1 and 1 pulse", nil, lookup(withAbuse(1), withPulses(1)), 2},
		{"abuse above 100 clamped", nil, lookup(withAbuse(150)), 50},
		{"negative abuse counts as zero", nil, lookup(withAbuse(-5)), 0},
		{"negative pulses count as zero", nil, lookup(withPulses(-3)), 0},
		{"no answers at all", nil, lookup(), 0},
		{"half a tenth rounds away from zero", func(o *Options) { o.AbuseWeight = 0.25 }, lookup(withAbuse(1)), 0.3},
		{"binary noise does not round down", func(o *Options) { o.AbuseWeight = 0.15 }, lookup(withAbuse(1)), 0.2},
		{"weight 0.3 gives 24.9", func(o *Options) { o.AbuseWeight = 0.3 }, lookup(withAbuse(83)), 24.9},
		{"pulse term rounds per component", func(o *Options) { o.PulsePoints = 10; o.PulseCap = 3 }, lookup(withPulses(1)), 3.3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScorer(t, tt.opts)
			rec := s.Score(tt.lookup, Inbound)

			if rec.CompositeScore != tt.want {
				t.Errorf("CompositeScore = %v, want %v (components %+v)", rec.CompositeScore, tt.want, rec.Explanation.Components)
			}
			if rec.ThreatLevel != Level(tt.want) {
				t.Errorf("ThreatLevel = %q, want %q", rec.ThreatLevel, Level(tt.want))
			}
			if sum := componentSum(rec); sum <= 1000 && sum != tenths(rec.CompositeScore) {
				t.Errorf("components add up to %d tenths, composite is %v", sum, rec.CompositeScore)
			}
		})
	}
}

func TestCompositeCapNote(t *testing.T) {
	s := newScorer(t, func(o *Options) { o.GreyNoiseMaliciousPoints = 40 })
	rec := s.Score(lookup(withAbuse(100), withPulses(20), withGreyNoise("malicious")), Inbound)

	if !slices.Contains(rec.Explanation.Notes, "sum 120.0 capped at 100") {
		t.Errorf("notes = %q, want the cap note", rec.Explanation.Notes)
	}
}

func TestLevel(t *testing.T) {
	tests := []struct {
		score float64
		want  string
	}{
		{0, LevelNone},
		{9.9, LevelNone},
		{10, LevelLow},
		{24.9, LevelLow},
		{25, LevelMedium},
		{49.9, LevelMedium},
		{50, LevelHigh},
		{74.9, LevelHigh},
		{75, LevelCritical},
		{100, LevelCritical},
	}
	for _, tt := range tests {
		if got := Level(tt.score); got != tt.want {
			t.Errorf("Level(%v) = %q, want %q", tt.score, got, tt.want)
		}
	}
}

func TestBadActor(t *testing.T) {
	google := withIPinfo(intel.IPinfoResult{ASN: "AS15169", ASName: "Google LLC", CountryCode: "US"})
	ignoreAbuse := func(o *Options) { o.OutboundAbuseAbove = 100 }

	tests := []struct {
		name      string
		opts      func(*Options)
		lookup    intel.Lookup
		dir       Direction
		wantScore float64
		wantBad   bool
		wantFP    bool
	}{
		{"inbound 24.9 not bad", func(o *Options) { o.AbuseWeight = 0.3 }, lookup(withAbuse(83)), Inbound, 24.9, false, false},
		{"inbound 25 bad", nil, lookup(withAbuse(50)), Inbound, 25, true, false},
		{"inbound threshold configurable", func(o *Options) { o.BadActorMinScore = 40 }, lookup(withAbuse(50)), Inbound, 25, false, false},
		{"inbound ignores outbound rules", nil, lookup(withPulses(3), withAbuse(21)), Inbound, 15, false, false},
		{"outbound pulses 3 bad", nil, lookup(withPulses(3)), Outbound, 4.5, true, false},
		{"outbound pulses 2 not bad", nil, lookup(withPulses(2)), Outbound, 3, false, false},
		{"outbound abuse 21 bad", nil, lookup(withAbuse(21)), Outbound, 10.5, true, false},
		{"outbound abuse 20 not bad", nil, lookup(withAbuse(20)), Outbound, 10, false, false},
		{"outbound malicious bad", nil, lookup(withGreyNoise("malicious")), Outbound, 20, true, false},
		{"outbound unknown not bad", nil, lookup(withGreyNoise("unknown")), Outbound, 5, false, false},
		{"outbound composite 30.1 bad", func(o *Options) { o.AbuseWeight = 0.43; ignoreAbuse(o) }, lookup(withAbuse(70)), Outbound, 30.1, true, false},
		{"outbound composite 30 not bad", ignoreAbuse, lookup(withAbuse(60)), Outbound, 30, false, false},
		{"outbound RIOT suppresses pulses", nil, lookup(withPulses(3), withRIOT("Example CDN")), Outbound, 0, false, true},
		{"outbound RIOT suppresses abuse", nil, lookup(withAbuse(90), withRIOT("Example CDN")), Outbound, 0, false, true},
		{"outbound RIOT suppresses all", nil, lookup(withAbuse(90), withPulses(25), withRIOT("Example CDN")), Outbound, 0, false, true},
		{"inbound RIOT not bad", nil, lookup(withAbuse(90), withPulses(25), withRIOT("Example CDN")), Inbound, 0, false, true},
		{"whitelisted is false positive", nil, lookup(
			withAbuseResult(intel.AbuseIPDBResult{AbuseConfidenceScore: 40, IsWhitelisted: true}), withPulses(10),
		), Inbound, 35, false, true},
		{"whitelisted abuse 51 still bad", nil, lookup(
			withAbuseResult(intel.AbuseIPDBResult{AbuseConfidenceScore: 51, IsWhitelisted: true}),
		), Inbound, 25.5, true, true},
		{"benign ASN abuse 50 not bad", nil, lookup(google, withAbuse(50), withPulses(10)), Inbound, 40, false, true},
		{"benign ASN abuse 51 bad", nil, lookup(google, withAbuse(51), withPulses(10)), Inbound, 40.5, true, true},
		{"benign ASN outbound abuse 50 not bad", nil, lookup(google, withAbuse(50)), Outbound, 25, false, true},
		{"benign ASN outbound abuse 51 bad", nil, lookup(google, withAbuse(51)), Outbound, 25.5, true, true},
		{"benign ASN malicious not bad", nil, lookup(google, withGreyNoise("malicious"), withPulses(20)), Outbound, 50, false, true},
		{"benign name without ASN", nil, lookup(
			withAbuseResult(intel.AbuseIPDBResult{AbuseConfidenceScore: 30, ISP: "Google LLC"}),
		), Outbound, 15, false, true},
		{"benign name ignored with ASN", nil, lookup(
			withAbuseResult(intel.AbuseIPDBResult{AbuseConfidenceScore: 30, ISP: "Google LLC"}),
			withIPinfo(intel.IPinfoResult{ASN: "AS64500", ASName: "Example Transit"}),
		), Outbound, 15, true, false},
		{"substring name not benign", nil, lookup(
			withAbuseResult(intel.AbuseIPDBResult{AbuseConfidenceScore: 30, ISP: "Pineapple Hosting"}),
		), Outbound, 15, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScorer(t, tt.opts)
			rec := s.Score(tt.lookup, tt.dir)

			if rec.CompositeScore != tt.wantScore {
				t.Errorf("CompositeScore = %v, want %v", rec.CompositeScore, tt.wantScore)
			}
			if rec.IsKnownBadActor != tt.wantBad {
				t.Errorf("IsKnownBadActor = %v, want %v (notes %q)", rec.IsKnownBadActor, tt.wantBad, rec.Explanation.Notes)
			}
			if rec.LikelyFalsePositive != tt.wantFP {
				t.Errorf("LikelyFalsePositive = %v, want %v (notes %q)", rec.LikelyFalsePositive, tt.wantFP, rec.Explanation.Notes)
			}
		})
	}
}

func TestClassification(t *testing.T) {
	tests := []struct {
		name   string
		opts   func(*Options)
		lookup intel.Lookup
		dir    Direction
		want   string
	}{
		{"bad actor malicious", nil, lookup(withAbuse(60)), Inbound, ClassMalicious},
		{"false positive benign", nil, lookup(withAbuse(60), withRIOT("Example CDN")), Inbound, ClassBenign},
		{"GreyNoise benign scanner", nil, lookup(withAbuse(10), withGreyNoise("benign")), Inbound, ClassBenign},
		{"GreyNoise benign medium suspicious", func(o *Options) { o.BadActorMinScore = 60 },
			lookup(withAbuse(60), withGreyNoise("benign")), Inbound, ClassSuspicious},
		{"medium below threshold suspicious", func(o *Options) { o.BadActorMinScore = 60 },
			lookup(withAbuse(60)), Inbound, ClassSuspicious},
		{"low score unknown", nil, lookup(withAbuse(20)), Inbound, ClassUnknown},
		{"no answers unknown", nil, lookup(), Outbound, ClassUnknown},
		{"outbound flagged malicious", nil, lookup(withPulses(3)), Outbound, ClassMalicious},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newScorer(t, tt.opts).Score(tt.lookup, tt.dir)
			if rec.Classification != tt.want {
				t.Errorf("Classification = %q, want %q (score %v, notes %q)", rec.Classification, tt.want, rec.CompositeScore, rec.Explanation.Notes)
			}
		})
	}
}

func TestScoreInternalAddress(t *testing.T) {
	l := lookup(
		func(l *intel.Lookup) {
			l.Addr = netip.MustParseAddr("192.168.1.20")
			l.Internal = true
		},
		withStatus(intel.AbuseIPDB, intel.StatusSkippedInternal),
		withStatus(intel.GreyNoise, intel.StatusSkippedInternal),
		withStatus(intel.OTX, intel.StatusSkippedInternal),
		withStatus(intel.IPinfo, intel.StatusSkippedInternal),
	)
	rec := newScorer(t, nil).Score(l, Outbound)

	if rec.IP != "192.168.1.20" {
		t.Errorf("IP = %q, want 192.168.1.20", rec.IP)
	}
	if !rec.Internal {
		t.Error("Internal = false, want true")
	}
	if rec.CompositeScore != 0 {
		t.Errorf("CompositeScore = %v, want 0", rec.CompositeScore)
	}
	if rec.ThreatLevel != LevelNone {
		t.Errorf("ThreatLevel = %q, want none", rec.ThreatLevel)
	}
	if rec.Classification != ClassInternal {
		t.Errorf("Classification = %q, want internal", rec.Classification)
	}
	if rec.IsKnownBadActor || rec.LikelyFalsePositive || rec.RIOT {
		t.Errorf("flags bad=%v fp=%v riot=%v, want all false", rec.IsKnownBadActor, rec.LikelyFalsePositive, rec.RIOT)
	}
	if len(rec.Explanation.Sources) != 0 || len(rec.Explanation.Missing) != 0 {
		t.Errorf("sources %v, missing %v, want both empty", rec.Explanation.Sources, rec.Explanation.Missing)
	}
	if rec.Providers[intel.GreyNoise] != intel.StatusSkippedInternal {
		t.Errorf("Providers[greynoise] = %q, want %q", rec.Providers[intel.GreyNoise], intel.StatusSkippedInternal)
	}
}

func TestScoreIdentity(t *testing.T) {
	tests := []struct {
		name        string
		lookup      intel.Lookup
		wantCountry string
		wantOrg     string
		wantASN     string
		wantASName  string
	}{
		{"IPinfo Lite", lookup(withIPinfo(intel.IPinfoResult{
			CountryCode: "US", Country: "United States", ASN: "AS15169", ASName: "Google LLC",
		})), "US", "Google LLC", "AS15169", "Google LLC"},
		{"IPinfo full API", lookup(withIPinfo(intel.IPinfoResult{
			Country: "US", Org: "AS15169 Google LLC",
		})), "US", "Google LLC", "AS15169", "Google LLC"},
		{"IPinfo org without ASN", lookup(withIPinfo(intel.IPinfoResult{
			Country: "nl", Org: "Example Networks B.V.",
		})), "NL", "Example Networks B.V.", "", "Example Networks B.V."},
		{"full country name dropped", lookup(withIPinfo(intel.IPinfoResult{
			Country: "United States",
		})), "", "", "", ""},
		{"full name falls back to AbuseIPDB", lookup(
			withIPinfo(intel.IPinfoResult{Country: "Germany"}),
			withAbuseResult(intel.AbuseIPDBResult{CountryCode: "de", ISP: "Example Hosting GmbH"}),
		), "DE", "Example Hosting GmbH", "", ""},
		{"OTX only", lookup(withOTXResult(intel.OTXResult{
			ASN: "AS45090 Shenzhen Tencent Computer Systems Company Limited", CountryCode: "CN",
		})), "CN", "Shenzhen Tencent Computer Systems Company Limited", "AS45090", "Shenzhen Tencent Computer Systems Company Limited"},
		{"AbuseIPDB before OTX", lookup(
			withAbuseResult(intel.AbuseIPDBResult{CountryCode: "FR", ISP: "Example Telecom"}),
			withOTXResult(intel.OTXResult{ASN: "AS64500 Example Transit", CountryCode: "BE"}),
		), "FR", "Example Telecom", "AS64500", "Example Transit"},
		{"invalid codes skipped", lookup(
			withAbuseResult(intel.AbuseIPDBResult{CountryCode: "U1"}),
			withOTXResult(intel.OTXResult{CountryCode: "USA"}),
		), "", "", "", ""},
		{"no answers no default", lookup(), "", "", "", ""},
		{"failed IPinfo ignored", lookup(
			withIPinfo(intel.IPinfoResult{CountryCode: "US", ASN: "AS15169", ASName: "Google LLC"}),
			withStatus(intel.IPinfo, intel.Failed("timeout")),
		), "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newScorer(t, nil).Score(tt.lookup, Inbound)

			if rec.Country != tt.wantCountry {
				t.Errorf("Country = %q, want %q", rec.Country, tt.wantCountry)
			}
			if rec.Org != tt.wantOrg {
				t.Errorf("Org = %q, want %q", rec.Org, tt.wantOrg)
			}
			if rec.ASN != tt.wantASN {
				t.Errorf("ASN = %q, want %q", rec.ASN, tt.wantASN)
			}
			if rec.ASName != tt.wantASName {
				t.Errorf("ASName = %q, want %q", rec.ASName, tt.wantASName)
			}
		})
	}
}

func TestScoreCopiesFields(t *testing.T) {
	l := lookup(
		withAbuse(80),
		withPulses(12),
		func(l *intel.Lookup) {
			l.Status[intel.GreyNoise] = intel.StatusOK
			l.GreyNoise = &intel.GreyNoiseResult{Observed: true, Noise: true, Classification: "malicious", Name: "Example Botnet"}
		},
	)
	rec := newScorer(t, nil).Score(l, Inbound)
	l.Status[intel.AbuseIPDB] = intel.Failed("changed after scoring")

	if rec.IP != "203.0.113.10" {
		t.Errorf("IP = %q, want 203.0.113.10", rec.IP)
	}
	if rec.AbuseConfidenceScore != 80 {
		t.Errorf("AbuseConfidenceScore = %d, want 80", rec.AbuseConfidenceScore)
	}
	if rec.PulseCount != 12 {
		t.Errorf("PulseCount = %d, want 12", rec.PulseCount)
	}
	if rec.GNClassification != "malicious" {
		t.Errorf("GNClassification = %q, want malicious", rec.GNClassification)
	}
	if rec.GNName != "Example Botnet" {
		t.Errorf("GNName = %q, want Example Botnet", rec.GNName)
	}
	if rec.Providers[intel.AbuseIPDB] != intel.StatusOK {
		t.Errorf("Providers[abuseipdb] = %q, want ok: the record shares the lookup's map", rec.Providers[intel.AbuseIPDB])
	}
	if rec.CompositeScore != 78 {
		t.Errorf("CompositeScore = %v, want 78", rec.CompositeScore)
	}
}

func TestScoreGreyNoiseNoAnswerFields(t *testing.T) {
	rec := newScorer(t, nil).Score(lookup(withStatus(intel.GreyNoise, intel.Failed("timeout"))), Inbound)

	if rec.GNClassification != "" {
		t.Errorf("GNClassification = %q, want empty without an answer", rec.GNClassification)
	}
	if rec.Providers == nil {
		t.Error("Providers is nil, want a map")
	}
}

func TestExplanation(t *testing.T) {
	tests := []struct {
		name        string
		lookup      intel.Lookup
		wantDetails []string
		wantSources []intel.Provider
		wantMissing []intel.Provider
		wantNotes   []string
	}{
		{
			name: "failed and skipped providers",
			lookup: lookup(
				withAbuse(80),
				withStatus(intel.GreyNoise, intel.Failed("timeout")),
				withStatus(intel.OTX, intel.StatusSkippedNoKey),
				withIPinfo(intel.IPinfoResult{ASN: "AS64500", CountryCode: "NL"}),
			),
			wantDetails: []string{
				"abuse confidence 80 × 0.5 = 40.0",
				"OTX lookup skipped (no key): no points",
				"GreyNoise lookup failed (timeout): no points",
			},
			wantSources: []intel.Provider{intel.AbuseIPDB, intel.IPinfo},
			wantMissing: []intel.Provider{intel.GreyNoise, intel.OTX},
			wantNotes:   []string{"bad actor: composite 40.0 ≥ 25"},
		},
		{
			name:   "all answered",
			lookup: lookup(withAbuse(0), withPulses(12), withGreyNoise("malicious"), withIPinfo(intel.IPinfoResult{ASN: "AS64500"})),
			wantDetails: []string{
				"abuse confidence 0 × 0.5 = 0.0",
				"OTX 12 pulses (cap 20) → 18.0",
				"GreyNoise malicious → 20.0",
			},
			wantSources: []intel.Provider{intel.AbuseIPDB, intel.GreyNoise, intel.OTX, intel.IPinfo},
			wantNotes:   []string{"bad actor: composite 38.0 ≥ 25"},
		},
		{
			name:   "not observed and no status",
			lookup: lookup(withNotObserved(), withPulses(1), withStatus(intel.AbuseIPDB, intel.Failed(""))),
			wantDetails: []string{
				"AbuseIPDB lookup failed: no points",
				"OTX 1 pulse (cap 20) → 1.5",
				"GreyNoise not observed (unknown) → 5.0",
			},
			wantSources: []intel.Provider{intel.GreyNoise, intel.OTX},
			wantMissing: []intel.Provider{intel.AbuseIPDB, intel.IPinfo},
		},
		{
			name:        "RIOT",
			lookup:      lookup(withAbuse(90), withRIOT("Google Public DNS")),
			wantDetails: []string{"GreyNoise RIOT (Google Public DNS): known benign service, score 0"},
			wantSources: []intel.Provider{intel.AbuseIPDB, intel.GreyNoise},
			wantMissing: []intel.Provider{intel.OTX, intel.IPinfo},
			wantNotes: []string{
				"RIOT: known benign service, score 0",
				"likely false positive: GreyNoise RIOT lists it as a known benign service",
			},
		},
		{
			name:   "benign network",
			lookup: lookup(withAbuse(50), withIPinfo(intel.IPinfoResult{ASN: "AS15169", ASName: "Google LLC"})),
			wantDetails: []string{
				"abuse confidence 50 × 0.5 = 25.0",
				"OTX gave no answer: no points",
				"GreyNoise gave no answer: no points",
			},
			wantSources: []intel.Provider{intel.AbuseIPDB, intel.IPinfo},
			wantMissing: []intel.Provider{intel.GreyNoise, intel.OTX},
			wantNotes: []string{
				"likely false positive: AS15169 Google is a benign network (Google LLC main network: search, Public DNS, Gmail and other Google services)",
				"not a bad actor: bad actor rule matched (composite 25.0 ≥ 25), but a likely false positive needs abuse confidence above 50, and it is 50",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newScorer(t, nil).Score(tt.lookup, Inbound).Explanation

			var details []string
			for _, c := range e.Components {
				details = append(details, c.Detail)
			}
			if !slices.Equal(details, tt.wantDetails) {
				t.Errorf("component details:\n got %q\nwant %q", details, tt.wantDetails)
			}
			if !slices.Equal(e.Sources, tt.wantSources) {
				t.Errorf("Sources = %v, want %v", e.Sources, tt.wantSources)
			}
			if !slices.Equal(e.Missing, tt.wantMissing) {
				t.Errorf("Missing = %v, want %v", e.Missing, tt.wantMissing)
			}
			if !slices.Equal(e.Notes, tt.wantNotes) {
				t.Errorf("Notes:\n got %q\nwant %q", e.Notes, tt.wantNotes)
			}
		})
	}
}

func TestExplanationOutboundNote(t *testing.T) {
	rec := newScorer(t, nil).Score(lookup(withPulses(3), withAbuse(21)), Outbound)

	want := "command and control: OTX pulses 3 > 2, abuse confidence 21 > 20"
	if !slices.Contains(rec.Explanation.Notes, want) {
		t.Errorf("notes = %q, want %q", rec.Explanation.Notes, want)
	}
}

func TestOverallRisk(t *testing.T) {
	row := func(score float64, fp bool) intel.Intel {
		return intel.Intel{CompositeScore: score, LikelyFalsePositive: fp}
	}
	tests := []struct {
		name string
		rows []intel.Intel
		want string
	}{
		{"empty", nil, LevelNone},
		{"highest wins", []intel.Intel{row(12, false), row(55, false), row(30, false)}, LevelHigh},
		{"false positives ignored", []intel.Intel{row(90, true), row(30, false)}, LevelMedium},
		{"only false positives", []intel.Intel{row(90, true), row(80, true)}, LevelNone},
		{"critical boundary", []intel.Intel{row(75, false)}, LevelCritical},
		{"false positive that is a bad actor counts", []intel.Intel{{CompositeScore: 60, LikelyFalsePositive: true, IsKnownBadActor: true}, row(30, false)}, LevelHigh},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OverallRisk(tt.rows); got != tt.want {
				t.Errorf("OverallRisk = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name     string
		change   func(*Options)
		wantText string
	}{
		{"negative weight", func(o *Options) { o.AbuseWeight = -0.1 }, "AbuseWeight"},
		{"weight above 1", func(o *Options) { o.AbuseWeight = 1.5 }, "AbuseWeight"},
		{"zero pulse cap", func(o *Options) { o.PulseCap = 0 }, "PulseCap"},
		{"pulse points above 100", func(o *Options) { o.PulsePoints = 101 }, "PulsePoints"},
		{"negative malicious points", func(o *Options) { o.GreyNoiseMaliciousPoints = -1 }, "GreyNoiseMaliciousPoints"},
		{"NaN unknown points", func(o *Options) { o.GreyNoiseUnknownPoints = math.NaN() }, "GreyNoiseUnknownPoints"},
		{"bad actor score above 100", func(o *Options) { o.BadActorMinScore = 130 }, "BadActorMinScore"},
		{"negative bad actor score", func(o *Options) { o.BadActorMinScore = -1 }, "BadActorMinScore"},
		{"negative outbound pulses", func(o *Options) { o.OutboundPulsesAbove = -1 }, "OutboundPulsesAbove"},
		{"outbound abuse above 100", func(o *Options) { o.OutboundAbuseAbove = 101 }, "OutboundAbuseAbove"},
		{"outbound score above 100", func(o *Options) { o.OutboundScoreAbove = 101 }, "OutboundScoreAbove"},
		{"negative false positive abuse", func(o *Options) { o.FalsePositiveAbuseAbove = -1 }, "FalsePositiveAbuseAbove"},
		{"benign list with duplicate", func(o *Options) {
			o.Benign = &BenignList{Networks: []BenignNetwork{
				{ASN: 64500, Org: "Example", Reason: "test"},
				{ASN: 64500, Org: "Example", Reason: "test"},
			}}
		}, "AS64500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := DefaultOptions()
			tt.change(&opts)

			_, err := New(opts)
			if err == nil {
				t.Fatal("New returned no error")
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not name %s", err, tt.wantText)
			}
		})
	}
}

func TestOptionsZeroValueRejected(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New(Options{}) returned no error, want the PulseCap error")
	}
}

func TestDefaultOptionsValid(t *testing.T) {
	if err := DefaultOptions().Validate(); err != nil {
		t.Errorf("DefaultOptions().Validate() = %v", err)
	}
}

func TestScoreConcurrent(t *testing.T) {
	s := newScorer(t, nil)
	l := lookup(withAbuse(80), withPulses(12), withGreyNoise("malicious"),
		withIPinfo(intel.IPinfoResult{ASN: "AS15169", ASName: "Google LLC"}))

	done := make(chan float64)
	for range 8 {
		go func() { done <- s.Score(l, Outbound).CompositeScore }()
	}
	for range 8 {
		if got := <-done; got != 78 {
			t.Errorf("CompositeScore = %v, want 78", got)
		}
	}
}

func BenchmarkScore(b *testing.B) {
	s := newScorer(b, nil)
	l := lookup(
		withAbuseResult(intel.AbuseIPDBResult{AbuseConfidenceScore: 80, CountryCode: "NL", ISP: "Example Hosting B.V."}),
		withPulses(12),
		withGreyNoise("malicious"),
		withIPinfo(intel.IPinfoResult{CountryCode: "NL", Country: "Netherlands", ASN: "AS64500", ASName: "Example Hosting B.V."}),
	)
	b.ReportAllocs()
	for b.Loop() {
		s.Score(l, Outbound)
	}
}
