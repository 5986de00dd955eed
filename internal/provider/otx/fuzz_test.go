package otx

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/threat-intel/threat-intel/internal/provider/providertest"
)

func FuzzDecodeGeneral(f *testing.F) {
	f.Add(shrinkGeneral(f, providertest.APIFile(f, "otx-indicators-ipv4-general-checkip.json")))
	f.Add(readTestdata(f, "general-ipv6-validated.json"))
	f.Add([]byte(`{"pulse_info":{"count":-1}}`))
	f.Add([]byte(`{"pulse_info":{"count":0},"validation":[null,"",{"source":" "}]}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		result, err := decodeGeneral(body)
		if err != nil {
			if result != nil {
				t.Errorf("decodeGeneral returned a result and the error %v", err)
			}
			return
		}
		if result.PulseCount < 0 {
			t.Errorf("negative pulse count %d accepted", result.PulseCount)
		}
		for i, label := range result.Validation {
			if label == "" {
				t.Errorf("validation[%d] is empty", i)
			}
			if slices.Contains(result.Validation[:i], label) {
				t.Errorf("validation label %q repeated", label)
			}
		}
		_ = errorMessage(body)
	})
}

// shrinkGeneral keeps only the first pulse of a general section. The Go
// fuzzer stalls on a seed as large as the full 84 KB response.
func shrinkGeneral(f *testing.F, body []byte) []byte {
	f.Helper()
	var section map[string]any
	if err := json.Unmarshal(body, &section); err != nil {
		f.Fatal(err)
	}
	if info, ok := section["pulse_info"].(map[string]any); ok {
		if pulses, ok := info["pulses"].([]any); ok && len(pulses) > 1 {
			info["pulses"] = pulses[:1]
		}
	}
	small, err := json.Marshal(section)
	if err != nil {
		f.Fatal(err)
	}
	return small
}
