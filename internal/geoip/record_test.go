package geoip

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

// The test encoder below writes values of the MaxMind DB data section, so
// records of layouts the corpus has no database for (IPinfo Lite, IPinfo
// country_asn, odd field kinds) can be decoded. It covers the kinds those
// records use.

// entries is an MMDB map whose keys keep their order.
type entries []entry

type entry struct {
	key   string
	value any
}

// uint16Value, uint64Value and int32Value select an integer kind. A plain
// uint32 is encoded as MMDB uint32.
type (
	uint16Value uint16
	uint64Value uint64
	int32Value  int32
)

// encodeValue encodes v in the MMDB data format.
func encodeValue(v any) []byte {
	switch v := v.(type) {
	case string:
		return append(control(2, len(v)), v...)
	case uint16Value:
		return withPayload(control(5, 0), bigEndian(uint64(v)))
	case uint32:
		return withPayload(control(6, 0), bigEndian(uint64(v)))
	case uint64Value:
		return withPayload(extendedControl(9, 0), bigEndian(uint64(v)))
	case int32Value:
		payload := binary.BigEndian.AppendUint32(nil, uint32(v))
		return append(extendedControl(8, len(payload)), payload...)
	case bool:
		size := 0
		if v {
			size = 1
		}
		return extendedControl(14, size)
	case entries:
		out := control(7, len(v))
		for _, e := range v {
			out = append(out, encodeValue(e.key)...)
			out = append(out, encodeValue(e.value)...)
		}
		return out
	case []any:
		out := extendedControl(11, len(v))
		for _, element := range v {
			out = append(out, encodeValue(element)...)
		}
		return out
	default:
		panic("encodeValue: unsupported type")
	}
}

// control returns the control byte(s) of a type with a size. Sizes of 29
// and more take extra bytes.
func control(typeNumber, size int) []byte {
	switch {
	case size < 29:
		return []byte{byte(typeNumber<<5 | size)}
	case size < 285:
		return []byte{byte(typeNumber<<5 | 29), byte(size - 29)}
	default:
		rest := size - 285
		return []byte{byte(typeNumber<<5 | 30), byte(rest >> 8), byte(rest)}
	}
}

// extendedControl returns the control bytes of a type numbered above 7.
func extendedControl(typeNumber, size int) []byte {
	out := control(0, size)
	return append(out[:1], append([]byte{byte(typeNumber - 7)}, out[1:]...)...)
}

// withPayload sets the size in a one-byte or extended control and appends
// the payload.
func withPayload(ctrl, payload []byte) []byte {
	ctrl[0] |= byte(len(payload))
	return append(ctrl, payload...)
}

// bigEndian returns n in the fewest big-endian bytes.
func bigEndian(n uint64) []byte {
	var out []byte
	for ; n > 0; n >>= 8 {
		out = append([]byte{byte(n)}, out...)
	}
	return out
}

// decodeRecord decodes an encoded value as a record.
func decodeRecord(data []byte) (record, error) {
	var rec record
	_, err := rec.UnmarshalMaxMindDBCursor(mmdbdata.NewDecoder(data, 0).Cursor())
	return rec, err
}

