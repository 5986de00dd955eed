package enrich

import (
	"bytes"
	"testing"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// FuzzDecodeValue feeds cache entry values, which another replica or an
// older release may have written, to the decoder of every provider. A value
// that decodes must be accepted by checkValue, and encoding it must be
// stable: decoding and encoding again gives the same bytes. (The values
// themselves may differ in an empty list against a nil one.)
func FuzzDecodeValue(f *testing.F) {
	f.Add([]byte(`{"abuse_confidence_score":100,"is_whitelisted":false,"country_code":"CN"}`))
	f.Add([]byte(`{"observed":false,"noise":false,"riot":false,"classification":"unknown"}`))
	f.Add([]byte(`{"pulse_count":39,"validation":["whitelist"],"asn":"AS45090"}`))
	f.Add([]byte(`{"country_code":"US","asn":"AS15169","as_name":"Google LLC"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Add([]byte(`{"pulse_count":"many"}`))
	f.Add([]byte(`[1,2,3]`))

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range intel.Providers {
			value, err := decodeValue(name, data)
			if err != nil {
				continue
			}
			if err := checkValue(name, value); err != nil {
				t.Fatalf("%s: decoded %T that checkValue rejects: %v", name, value, err)
			}
			encoded, err := encodeValue(value)
			if err != nil {
				t.Fatalf("%s: encoding the decoded %#v: %v", name, value, err)
			}
			again, err := decodeValue(name, encoded)
			if err != nil {
				t.Fatalf("%s: decoding the re-encoded %s: %v", name, encoded, err)
			}
			reencoded, err := encodeValue(again)
			if err != nil {
				t.Fatalf("%s: encoding %#v: %v", name, again, err)
			}
			if !bytes.Equal(encoded, reencoded) {
				t.Fatalf("%s: round trip changed %s into %s", name, encoded, reencoded)
			}
		}
	})
}
