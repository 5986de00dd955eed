package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixedNow is a week after the sample log, so BSD year inference and
// generated_at are stable.
var fixedNow = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// sampleLog is the sample the README's first command reads.
const sampleLog = "../../examples/filterlog-sample.log"

type result struct {
	stdout, stderr string
	code           int
}

// run runs the command line args with an isolated environment: no .env
// file, DATA_DIR in a temporary directory, UTC, and the fixed clock.
func run(t *testing.T, stdin string, environ []string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := Env{
		Stdin:   strings.NewReader(stdin),
		Stdout:  &stdout,
		Stderr:  &stderr,
		Environ: append([]string{"DATA_DIR=" + t.TempDir(), "TZ=UTC", "LOG_LEVEL=warn"}, environ...),
		Now:     func() time.Time { return fixedNow },
	}
	code := Run(context.Background(), args, env)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (rerun with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended)\ngot:\n%s", path, got)
	}
}

func TestReportSampleGolden(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{"json", []string{"report", "--filterlog", sampleLog, "--json"}, "report-sample.json"},
		{"text", []string{"report", sampleLog}, "report-sample.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", nil, tt.args...)
			if r.code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			golden(t, tt.golden, []byte(r.stdout))
		})
	}
}

// TestReportSampleContents checks the facts the sample was written to show,
// so a golden rewrite cannot hide a regression in them.
func TestReportSampleContents(t *testing.T) {
	r := run(t, "", nil, "report", sampleLog, "--json")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep struct {
		GeneratedAt   string `json:"generated_at"`
		LookbackHours int    `json:"lookback_hours"`
		Summary       struct {
			TotalBlockedIPs int `json:"total_blocked_ips"`
		} `json:"summary"`
		BlockedIPs []struct {
			IP        string `json:"ip"`
			Count     int    `json:"count"`
			Direction string `json:"direction"`
			Action    string `json:"action"`
			Intel     struct {
				IP string `json:"ip"`
			} `json:"intel"`
		} `json:"blocked_ips"`
		OutboundIPs []struct {
			IP     string   `json:"ip"`
			SrcIPs []string `json:"src_ips"`
		} `json:"outbound_ips"`
		PortAnalysis struct {
			TopBlockedPorts []struct {
				Port     int    `json:"port"`
				Protocol string `json:"protocol"`
				Service  string `json:"service"`
			} `json:"top_blocked_ports"`
		} `json:"port_analysis"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.GeneratedAt != "2026-11-27T09:00:00Z" {
		t.Errorf("generated_at = %q", rep.GeneratedAt)
	}
	if rep.LookbackHours != 1 {
		t.Errorf("lookback_hours = %d", rep.LookbackHours)
	}
	if rep.Summary.TotalBlockedIPs != 19 {
		t.Errorf("total_blocked_ips = %d, want 19", rep.Summary.TotalBlockedIPs)
	}
	if len(rep.BlockedIPs) == 0 || rep.BlockedIPs[0].IP != "203.0.113.45" || rep.BlockedIPs[0].Count != 138 {
		t.Fatalf("top blocked = %+v, want 203.0.113.45 with 138 events", rep.BlockedIPs[:1])
	}
	if b := rep.BlockedIPs[0]; b.Direction != "in" || b.Action != "block" || b.Intel.IP != b.IP {
		t.Errorf("blocked row = %+v", b)
	}
	for _, b := range rep.BlockedIPs {
		if strings.HasPrefix(b.IP, "192.168.") {
			t.Errorf("internal address %s reported as a blocked source", b.IP)
		}
	}
	sources := map[string]string{}
	for _, o := range rep.OutboundIPs {
		sources[o.IP] = strings.Join(o.SrcIPs, ",")
	}
	if got := sources["203.0.113.180"]; got != "192.168.1.23,192.168.1.31" {
		t.Errorf("src_ips of 203.0.113.180 = %q", got)
	}
	if got := sources["198.51.100.99"]; got != "pfSense NAT (198.51.100.2)" {
		t.Errorf("src_ips of 198.51.100.99 = %q", got)
	}
	if p := rep.PortAnalysis.TopBlockedPorts; len(p) == 0 || p[0].Port != 22 || p[0].Protocol != "tcp" || p[0].Service != "SSH" {
		t.Errorf("top port = %+v, want 22/tcp SSH", p[:1])
	}
}

func TestReportUntil(t *testing.T) {
	// The sample covers 14:00 to 15:00; a window ending at 14:30 holds
	// only part of it.
	full := run(t, "", nil, "report", sampleLog, "--json")
	half := run(t, "", nil, "report", sampleLog, "--json", "--until", "2026-11-20T14:30:00Z")
	if half.code != exitOK {
		t.Fatalf("exit %d: %s", half.code, half.stderr)
	}
	total := func(out string) int {
		var rep struct {
			BlockedIPs []struct{ Count int } `json:"blocked_ips"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, b := range rep.BlockedIPs {
			n += b.Count
		}
		return n
	}
	if f, h := total(full.stdout), total(half.stdout); h == 0 || h >= f {
		t.Errorf("blocked events: full window %d, until 14:30 %d; want 0 < half < full", f, h)
	}
	if !strings.Contains(half.stdout, `"end": "2026-11-20T14:30:00Z"`) {
		t.Errorf("window end is not the --until time:\n%s", half.stdout[:400])
	}
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReportBadInput(t *testing.T) {
	sample, err := os.ReadFile(sampleLog)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := gzipped(t, sample)
	corrupt = corrupt[:len(corrupt)/2]
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i*7919 + i/13)
	}
	longLine := append(bytes.Repeat([]byte("x"), 1<<20), '\n')

	tests := []struct {
		name       string
		args       func(t *testing.T) []string
		wantCode   int
		wantStderr string // substring
		wantStdout string // substring
	}{
		{
			name:       "missing file",
			args:       func(t *testing.T) []string { return []string{"report", filepath.Join(t.TempDir(), "filter.log")} },
			wantCode:   exitFail,
			wantStderr: "no such file",
		},
		{
			name:       "directory",
			args:       func(t *testing.T) []string { return []string{"report", t.TempDir()} },
			wantCode:   exitFail,
			wantStderr: "is a directory",
		},
		{
			name:       "glob matching nothing",
			args:       func(t *testing.T) []string { return []string{"report", filepath.Join(t.TempDir(), "*.log")} },
			wantCode:   exitFail,
			wantStderr: "*.log",
		},
		{
			name:       "corrupt gzip",
			args:       func(t *testing.T) []string { return []string{"report", writeFile(t, "filter.log.gz", corrupt)} },
			wantCode:   exitFail,
			wantStderr: "gzip",
		},
		{
			name: "gzip",
			args: func(t *testing.T) []string {
				return []string{"report", writeFile(t, "filter.log.gz", gzipped(t, sample))}
			},
			wantCode:   exitOK,
			wantStdout: "203.0.113.45",
		},
		{
			name:       "empty file",
			args:       func(t *testing.T) []string { return []string{"report", writeFile(t, "empty.log", nil)} },
			wantCode:   exitOK,
			wantStdout: "No blocked inbound traffic",
		},
		{
			name:       "binary garbage",
			args:       func(t *testing.T) []string { return []string{"report", writeFile(t, "garbage.bin", garbage)} },
			wantCode:   exitOK,
			wantStdout: "skipped",
		},
		{
			name: "one mebibyte line",
			args: func(t *testing.T) []string {
				return []string{"report", writeFile(t, "long.log", append(longLine, sample...))}
			},
			wantCode:   exitOK,
			wantStdout: "too_long",
		},
		{
			name: "one readable file of two",
			args: func(t *testing.T) []string {
				return []string{"report", sampleLog, filepath.Join(t.TempDir(), "missing.log")}
			},
			wantCode:   exitOK,
			wantStderr: "missing.log",
			wantStdout: "203.0.113.45",
		},
		{
			name:       "no input",
			args:       func(t *testing.T) []string { return []string{"report"} },
			wantCode:   exitUsage,
			wantStderr: "--filterlog",
		},
		{
			name:       "bad until",
			args:       func(t *testing.T) []string { return []string{"report", sampleLog, "--until", "yesterday"} },
			wantCode:   exitUsage,
			wantStderr: "RFC 3339",
		},
		{
			name:       "unknown flag",
			args:       func(t *testing.T) []string { return []string{"report", "--colour"} },
			wantCode:   exitUsage,
			wantStderr: "colour",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", nil, tt.args(t)...)
			if r.code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tt.wantCode, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantStderr, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.wantStdout) {
				t.Errorf("stdout does not contain %q:\n%s", tt.wantStdout, r.stdout)
			}
		})
	}
}

