package enrich

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// encodeValue returns the cache form of a result's value: its JSON, or
// "null" for a not-found result without a value.
func encodeValue(v any) ([]byte, error) {
	return json.Marshal(v)
}

// decodeValue parses a cached value of provider name back into its intel
// result type. "null" decodes to a nil value.
func decodeValue(name intel.Provider, data []byte) (any, error) {
	if len(bytes.TrimSpace(data)) == 0 || bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil, nil
	}
	var target any
	switch name {
	case intel.AbuseIPDB:
		target = new(intel.AbuseIPDBResult)
	case intel.GreyNoise:
		target = new(intel.GreyNoiseResult)
	case intel.OTX:
		target = new(intel.OTXResult)
	case intel.IPinfo:
		target = new(intel.IPinfoResult)
	default:
		return nil, fmt.Errorf("decoding cached %s result: no result type for this provider", name)
	}
	if err := json.Unmarshal(data, target); err != nil {
		return nil, fmt.Errorf("decoding cached %s result: %w", name, err)
	}
	return target, nil
}

// checkValue rejects a value whose type does not match the provider, so
// that a wrong adapter fails its lookup instead of caching a value that
// cannot be read back.
func checkValue(name intel.Provider, v any) error {
	if v == nil {
		return nil
	}
	ok := false
	switch name {
	case intel.AbuseIPDB:
		_, ok = v.(*intel.AbuseIPDBResult)
	case intel.GreyNoise:
		_, ok = v.(*intel.GreyNoiseResult)
	case intel.OTX:
		_, ok = v.(*intel.OTXResult)
	case intel.IPinfo:
		_, ok = v.(*intel.IPinfoResult)
	}
	if !ok {
		return fmt.Errorf("%s returned a value of type %T, which the engine cannot cache", name, v)
	}
	return nil
}

// attachValue sets the result field of l that matches v's type. checkValue
// has accepted v before.
func attachValue(l *intel.Lookup, v any) {
	switch r := v.(type) {
	case *intel.AbuseIPDBResult:
		l.AbuseIPDB = r
	case *intel.GreyNoiseResult:
		l.GreyNoise = r
	case *intel.OTXResult:
		l.OTX = r
	case *intel.IPinfoResult:
		l.IPinfo = r
	}
}
