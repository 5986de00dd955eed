package ports

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	c := Default()
	tests := []struct {
		name     string
		port     uint16
		protocol string
		service  string
		risk     Risk
	}{
		{"ssh over tcp", 22, "tcp", "SSH", RiskHigh},
		{"ssh port over udp is unknown", 22, "udp", UnknownService, RiskMedium},
		{"protocol in upper case", 22, "TCP", "SSH", RiskHigh},
		{"dns over tcp", 53, "tcp", "DNS", RiskMedium},
		{"dns over udp", 53, "udp", "DNS", RiskMedium},
		{"snmp over udp", 161, "udp", "SNMP", RiskHigh},
		{"snmp port over tcp is unknown", 161, "tcp", UnknownService, RiskMedium},
		{"ntp over udp", 123, "udp", "NTP", RiskMedium},
		{"https over tcp", 443, "tcp", "HTTPS", RiskLow},
		{"quic over udp", 443, "udp", "QUIC", RiskLow},
		{"ldap over tcp", 389, "tcp", "LDAP", RiskHigh},
		{"cldap over udp", 389, "udp", "CLDAP", RiskHigh},
		{"memcached over tcp", 11211, "tcp", "Memcached", RiskHigh},
		{"memcached over udp", 11211, "udp", "Memcached", RiskCritical},
		{"bare entry matches sctp", 3389, "sctp", "RDP", RiskCritical},
		{"rdp over udp", 3389, "udp", "RDP", RiskCritical},
		{"unlisted port", 40000, "tcp", UnknownService, RiskMedium},
		{"highest port", 65535, "udp", UnknownService, RiskMedium},
		{"port zero", 0, "tcp", UnknownService, RiskMedium},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := c.Lookup(tt.port, tt.protocol)
			if e.Service != tt.service {
				t.Errorf("Lookup(%d, %q).Service = %q, want %q", tt.port, tt.protocol, e.Service, tt.service)
			}
			if e.Risk != tt.risk {
				t.Errorf("Lookup(%d, %q).Risk = %q, want %q", tt.port, tt.protocol, e.Risk, tt.risk)
			}
			if e.Port != tt.port {
				t.Errorf("Lookup(%d, %q).Port = %d", tt.port, tt.protocol, e.Port)
			}
		})
	}
}

func TestLookupUnknownEntry(t *testing.T) {
	e := Default().Lookup(40000, "UDP")
	want := Entry{Port: 40000, Protocol: "udp", Service: "unknown", Risk: RiskMedium}
	if e != want {
		t.Errorf("Lookup(40000, UDP) = %+v, want %+v", e, want)
	}
}

// The 32 ports of the Python service this project replaces keep their
// service names, because dashboards show them as the port_service label.
func TestDefaultReferencePorts(t *testing.T) {
	tests := []struct {
		port     uint16
		protocol string
		service  string
	}{
		{21, "tcp", "FTP"}, {22, "tcp", "SSH"}, {23, "tcp", "Telnet"}, {25, "tcp", "SMTP"},
		{53, "udp", "DNS"}, {80, "tcp", "HTTP"}, {110, "tcp", "POP3"}, {111, "tcp", "RPC"},
		{135, "tcp", "MS-RPC"}, {137, "udp", "NetBIOS-NS"}, {138, "udp", "NetBIOS-DGM"},
		{139, "tcp", "NetBIOS-SSN"}, {143, "tcp", "IMAP"}, {161, "udp", "SNMP"}, {389, "tcp", "LDAP"},
		{443, "tcp", "HTTPS"}, {445, "tcp", "SMB"}, {1433, "tcp", "MSSQL"}, {1521, "tcp", "Oracle"},
		{3306, "tcp", "MySQL"}, {3389, "tcp", "RDP"}, {3390, "tcp", "RDP-Alt"}, {4444, "tcp", "Metasploit"},
		{4899, "tcp", "Radmin"}, {5432, "tcp", "PostgreSQL"}, {5900, "tcp", "VNC"}, {6379, "tcp", "Redis"},
		{8080, "tcp", "HTTP-Alt"}, {8443, "tcp", "HTTPS-Alt"}, {9200, "tcp", "Elasticsearch"},
		{27017, "tcp", "MongoDB"}, {50000, "tcp", "SAP"},
	}
	if len(tests) != 32 {
		t.Fatalf("table has %d reference ports, want 32", len(tests))
	}
	for _, tt := range tests {
		if got := Default().Lookup(tt.port, tt.protocol).Service; got != tt.service {
			t.Errorf("Lookup(%d, %q).Service = %q, want %q", tt.port, tt.protocol, got, tt.service)
		}
	}
}