func TestReportStdin(t *testing.T) {
	sample, err := os.ReadFile(sampleLog)
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, string(sample), nil, "report", "-", "--json")
	if r.code != exitOK || !strings.Contains(r.stdout, `"ip": "203.0.113.45"`) {
		t.Errorf("exit %d, stdout lacks the top source; stderr:\n%s", r.code, r.stderr)
	}
}

func TestParseLines(t *testing.T) {
	tests := []struct {
		name string
		line string
		want map[string]any
	}{
		{
			name: "ipv4 tcp",
			line: "<134>1 2026-11-20T14:00:26.5+00:00 fw filterlog 1 - - 5,,,1000000103,igc0,match,block,in,4,0x0,,64,1,0,DF,6,tcp,44,203.0.113.45,198.51.100.2,51234,22,0,S,1,,1024,,mss",
			want: map[string]any{"time": "2026-11-20T14:00:26.5Z", "interface": "igc0", "action": "block", "direction": "in",
				"ip_version": 4.0, "protocol": "tcp", "src": "203.0.113.45", "dst": "198.51.100.2", "src_port": 51234.0, "dst_port": 22.0},
		},
		{
			name: "icmp has no ports",
			line: "<134>1 2026-11-20T14:00:26+00:00 fw filterlog 1 - - 5,,,1000000103,igc0,match,block,in,4,0x0,,64,1,0,none,1,icmp,84,203.0.113.200,198.51.100.2,request,1,2",
			want: map[string]any{"protocol": "icmp", "src_port": nil, "dst_port": nil},
		},
		{
			name: "ipv6 udp",
			line: "<134>1 2026-11-20T14:00:26+00:00 fw filterlog 1 - - 5,,,1000000103,igc0,match,pass,out,6,0x00,0x00000,64,udp,17,40,2001:db8::1,2001:db8::2,5353,53,32",
			want: map[string]any{"ip_version": 6.0, "protocol": "udp", "action": "pass", "direction": "out", "dst_port": 53.0},
		},
		{
			name: "skipped line",
			line: "<30>1 2026-11-20T14:06:57+00:00 fw dhcpd 7711 - - DHCPACK on 192.168.1.23",
			want: map[string]any{"line": 1.0, "skipped": "not_filterlog", "src": nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.line+"\n", nil, "parse", "-")
			if r.code != exitOK {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("output is not one JSON object: %v\n%s", err, r.stdout)
			}
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("%s = %v, want %v", k, got[k], want)
				}
			}
		})
	}
}

