package abuseipdb

import (
	"testing"

	"github.com/threat-intel/threat-intel/internal/provider/providertest"
)

func FuzzDecodeCheck(f *testing.F) {
	for _, name := range []string{
		"abuseipdb-check-verbose-docs.json",
		"abuseipdb-check-verbose-checkip.json",
		"abuseipdb-check-verbose-ciscosecurity.json",
		"abuseipdb-error-422-docs.json",
	} {
		f.Add(providertest.APIFile(f, name))
	}
	f.Add([]byte(`{"data":{"abuseConfidenceScore":null}}`))
	f.Add([]byte(`{"data":null}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		result, err := decodeCheck(body)
		if err != nil {
			if result != nil {
				t.Errorf("decodeCheck returned a result and the error %v", err)
			}
			return
		}
		if result.AbuseConfidenceScore < 0 || result.AbuseConfidenceScore > 100 {
			t.Errorf("score %d accepted outside 0 to 100", result.AbuseConfidenceScore)
		}
		if result.TotalReports < 0 {
			t.Errorf("negative totalReports %d accepted", result.TotalReports)
		}
		_ = errorDetail(body)
	})
}
