package geoip

import (
	"errors"
	"strconv"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

// Size limits for the strings a record may carry. A longer value makes the
// record fail to decode, so a damaged database cannot make a lookup allocate
// megabytes.
const (
	maxCodeSize = 16   // a country code or an "AS15169" string
	maxNameSize = 1024 // an AS organization name
)

// record is the part of one database record that a lookup uses. It reads
// both record layouts, so one type serves every supported database:
//
//   - MaxMind (GeoLite2, GeoIP2, DB-IP Lite): country.iso_code,
//     registered_country.iso_code, autonomous_system_number and
//     autonomous_system_organization.
//   - IPinfo Lite: country_code, country (a country name), asn ("AS15169")
//     and as_name. The older IPinfo country_asn layout stores the code in
//     country, which is why a two-letter country string is read as a code.
//
// NOTE: the IPinfo layouts are tested with hand-encoded records only. No
// IPinfo Lite file was available to open, so this package has never read
// its metadata or search tree.
type record struct {
	countryISO    string // country.iso_code, or a two-letter country string
	countryCode   string // country_code
	registeredISO string // registered_country.iso_code
	asNumber      uint64 // autonomous_system_number, or asn stored as an integer
	asText        string // asn stored as a string
	asOrg         string // autonomous_system_organization
	asName        string // as_name
}

// UnmarshalMaxMindDBCursor decodes a record from its map, skipping the keys
// it does not use and any value whose kind differs from the layouts above.
// A record that is not a map decodes as empty.
func (rec *record) UnmarshalMaxMindDBCursor(cursor mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	kind, err := cursor.Kind()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	if kind != mmdbdata.KindMap {
		return cursor.Skip()
	}

	entries, err := cursor.Map()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	var next mmdbdata.Cursor
	for {
		key, value, ok := entries.Next(next)
		if !ok {
			break
		}
		switch string(key) {
		case "country":
			next, err = readCountry(value, &rec.countryISO)
		case "registered_country":
			next, err = readISOCode(value, &rec.registeredISO)
		case "country_code":
			next, err = readString(value, maxCodeSize, &rec.countryCode)
		case "autonomous_system_number":
			next, err = readUint(value, &rec.asNumber)
		case "asn":
			next, err = readASN(value, rec)
		case "autonomous_system_organization":
			next, err = readString(value, maxNameSize, &rec.asOrg)
		case "as_name":
			next, err = readString(value, maxNameSize, &rec.asName)
		default:
			next, err = value.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return entries.End()
}

// readCountry reads "country", a map in the MaxMind layout and a string in
// the IPinfo layouts. Only a two-letter string is kept, because IPinfo Lite
// stores the country name there and its code in country_code.
func readCountry(value mmdbdata.Cursor, dst *string) (mmdbdata.Cursor, error) {
	kind, err := value.Kind()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	switch kind {
	case mmdbdata.KindMap:
		return readISOCode(value, dst)
	case mmdbdata.KindString:
		var text string
		next, err := readString(value, maxNameSize, &text)
		if err == nil && len(text) == 2 {
			*dst = text
		}
		return next, err
	default:
		return value.Skip()
	}
}

// readISOCode reads iso_code from a MaxMind country map.
func readISOCode(value mmdbdata.Cursor, dst *string) (mmdbdata.Cursor, error) {
	kind, err := value.Kind()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	if kind != mmdbdata.KindMap {
		return value.Skip()
	}

	entries, err := value.Map()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	var next mmdbdata.Cursor
	for {
		key, field, ok := entries.Next(next)
		if !ok {
			break
		}
		if string(key) == "iso_code" {
			next, err = readString(field, maxCodeSize, dst)
		} else {
			next, err = field.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return entries.End()
}

// readASN reads "asn": a string such as "AS15169" in IPinfo Lite, an integer
// in some other databases.
func readASN(value mmdbdata.Cursor, rec *record) (mmdbdata.Cursor, error) {
	kind, err := value.Kind()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	switch kind {
	case mmdbdata.KindString:
		return readString(value, maxCodeSize, &rec.asText)
	case mmdbdata.KindUint16, mmdbdata.KindUint32, mmdbdata.KindUint64:
		return readUint(value, &rec.asNumber)
	default:
		return value.Skip()
	}
}

// readString reads a string value into dst, or skips a value of another kind.
func readString(value mmdbdata.Cursor, maxSize uint64, dst *string) (mmdbdata.Cursor, error) {
	text, next, err := value.ReadStringMaxSize(maxSize)
	if err == nil {
		*dst = text
		return next, nil
	}
	if isKindMismatch(err) {
		return value.Skip()
	}
	return mmdbdata.Cursor{}, err
}

// readUint reads an unsigned integer into dst, or skips a value of another kind.
func readUint(value mmdbdata.Cursor, dst *uint64) (mmdbdata.Cursor, error) {
	number, next, err := value.ReadUint()
	if err == nil {
		*dst = number
		return next, nil
	}
	if isKindMismatch(err) {
		return value.Skip()
	}
	return mmdbdata.Cursor{}, err
}

func isKindMismatch(err error) bool {
	var mismatch mmdbdata.UnexpectedKindError
	return errors.As(err, &mismatch)
}

// country returns the record's country as an upper-case ISO 3166-1 alpha-2
// code, or "". The geolocated country comes first, then IPinfo's code, then
// the country where the network is registered, which GeoLite2 records carry
// alone for some anycast and satellite networks.
func (rec *record) country() string {
	for _, code := range [...]string{rec.countryISO, rec.countryCode, rec.registeredISO} {
		if normalized, ok := normalizeCountry(code); ok {
			return normalized
		}
	}
	return ""
}

// asn returns the record's AS number in the "AS15169" form, or "".
func (rec *record) asn() string {
	if rec.asNumber != 0 {
		return "AS" + strconv.FormatUint(rec.asNumber, 10)
	}
	return normalizeASN(rec.asText)
}

// asOrganization returns the AS organization name, or "".
func (rec *record) asOrganization() string {
	if rec.asOrg != "" {
		return rec.asOrg
	}
	return rec.asName
}

// normalizeCountry upper-cases a two-letter code and rejects anything else.
func normalizeCountry(code string) (string, bool) {
	if len(code) != 2 || !isASCIILetter(code[0]) || !isASCIILetter(code[1]) {
		return "", false
	}
	if code[0] >= 'a' || code[1] >= 'a' {
		code = strings.ToUpper(code)
	}
	return code, true
}

func isASCIILetter(b byte) bool {
	return ('A' <= b && b <= 'Z') || ('a' <= b && b <= 'z')
}

// normalizeASN turns "AS15169", "as15169" and "15169" into "AS15169". It
// returns "" for an empty string, AS0 and anything that is not a number.
func normalizeASN(text string) string {
	if text == "" {
		return ""
	}
	digits := text
	if len(digits) >= 2 && (digits[0] == 'A' || digits[0] == 'a') && (digits[1] == 'S' || digits[1] == 's') {
		digits = digits[2:]
	}
	number, err := strconv.ParseUint(digits, 10, 32)
	if err != nil || number == 0 {
		return ""
	}
	if len(text) == len(digits)+2 && text[0] == 'A' && text[1] == 'S' && digits[0] != '0' {
		return text
	}
	return "AS" + strconv.FormatUint(number, 10)
}