func TestParseNamesFilesWhenSeveral(t *testing.T) {
	a := writeFile(t, "a.log", []byte("garbage\n"))
	r := run(t, "", nil, "parse", a, sampleLog)
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	first := strings.SplitN(r.stdout, "\n", 2)[0]
	if !strings.Contains(first, `"file":"`+a+`"`) {
		t.Errorf("first line does not name its file: %s", first)
	}
}

func TestParseNothingReadable(t *testing.T) {
	r := run(t, "", nil, "parse", filepath.Join(t.TempDir(), "missing.log"))
	if r.code != exitFail || !strings.Contains(r.stderr, "no such file") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"no arguments", nil, exitUsage, "Commands:"},
		{"help", []string{"help"}, exitOK, "report"},
		{"unknown command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"report help names variables", []string{"report", "--help"}, exitOK, "LOOKBACK_HOURS"},
		{"version", []string{"version"}, exitOK, "threat-intel dev"},
		{"bad configuration", []string{"report", sampleLog, "--log-format", "xml"}, exitUsage, "invalid LOG_FORMAT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", nil, tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("exit %d, want %d", r.code, tt.wantCode)
			}
			if out := r.stdout + r.stderr; !strings.Contains(out, tt.want) {
				t.Errorf("output does not contain %q:\n%s", tt.want, out)
			}
		})
	}
}

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	_, port, _ := net.SplitHostPort(addr)

	tests := []struct {
		name     string
		listen   string
		wantCode int
	}{
		{"answering service", addr, exitOK},
		{"wildcard listen address", "0.0.0.0:" + port, exitOK},
		{"nothing listening", "127.0.0.1:1", exitFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", []string{"LISTEN_ADDR=" + tt.listen}, "healthcheck")
			if r.code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr %s", r.code, tt.wantCode, r.stderr)
			}
		})
	}
}
