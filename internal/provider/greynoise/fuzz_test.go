package greynoise

import (
	"testing"

	"github.com/threat-intel/threat-intel/internal/provider/providertest"
)

func FuzzDecodeCommunity(f *testing.F) {
	for _, name := range []string{
		"greynoise-community-riot-official-readme-8.8.8.8.json",
		"greynoise-community-riot-graylog.json",
		"greynoise-community-noise-found-demisto.json",
		"greynoise-community-404-notfound-graylog.json",
		"greynoise-community-429-ratelimit-graylog.json",
	} {
		f.Add(providertest.APIFile(f, name))
	}
	f.Add([]byte(`{"noise":null,"riot":true}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		if result, err := decodeCommunity(body); err == nil {
			if !result.Observed {
				t.Error("a 200 response decoded with Observed false")
			}
			if result.Classification == "" {
				t.Error("a 200 response decoded with an empty classification")
			}
		} else if result != nil {
			t.Errorf("decodeCommunity returned a result and the error %v", err)
		}

		if result, err := decodeNotObserved(body); err == nil {
			if result.Observed || result.Classification != ClassificationUnknown {
				t.Errorf("a 404 response decoded as %+v, want not observed and unknown", result)
			}
		} else if result != nil {
			t.Errorf("decodeNotObserved returned a result and the error %v", err)
		}

		_ = errorMessage(body)
	})
}
