package ipinfo

import (
	"errors"
	"testing"

	"github.com/threat-intel/threat-intel/internal/provider"
	"github.com/threat-intel/threat-intel/internal/provider/providertest"
)

func FuzzDecodeLookup(f *testing.F) {
	for _, name := range []string{
		"ipinfo-lite-8.8.8.8-official-docs.json",
		"ipinfo-json-8.8.8.8-unauthenticated-skodnik-readme.json",
		"ipinfo-error-429-unauthenticated.json",
	} {
		f.Add(providertest.APIFile(f, name))
	}
	f.Add(readTestdata(f, "full-asn-object.json"))
	f.Add([]byte(`{"ip":"203.0.113.5","bogon":true}`))
	f.Add([]byte(`{"ip":"203.0.113.5","asn":null,"org":"AS"}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		for _, mode := range []Mode{ModeLite, ModeFull} {
			result, err := decodeLookup(body, mode)
			if err != nil {
				if result != nil {
					t.Errorf("%s: decodeLookup returned a result and the error %v", mode, err)
				}
				if errors.Is(err, errBogon) != errors.Is(err, provider.ErrNotFound) {
					t.Errorf("%s: error %v matches only one of errBogon and ErrNotFound", mode, err)
				}
				continue
			}
			if result == nil {
				t.Errorf("%s: decodeLookup returned neither a result nor an error", mode)
			}
		}
		if asn, _ := splitOrg(string(body)); asn != "" && !isASNumber(asn) {
			t.Errorf("splitOrg took %q as an AS number", asn)
		}
		_ = errorMessage(body)
	})
}

func FuzzDecodeBatch(f *testing.F) {
	lite := providertest.APIFile(f, "ipinfo-lite-8.8.8.8-official-docs.json")
	f.Add(append(append([]byte(`{"8.8.8.8":`), lite...), '}'))
	f.Add([]byte(`{"203.0.113.1":{"ip":"203.0.113.1","bogon":true},"203.0.113.2":"US"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))

	f.Fuzz(func(t *testing.T, body []byte) {
		entries, err := decodeBatch(body)
		if err != nil {
			if entries != nil {
				t.Errorf("decodeBatch returned entries and the error %v", err)
			}
			return
		}
		if entries == nil {
			t.Error("decodeBatch returned a nil map without an error")
		}
		for _, raw := range entries {
			_, _ = decodeLookup(raw, ModeLite)
		}
	})
}
