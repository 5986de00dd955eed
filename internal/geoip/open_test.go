package geoip

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(data); err != nil {
		t.Fatalf("compressing: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("compressing: %v", err)
	}
	return buf.Bytes()
}

// tarHeader returns the start of a tar archive: a 512-byte header block
// with the "ustar" magic at offset 257.
func tarHeader() []byte {
	header := make([]byte, 1024)
	copy(header, "GeoLite2-ASN_20250101/GeoLite2-ASN.mmdb")
	copy(header[257:], "ustar\x0000")
	return header
}

func TestOpenRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	emptyDir := filepath.Join(dir, "empty")
	mmdbDirectory := filepath.Join(dir, "GeoIP")
	for _, d := range []string{emptyDir, mmdbDirectory} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, mmdbDirectory, "GeoLite2-ASN.mmdb", readCorpusDB(t, asnTestDB))
	asnDB := readCorpusDB(t, asnTestDB)

	tests := []struct {
		name     string
		opts     Options
		variable string
		path     string
		is       error    // errors.Is target, if any
		contains []string // message parts besides the variable and the path
	}{
		{
			name:     "missing file",
			opts:     Options{ASNPath: filepath.Join(dir, "missing.mmdb")},
			variable: "GEOIP_ASN_DB", is: fs.ErrNotExist,
			contains: []string{"reading", "no such file", "leave GEOIP_ASN_DB empty"},
		},
		{
			name:     "directory without databases",
			opts:     Options{CountryPath: emptyDir},
			variable: "GEOIP_COUNTRY_DB",
			contains: []string{"is a directory", "path of a .mmdb file"},
		},
		{
			name:     "directory with a database",
			opts:     Options{ASNPath: mmdbDirectory},
			variable: "GEOIP_ASN_DB",
			contains: []string{"is a directory", "GeoLite2-ASN.mmdb"},
		},
		{
			name:     "device",
			opts:     Options{ASNPath: os.DevNull},
			variable: "GEOIP_ASN_DB",
			contains: []string{"not a regular file"},
		},
		{
			name:     "empty file",
			opts:     Options{ASNPath: writeFile(t, dir, "empty.mmdb", nil)},
			variable: "GEOIP_ASN_DB",
			contains: []string{"file is empty", "geoipupdate"},
		},
		{
			name:     "text file",
			opts:     Options{CountryPath: writeFile(t, dir, "blocks.csv", []byte("network,geoname_id\n1.0.0.0/24,2077456\n"))},
			variable: "GEOIP_COUNTRY_DB", is: ErrNotDatabase,
			contains: []string{"opening", "not a MaxMind DB file", "MMDB edition"},
		},
		{
			name:     "gzip file",
			opts:     Options{ASNPath: writeFile(t, dir, "GeoLite2-ASN.mmdb.gz", gzipped(t, asnDB))},
			variable: "GEOIP_ASN_DB", is: ErrNotDatabase,
			contains: []string{"gzip-compressed", "decompress"},
		},
		{
			name:     "tar archive",
			opts:     Options{ASNPath: writeFile(t, dir, "GeoLite2-ASN.tar", tarHeader())},
			variable: "GEOIP_ASN_DB", is: ErrNotDatabase,
			contains: []string{"tar archive", "extract"},
		},
		{
			name:     "truncated database",
			opts:     Options{ASNPath: writeFile(t, dir, "truncated.mmdb", asnDB[:len(asnDB)/2])},
			variable: "GEOIP_ASN_DB", is: ErrNotDatabase,
			contains: []string{"not a MaxMind DB file"},
		},
		{
			name:     "country database as asn",
			opts:     Options{ASNPath: corpusDB(t, countryTestDB)},
			variable: "GEOIP_ASN_DB", is: ErrWrongType,
			contains: []string{`"GeoLite2-Country"`, "no AS numbers", "ASN database"},
		},
		{
			name:     "city database as asn",
			opts:     Options{ASNPath: corpusDB(t, cityTestDB)},
			variable: "GEOIP_ASN_DB", is: ErrWrongType,
			contains: []string{`"GeoLite2-City"`, "no AS numbers"},
		},
		{
			name:     "asn database as country",
			opts:     Options{CountryPath: corpusDB(t, asnTestDB)},
			variable: "GEOIP_COUNTRY_DB", is: ErrWrongType,
			contains: []string{`"GeoLite2-ASN"`, "no country codes", "country database"},
		},
		{
			name:     "isp database as country",
			opts:     Options{CountryPath: corpusDB(t, ispTestDB)},
			variable: "GEOIP_COUNTRY_DB", is: ErrWrongType,
			contains: []string{`"GeoIP2-ISP"`, "no country codes"},
		},
		{
			name:     "one file for both without asn",
			opts:     Options{ASNPath: corpusDB(t, countryTestDB), CountryPath: corpusDB(t, countryTestDB)},
			variable: "GEOIP_ASN_DB and GEOIP_COUNTRY_DB", is: ErrWrongType,
			contains: []string{"no AS numbers", "IPinfo Lite"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(tt.opts)
			if err == nil {
				_ = r.Close()
				t.Fatal("Open succeeded, want an error")
			}

			var dbErr *DatabaseError
			if !errors.As(err, &dbErr) {
				t.Fatalf("error %v is not a *DatabaseError", err)
			}
			if dbErr.Variable != tt.variable {
				t.Errorf("Variable = %q, want %q", dbErr.Variable, tt.variable)
			}
			path := tt.opts.ASNPath
			if path == "" {
				path = tt.opts.CountryPath
			}
			if dbErr.Path != path {
				t.Errorf("Path = %q, want %q", dbErr.Path, path)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}

			message := err.Error()
			for _, part := range append([]string{tt.variable, path}, tt.contains...) {
				if !strings.Contains(message, part) {
					t.Errorf("message %q does not contain %q", message, part)
				}
			}
			if strings.Count(message, path) != 1 {
				t.Errorf("message %q names the path %d times, want once", message, strings.Count(message, path))
			}
		})
	}
}