func TestDefaultRiskChoices(t *testing.T) {
	tests := []struct {
		port     uint16
		protocol string
		risk     Risk
	}{
		{23, "tcp", RiskCritical}, {445, "tcp", RiskCritical}, {3389, "tcp", RiskCritical},
		{5900, "tcp", RiskCritical}, {6379, "tcp", RiskCritical}, {27017, "tcp", RiskCritical},
		{9200, "tcp", RiskCritical}, {4444, "tcp", RiskCritical}, {80, "tcp", RiskLow}, {443, "tcp", RiskLow},
	}
	for _, tt := range tests {
		if got := Default().Lookup(tt.port, tt.protocol).Risk; got != tt.risk {
			t.Errorf("Lookup(%d, %q).Risk = %q, want %q", tt.port, tt.protocol, got, tt.risk)
		}
	}
}

func TestDefaultEntriesValid(t *testing.T) {
	entries := Default().Entries()
	if len(entries) < 90 {
		t.Errorf("embedded catalog has %d entries, want at least 90", len(entries))
	}
	for i, e := range entries {
		if _, ok := parseRisk(string(e.Risk)); !ok {
			t.Errorf("entry %d/%s has invalid risk %q", e.Port, e.Protocol, e.Risk)
		}
		if e.Description == "" {
			t.Errorf("entry %d/%s has no description", e.Port, e.Protocol)
		}
		if i > 0 {
			prev := entries[i-1]
			if prev.Port > e.Port || (prev.Port == e.Port && prev.Protocol >= e.Protocol) {
				t.Errorf("Entries not sorted: %d/%s before %d/%s", prev.Port, prev.Protocol, e.Port, e.Protocol)
			}
		}
	}
}

func TestIsCritical(t *testing.T) {
	tests := []struct {
		risk Risk
		want bool
	}{
		{RiskLow, false},
		{RiskMedium, false},
		{RiskHigh, true},
		{RiskCritical, true},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsCritical(Entry{Risk: tt.risk}); got != tt.want {
			t.Errorf("IsCritical(risk %q) = %v, want %v", tt.risk, got, tt.want)
		}
	}
}

// writeOverride writes content as the override file of a new data directory.
func writeOverride(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, OverrideFile), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadWithoutOverride(t *testing.T) {
	tests := []struct {
		name    string
		dataDir string
	}{
		{"empty data dir", ""},
		{"missing file", t.TempDir()},
		{"missing data dir", filepath.Join(t.TempDir(), "absent")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.dataDir)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got, want := len(c.Entries()), len(Default().Entries()); got != want {
				t.Errorf("catalog has %d entries, want the embedded %d", got, want)
			}
		})
	}
}

