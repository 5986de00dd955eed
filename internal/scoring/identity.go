package scoring

import (
	"fmt"
	"strings"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// setIdentity fills the country, organisation and autonomous system of rec
// from the providers that answered.
func setIdentity(rec *intel.Intel, a answers) {
	rec.Country = country(a)

	var ipinfoASN uint32
	var ipinfoOrgName string
	if r := a.ipinfo; r != nil {
		ipinfoASN, _ = parseASN(r.ASN)
		var orgASN uint32
		orgASN, ipinfoOrgName = parseASN(r.Org)
		if ipinfoASN == 0 {
			ipinfoASN = orgASN
		}
	}
	var otxASN uint32
	var otxName string
	if r := a.otx; r != nil {
		otxASN, otxName = parseASN(r.ASN)
		if otxASN == 0 {
			// An OTX asn field without a number carries no usable name either.
			otxName = ""
		}
	}

	// The local database comes after IPinfo, which it stands in for when
	// IPinfo is not configured or failed, and before OTX.
	var geoASN uint32
	var geoName string
	if r := a.geoip; r != nil {
		geoASN, _ = parseASN(r.ASN)
		geoName = strings.TrimSpace(r.ASName)
	}

	switch {
	case ipinfoASN != 0:
		rec.ASN = fmt.Sprintf("AS%d", ipinfoASN)
	case geoASN != 0:
		rec.ASN = fmt.Sprintf("AS%d", geoASN)
	case otxASN != 0:
		rec.ASN = fmt.Sprintf("AS%d", otxASN)
	}

	var ipinfoASName string
	if a.ipinfo != nil {
		ipinfoASName = strings.TrimSpace(a.ipinfo.ASName)
	}
	rec.ASName = firstNonEmpty(ipinfoASName, ipinfoOrgName, geoName, otxName)

	var isp string
	if a.abuseIPDB != nil {
		isp = strings.TrimSpace(a.abuseIPDB.ISP)
	}
	rec.Org = firstNonEmpty(ipinfoASName, ipinfoOrgName, geoName, isp, otxName)
}

// country returns the first ISO 3166-1 alpha-2 code among IPinfo
// country_code, IPinfo country (a code in the full API, a full name in the
// Lite API), the local database, AbuseIPDB countryCode and OTX
// country_code, or "".
func country(a answers) string {
	var candidates []string
	if r := a.ipinfo; r != nil {
		candidates = append(candidates, r.CountryCode, r.Country)
	}
	if r := a.geoip; r != nil {
		candidates = append(candidates, r.CountryCode)
	}
	if r := a.abuseIPDB; r != nil {
		candidates = append(candidates, r.CountryCode)
	}
	if r := a.otx; r != nil {
		candidates = append(candidates, r.CountryCode)
	}

	for _, c := range candidates {
		if code, ok := alpha2(c); ok {
			return code
		}
	}
	return ""
}

// alpha2 returns s in upper case when it is two ASCII letters.
// NOTE: any two letters pass, including user-assigned codes such as "XX",
// because there is no table of the assigned ISO 3166-1 codes here.
func alpha2(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 2 {
		return "", false
	}
	for i := range len(s) {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return "", false
		}
	}
	return strings.ToUpper(s), true
}

// organisationNames lists the distinct organisation names the providers
// gave, for matching benign names when no ASN is known.
func organisationNames(a answers) []string {
	var names []string
	add := func(name string) {
		name = strings.TrimSpace(name)
		if name == "" {
			return
		}
		for _, n := range names {
			if strings.EqualFold(n, name) {
				return
			}
		}
		names = append(names, name)
	}

	if r := a.ipinfo; r != nil {
		add(r.ASName)
		_, orgName := parseASN(r.Org)
		add(orgName)
	}
	if r := a.geoip; r != nil {
		add(r.ASName)
	}
	if r := a.abuseIPDB; r != nil {
		add(r.ISP)
	}
	if r := a.otx; r != nil {
		add(r.ASN)
	}
	return names
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
