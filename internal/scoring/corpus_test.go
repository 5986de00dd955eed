package scoring

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/threat-intel/threat-intel/internal/corpustest"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// readCorpusJSON decodes one corpus file into v.
func readCorpusJSON(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpustest.Dir(t), "api", name))
	if err != nil {
		t.Fatalf("reading corpus file: %v", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
}

// The IPinfo and GreyNoise result types use the providers' own JSON field
// names, so the recorded responses decode into them directly.
func TestCorpusGooglePublicDNS(t *testing.T) {
	var lite, full intel.IPinfoResult
	readCorpusJSON(t, "ipinfo-lite-8.8.8.8-official-docs.json", &lite)
	readCorpusJSON(t, "ipinfo-json-8.8.8.8-unauthenticated-skodnik-readme.json", &full)
	var riot intel.GreyNoiseResult
	readCorpusJSON(t, "greynoise-community-riot-official-readme-8.8.8.8.json", &riot)

	s := newScorer(t, nil)
	for name, info := range map[string]intel.IPinfoResult{"lite": lite, "full": full} {
		t.Run(name, func(t *testing.T) {
			rec := s.Score(lookup(withIPinfo(info), withAbuse(0)), Outbound)

			if rec.Country != "US" {
				t.Errorf("Country = %q, want US", rec.Country)
			}
			if rec.ASN != "AS15169" {
				t.Errorf("ASN = %q, want AS15169", rec.ASN)
			}
			if rec.Org != "Google LLC" {
				t.Errorf("Org = %q, want Google LLC", rec.Org)
			}
			if !rec.LikelyFalsePositive {
				t.Error("LikelyFalsePositive = false, want true for AS15169")
			}
		})
	}

	t.Run("RIOT", func(t *testing.T) {
		l := lookup(withIPinfo(lite), withAbuse(30), withPulses(5))
		l.GreyNoise = &riot
		l.Status[intel.GreyNoise] = intel.StatusOK
		rec := s.Score(l, Outbound)

		if !rec.RIOT {
			t.Error("RIOT = false, want true")
		}
		if rec.CompositeScore != 0 {
			t.Errorf("CompositeScore = %v, want 0", rec.CompositeScore)
		}
		if rec.IsKnownBadActor {
			t.Error("IsKnownBadActor = true for a RIOT address")
		}
		if rec.GNName != "Google Public DNS" {
			t.Errorf("GNName = %q, want Google Public DNS", rec.GNName)
		}
	})
}

func TestCorpusGreyNoiseNotObserved(t *testing.T) {
	var gn intel.GreyNoiseResult
	readCorpusJSON(t, "greynoise-community-404-notfound-graylog.json", &gn)

	l := lookup()
	l.GreyNoise = &gn
	l.Status[intel.GreyNoise] = intel.StatusNotFound
	rec := newScorer(t, nil).Score(l, Inbound)

	if rec.CompositeScore != 5 {
		t.Errorf("CompositeScore = %v, want 5 for not observed", rec.CompositeScore)
	}
	if rec.GNClassification != "unknown" {
		t.Errorf("GNClassification = %q, want unknown", rec.GNClassification)
	}
}

func TestCorpusGreyNoiseBenignScanner(t *testing.T) {
	var gn intel.GreyNoiseResult
	readCorpusJSON(t, "greynoise-community-noise-found-demisto.json", &gn)
	gn.Observed = true

	l := lookup()
	l.GreyNoise = &gn
	l.Status[intel.GreyNoise] = intel.StatusOK
	rec := newScorer(t, nil).Score(l, Inbound)

	if rec.CompositeScore != 0 {
		t.Errorf("CompositeScore = %v, want 0 for a benign scanner", rec.CompositeScore)
	}
	if rec.Classification != ClassBenign {
		t.Errorf("Classification = %q, want benign", rec.Classification)
	}
	if rec.LikelyFalsePositive {
		t.Error("LikelyFalsePositive = true, want false: a benign scanner is not RIOT")
	}
}

func TestCorpusOTX(t *testing.T) {
	var general struct {
		ASN         string `json:"asn"`
		CountryCode string `json:"country_code"`
		PulseInfo   struct {
			Count int `json:"count"`
		} `json:"pulse_info"`
	}
	readCorpusJSON(t, "otx-indicators-ipv4-general-checkip.json", &general)

	rec := newScorer(t, nil).Score(lookup(withOTXResult(intel.OTXResult{
		PulseCount:  general.PulseInfo.Count,
		ASN:         general.ASN,
		CountryCode: general.CountryCode,
	})), Outbound)

	if rec.PulseCount != 39 {
		t.Errorf("PulseCount = %d, want 39", rec.PulseCount)
	}
	if rec.CompositeScore != 30 {
		t.Errorf("CompositeScore = %v, want 30 (39 pulses capped at 20)", rec.CompositeScore)
	}
	if rec.ASN != "AS45090" {
		t.Errorf("ASN = %q, want AS45090", rec.ASN)
	}
	if rec.Country != "CN" {
		t.Errorf("Country = %q, want CN", rec.Country)
	}
	if !rec.IsKnownBadActor {
		t.Error("IsKnownBadActor = false, want true for 39 pulses outbound")
	}
}