func TestLoadOverride(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		port     uint16
		protocol string
		want     Entry
	}{
		{
			name:    "replace with protocol",
			content: `{"22/tcp": {"service": "Mgmt-SSH", "risk_level": "critical", "description": "Management"}}`,
			port:    22, protocol: "tcp",
			want: Entry{Port: 22, Protocol: "tcp", Service: "Mgmt-SSH", Risk: RiskCritical, Description: "Management"},
		},
		{
			name:    "bare port replaces protocol entry",
			content: `{"22": {"service": "Mgmt-SSH", "risk_level": "low"}}`,
			port:    22, protocol: "tcp",
			want: Entry{Port: 22, Service: "Mgmt-SSH", Risk: RiskLow},
		},
		{
			name:    "bare port replaces every protocol",
			content: `{"11211": {"service": "Cache", "risk_level": "low"}}`,
			port:    11211, protocol: "udp",
			want: Entry{Port: 11211, Service: "Cache", Risk: RiskLow},
		},
		{
			name:    "protocol entry refines bare entry written after it",
			content: `{"60000/udp": {"service": "Game", "risk_level": "low"}, "60000": {"service": "App", "risk_level": "high"}}`,
			port:    60000, protocol: "udp",
			want: Entry{Port: 60000, Protocol: "udp", Service: "Game", Risk: RiskLow},
		},
		{
			name:    "add new port",
			content: `{"60000/tcp": {"service": "App", "risk": "HIGH", "description": " In-house app "}}`,
			port:    60000, protocol: "tcp",
			want: Entry{Port: 60000, Protocol: "tcp", Service: "App", Risk: RiskHigh, Description: "In-house app"},
		},
		{
			name:    "embedded entry of another port kept",
			content: `{"22": {"service": "Mgmt-SSH", "risk_level": "low"}}`,
			port:    3389, protocol: "tcp",
			want: Entry{Port: 3389, Service: "RDP", Risk: RiskCritical, Description: "Remote Desktop; brute force, wormable exploits"},
		},
		{
			name:    "agreeing risk and risk_level",
			content: `{"60000": {"service": "App", "risk_level": "high", "risk": "High"}}`,
			port:    60000, protocol: "udp",
			want: Entry{Port: 60000, Service: "App", Risk: RiskHigh},
		},
		{
			name:    "unknown fields ignored",
			content: `{"60000": {"service": "App", "risk_level": "low", "category": "games", "weight": 3}}`,
			port:    60000, protocol: "tcp",
			want: Entry{Port: 60000, Service: "App", Risk: RiskLow},
		},
		{
			name:    "empty object keeps embedded catalog",
			content: `{}`,
			port:    22, protocol: "tcp",
			want: Entry{Port: 22, Protocol: "tcp", Service: "SSH", Risk: RiskHigh, Description: "Secure Shell; credential brute force"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeOverride(t, tt.content))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := c.Lookup(tt.port, tt.protocol); got != tt.want {
				t.Errorf("Lookup(%d, %q) = %+v, want %+v", tt.port, tt.protocol, got, tt.want)
			}
		})
	}
}

func TestLoadLeavesDefaultUnchanged(t *testing.T) {
	if _, err := Load(writeOverride(t, `{"22": {"service": "Other", "risk_level": "low"}}`)); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := Default().Lookup(22, "tcp").Service; got != "SSH" {
		t.Errorf("Default().Lookup(22, tcp).Service = %q after Load, want SSH", got)
	}
}

func TestLoadExampleFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "port_services.example.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(writeOverride(t, string(data)))
	if err != nil {
		t.Fatalf("Load example: %v", err)
	}
	if got := c.Lookup(8080, "tcp"); got.Service != "Proxy" || got.Risk != RiskHigh {
		t.Errorf("Lookup(8080, tcp) = %+v, want Proxy with risk high", got)
	}
	if got := c.Lookup(2222, "tcp"); got.Risk != RiskLow {
		t.Errorf("Lookup(2222, tcp).Risk = %q, want low", got.Risk)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string // substrings the error must contain
	}{
		{
			name:    "invalid JSON",
			content: "{\n  \"22\": {\"service\": \"SSH\", \"risk_level\": \"high\"},\n  \"23\": }\n",
			want:    []string{OverrideFile, "invalid JSON at line 3, column 9", "invalid character '}'"},
		},
		{
			name:    "truncated JSON",
			content: `{"22": {"service": "SSH"`,
			want:    []string{OverrideFile, "invalid JSON at line 1", "unexpected end of JSON input"},
		},
		{
			name:    "trailing data",
			content: `{} {}`,
			want:    []string{"invalid JSON at line 1, column 4"},
		},
		{
			name:    "empty file",
			content: " \n",
			want:    []string{OverrideFile, "file is empty"},
		},
		{
			name:    "array instead of object",
			content: `[{"port": 22}]`,
			want:    []string{"expected a JSON object keyed by port, got an array"},
		},
		{
			name:    "null document",
			content: `null`,
			want:    []string{"got null"},
		},
		{
			name:    "unknown risk level",
			content: `{"22/tcp": {"service": "SSH", "risk_level": "severe"}}`,
			want:    []string{`port "22/tcp"`, `invalid risk_level "severe"`, "low, medium, high, critical"},
		},
		{
			name:    "unknown risk under risk",
			content: `{"22": {"service": "SSH", "risk": "urgent"}}`,
			want:    []string{`port "22"`, `invalid risk "urgent"`, "low, medium, high, critical"},
		},
		{
			name:    "disagreeing risk fields",
			content: `{"22": {"service": "SSH", "risk_level": "high", "risk": "low"}}`,
			want:    []string{`port "22"`, "disagree"},
		},
		{
			name:    "missing risk",
			content: `{"22": {"service": "SSH"}}`,
			want:    []string{`port "22"`, "missing risk_level"},
		},
		{
			name:    "missing service",
			content: `{"22": {"risk_level": "high"}}`,
			want:    []string{`port "22"`, "missing service"},
		},
		{
			name:    "blank service",
			content: `{"22": {"service": "  ", "risk_level": "high"}}`,
			want:    []string{`port "22"`, "missing service"},
		},
		{
			name:    "service not a string",
			content: `{"22": {"service": 22, "risk_level": "high"}}`,
			want:    []string{`port "22"`, `field "service" is a JSON number`},
		},
		{
			name:    "value not an object",
			content: `{"22": "SSH"}`,
			want:    []string{`port "22"`, "got a string"},
		},
		{
			name:    "port zero",
			content: `{"0": {"service": "X", "risk_level": "low"}}`,
			want:    []string{`invalid key "0"`, "out of range", "1 to 65535"},
		},
		{
			name:    "port too high",
			content: `{"65536/udp": {"service": "X", "risk_level": "low"}}`,
			want:    []string{`invalid key "65536/udp"`, "out of range"},
		},
		{
			name:    "negative port",
			content: `{"-22": {"service": "X", "risk_level": "low"}}`,
			want:    []string{`invalid key "-22"`, "expected a port number"},
		},
		{
			name:    "port not a number",
			content: `{"ssh": {"service": "SSH", "risk_level": "high"}}`,
			want:    []string{`invalid key "ssh"`, "expected a port number"},
		},
		{
			name:    "unknown protocol",
			content: `{"22/icmp": {"service": "X", "risk_level": "low"}}`,
			want:    []string{`invalid key "22/icmp"`, `unknown protocol "icmp"`, "tcp, udp or sctp"},
		},
		{
			name:    "repeated key",
			content: `{"22/tcp": {"service": "A", "risk_level": "low"}, "22/TCP": {"service": "B", "risk_level": "low"}}`,
			want:    []string{`key "22/TCP" repeats key "22/tcp"`},
		},
		{
			name:    "service with control character",
			content: `{"22": {"service": "SS\u001bH", "risk_level": "low"}}`,
			want:    []string{`port "22"`, "control character"},
		},
		{
			name:    "service too long",
			content: `{"22": {"service": "` + strings.Repeat("x", 65) + `", "risk_level": "low"}}`,
			want:    []string{`port "22"`, "service is 65 characters long", "maximum is 64"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeOverride(t, tt.content))
			if err == nil {
				t.Fatal("Load returned no error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestLoadUnreadableFile(t *testing.T) {
	// A data directory that is a regular file cannot hold the override, and
	// the failure must not be mistaken for a missing file.
	dir := t.TempDir()
	notDir := filepath.Join(dir, "data")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(notDir); err == nil || !strings.Contains(err.Error(), "reading port catalog override") {
		t.Errorf("Load(regular file) error = %v, want a reading error", err)
	}
}

func TestPosition(t *testing.T) {
	tests := []struct {
		name         string
		data         string
		offset       int64
		line, column int
	}{
		{"first byte", "ab", 1, 1, 1},
		{"second line", "{\n  x", 5, 2, 3},
		{"zero offset", "x", 0, 1, 1},
		{"offset past end", "ab", 10, 1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, column := position([]byte(tt.data), tt.offset)
			if line != tt.line || column != tt.column {
				t.Errorf("position(%q, %d) = %d:%d, want %d:%d", tt.data, tt.offset, line, column, tt.line, tt.column)
			}
		})
	}
}

// FuzzParseOverride checks that the parser never panics and that every entry
// it accepts is valid and survives a round trip through the file format.
func FuzzParseOverride(f *testing.F) {
	f.Add(embedded)
	if example, err := os.ReadFile(filepath.Join("testdata", "port_services.example.json")); err == nil {
		f.Add(example)
	}
	for _, seed := range []string{
		``, `{}`, `[]`, `null`, `{"22": null}`, `{"22": {}}`, `{"22/tcp": {"service": "SSH", "risk": "LOW"}}`,
		`{"0": {"service": "X", "risk_level": "low"}}`, `{"22": {"service": "X", "risk_level": "low"}, "22": {}}`,
		`{"22": {"service": "X", "risk_level": "low", "description": 5}}`, `{"1/sctp": {"service": "\u00e9", "risk_level": "critical"}}`,
	} {
		f.Add([]byte(seed))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseOverride(data)
		if err != nil {
			return
		}

		seen := make(map[key]bool)
		file := make(map[string]map[string]string, len(entries))
		for _, e := range entries {
			if e.Port == 0 {
				t.Errorf("accepted port 0")
			}
			if !slices.Contains([]string{"", "tcp", "udp", "sctp"}, e.Protocol) {
				t.Errorf("accepted protocol %q", e.Protocol)
			}
			if !slices.Contains(Risks, e.Risk) {
				t.Errorf("accepted risk %q", e.Risk)
			}
			if e.Service == "" {
				t.Errorf("accepted empty service for port %d", e.Port)
			}
			k := key{e.Port, e.Protocol}
			if seen[k] {
				t.Errorf("accepted port %d/%s twice", e.Port, e.Protocol)
			}
			seen[k] = true

			name := strconv.Itoa(int(e.Port))
			if e.Protocol != "" {
				name += "/" + e.Protocol
			}
			file[name] = map[string]string{"service": e.Service, "risk_level": string(e.Risk), "description": e.Description}
		}

		again, err := json.Marshal(file)
		if err != nil {
			t.Fatal(err)
		}
		reparsed, err := parseOverride(again)
		if err != nil {
			t.Fatalf("accepted entries do not parse again: %v\n%s", err, again)
		}
		if len(reparsed) != len(entries) {
			t.Fatalf("round trip gave %d entries, want %d", len(reparsed), len(entries))
		}
		for _, e := range reparsed {
			i := slices.IndexFunc(entries, func(o Entry) bool { return o.Port == e.Port && o.Protocol == e.Protocol })
			if i < 0 || entries[i] != e {
				t.Errorf("round trip changed %+v", e)
			}
		}
	})
}

func BenchmarkLookup(b *testing.B) {
	c := Default()
	for b.Loop() {
		c.Lookup(3389, "tcp")
		c.Lookup(53, "udp")
		c.Lookup(40000, "tcp")
	}
}