func TestRecordLayouts(t *testing.T) {
	names := entries{{"en", "United Kingdom"}, {"de", "Vereinigtes Königreich"}}
	tests := []struct {
		name   string
		value  any
		want   Result
		wantOK bool
	}{
		{
			name: "ipinfo lite",
			value: entries{
				{"asn", "AS15169"}, {"as_name", "Google LLC"}, {"as_domain", "google.com"},
				{"country_code", "US"}, {"country", "United States"},
				{"continent_code", "NA"}, {"continent", "North America"},
			},
			want: Result{CountryCode: "US", ASN: "AS15169", ASName: "Google LLC"}, wantOK: true,
		},
		{
			name:  "ipinfo lite without asn",
			value: entries{{"country_code", "GB"}, {"country", "United Kingdom"}, {"asn", ""}, {"as_name", ""}},
			want:  Result{CountryCode: "GB"}, wantOK: true,
		},
		{
			name:  "ipinfo country_asn",
			value: entries{{"country", "gb"}, {"country_name", "United Kingdom"}, {"asn", "as2856"}, {"as_name", "British Telecommunications PLC"}},
			want:  Result{CountryCode: "GB", ASN: "AS2856", ASName: "British Telecommunications PLC"}, wantOK: true,
		},
		{
			name: "maxmind country",
			value: entries{
				{"continent", entries{{"code", "EU"}, {"names", names}}},
				{"country", entries{{"geoname_id", uint32(2635167)}, {"iso_code", "GB"}, {"names", names}, {"is_in_european_union", false}}},
				{"registered_country", entries{{"iso_code", "FR"}}},
			},
			want: Result{CountryCode: "GB"}, wantOK: true,
		},
		{
			name:  "maxmind registered country only",
			value: entries{{"registered_country", entries{{"iso_code", "DE"}, {"names", names}}}},
			want:  Result{CountryCode: "DE"}, wantOK: true,
		},
		{
			name:  "maxmind asn as uint16",
			value: entries{{"autonomous_system_number", uint16Value(209)}},
			want:  Result{ASN: "AS209"}, wantOK: true,
		},
		{
			name:  "maxmind asn as uint64",
			value: entries{{"autonomous_system_number", uint64Value(4200000000)}, {"autonomous_system_organization", "Private Use"}},
			want:  Result{ASN: "AS4200000000", ASName: "Private Use"}, wantOK: true,
		},
		{
			name:  "asn as integer",
			value: entries{{"asn", uint32(64500)}, {"as_name", "Example"}},
			want:  Result{ASN: "AS64500", ASName: "Example"}, wantOK: true,
		},
		{
			name:  "asn digits only",
			value: entries{{"asn", "15169"}},
			want:  Result{ASN: "AS15169"}, wantOK: true,
		},
		{
			name:  "maxmind organization preferred over as_name",
			value: entries{{"autonomous_system_number", uint32(1)}, {"autonomous_system_organization", "A"}, {"as_name", "B"}},
			want:  Result{ASN: "AS1", ASName: "A"}, wantOK: true,
		},
		{
			name:  "lower-case iso code",
			value: entries{{"country", entries{{"iso_code", "se"}}}},
			want:  Result{CountryCode: "SE"}, wantOK: true,
		},
		{
			name:  "invalid country codes",
			value: entries{{"country", entries{{"iso_code", "GBR"}}}, {"country_code", "1A"}, {"registered_country", entries{{"iso_code", ""}}}},
		},
		{
			name:  "field kinds that differ are skipped",
			value: entries{{"country", entries{{"iso_code", uint32(826)}}}, {"autonomous_system_number", "AS1"}, {"as_name", []any{"x"}}, {"country_code", true}},
		},
		{
			name:  "country of another kind is skipped",
			value: entries{{"country", uint32(826)}, {"registered_country", "GB"}, {"country_code", "NL"}},
			want:  Result{CountryCode: "NL"}, wantOK: true,
		},
		{
			name:  "signed asn is skipped",
			value: entries{{"asn", int32Value(-1)}, {"autonomous_system_number", int32Value(5)}},
		},
		{
			name:  "asn zero",
			value: entries{{"autonomous_system_number", uint32(0)}, {"asn", "AS0"}},
		},
		{
			name:  "record not a map",
			value: "GB",
		},
		{
			name:  "empty map",
			value: entries{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := decodeRecord(encodeValue(tt.value))
			if err != nil {
				t.Fatalf("decoding: %v", err)
			}
			got := Result{CountryCode: rec.country(), ASN: rec.asn(), ASName: rec.asOrganization()}
			if got != tt.want {
				t.Errorf("record = %+v, want %+v", got, tt.want)
			}
			if found := got != (Result{}); found != tt.wantOK {
				t.Errorf("found = %v, want %v", found, tt.wantOK)
			}
		})
	}
}

func TestRecordRejectsDamage(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{name: "empty input", data: nil},
		{name: "map shorter than declared", data: encodeValue(entries{{"asn", "AS1"}})[:4]},
		{name: "as name over the limit", data: encodeValue(entries{{"as_name", strings.Repeat("x", maxNameSize+1)}})},
		{name: "country code over the limit", data: encodeValue(entries{{"country_code", strings.Repeat("x", maxCodeSize+1)}})},
		{name: "nested map truncated", data: encodeValue(entries{{"country", entries{{"iso_code", "GB"}}}})[:10]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeRecord(tt.data); err == nil {
				t.Error("decoding succeeded, want an error")
			}
		})
	}
}

func TestNormalizeASN(t *testing.T) {
	tests := map[string]string{
		"AS15169":        "AS15169",
		"as15169":        "AS15169",
		"As15169":        "AS15169",
		"15169":          "AS15169",
		"AS015169":       "AS15169",
		"AS4294967295":   "AS4294967295",
		"AS4294967296":   "",
		"AS0":            "",
		"":               "",
		"AS":             "",
		"ASN15169":       "",
		"AS-1":           "",
		"AS15169 Google": "",
	}
	for in, want := range tests {
		if got := normalizeASN(in); got != want {
			t.Errorf("normalizeASN(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeCountry(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"GB", "GB", true},
		{"gb", "GB", true},
		{"Gb", "GB", true},
		{"", "", false},
		{"G", "", false},
		{"GBR", "", false},
		{"G1", "", false},
		{"é", "", false},
	}
	for _, tt := range tests {
		got, ok := normalizeCountry(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("normalizeCountry(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}