func TestOpenReportsEveryBadVariable(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(Options{
		ASNPath:     filepath.Join(dir, "asn.mmdb"),
		CountryPath: filepath.Join(dir, "country.mmdb"),
	})
	if err == nil {
		t.Fatal("Open succeeded, want an error")
	}
	for _, variable := range []string{"GEOIP_ASN_DB", "GEOIP_COUNTRY_DB"} {
		if !strings.Contains(err.Error(), variable) {
			t.Errorf("error %q does not name %s", err, variable)
		}
	}
}

func TestOpenWithoutPathsFindsNothing(t *testing.T) {
	r := openReader(t, Options{})
	if got, found := r.Lookup(netip.MustParseAddr("1.0.0.1")); found || got != (Result{}) {
		t.Errorf("Lookup = %+v, %v; want not found", got, found)
	}
	if infos := r.Databases(); len(infos) != 0 {
		t.Errorf("Databases = %+v, want none", infos)
	}
	if err := r.Refresh(t.Context()); err != nil {
		t.Errorf("Refresh: %v", err)
	}
}

func TestNewSourcesMergesOneFile(t *testing.T) {
	tests := []struct {
		name        string
		asn         string
		country     string
		wantSources int
		wantRoles   role
	}{
		{name: "same path", asn: "/var/lib/GeoIP/ipinfo_lite.mmdb", country: "/var/lib/GeoIP/ipinfo_lite.mmdb", wantSources: 1, wantRoles: roleASN | roleCountry},
		{name: "same path spelled twice", asn: "/var/lib/GeoIP/ipinfo_lite.mmdb", country: "/var/lib/GeoIP/./ipinfo_lite.mmdb", wantSources: 1, wantRoles: roleASN | roleCountry},
		{name: "two files", asn: "/var/lib/GeoIP/GeoLite2-ASN.mmdb", country: "/var/lib/GeoIP/GeoLite2-Country.mmdb", wantSources: 2, wantRoles: roleASN},
		{name: "asn only", asn: "/var/lib/GeoIP/GeoLite2-ASN.mmdb", wantSources: 1, wantRoles: roleASN},
		{name: "country only", country: "/var/lib/GeoIP/GeoLite2-Country.mmdb", wantSources: 1, wantRoles: roleCountry},
		{name: "none", wantSources: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sources := newSources(tt.asn, tt.country)
			if len(sources) != tt.wantSources {
				t.Fatalf("sources = %d, want %d", len(sources), tt.wantSources)
			}
			if len(sources) > 0 && sources[0].roles != tt.wantRoles {
				t.Errorf("first source roles = %b, want %b", sources[0].roles, tt.wantRoles)
			}
		})
	}
}
