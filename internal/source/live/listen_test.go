package live

import (
	"slices"
	"strings"
	"testing"
)

func TestParseListen(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want []Endpoint
	}{
		{"empty", "", nil},
		{"port only means both", ":5514", []Endpoint{{"udp", ":5514"}, {"tcp", ":5514"}}},
		{"bare port", "5514", []Endpoint{{"udp", ":5514"}, {"tcp", ":5514"}}},
		{"host and port means both", "127.0.0.1:0", []Endpoint{{"udp", "127.0.0.1:0"}, {"tcp", "127.0.0.1:0"}}},
		{"udp and tcp", "udp://0.0.0.0:5514, tcp://0.0.0.0:6514", []Endpoint{{"udp", "0.0.0.0:5514"}, {"tcp", "0.0.0.0:6514"}}},
		{"scheme in capitals", "UDP://127.0.0.1:514", []Endpoint{{"udp", "127.0.0.1:514"}}},
		{"IPv6", "tcp://[::1]:5514", []Endpoint{{"tcp", "[::1]:5514"}}},
		{"host name", "udp://localhost:5514", []Endpoint{{"udp", "localhost:5514"}}},
		{"empty entries ignored", ",udp://:5514,", []Endpoint{{"udp", ":5514"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseListen(tt.spec)
			if err != nil {
				t.Fatalf("ParseListen(%q): %v", tt.spec, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseListen(%q) = %v, want %v", tt.spec, got, tt.want)
			}
		})
	}
}

func TestParseListenRejects(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		wantErr string
	}{
		{"unknown scheme", "http://:5514", `unknown scheme "http"`},
		{"missing port", "udp://127.0.0.1", "want a comma-separated list"},
		{"port out of range", "tcp://:65536", `port "65536" is not a number from 0 to 65535`},
		{"named port", ":syslog", `port "syslog" is not a number`},
		{"path in host", "udp://host/x:5514", "is not an IP address or host name"},
		{"listed twice", ":5514,udp://:5514", "udp://:5514 is listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseListen(tt.spec)
			if err == nil {
				t.Fatalf("ParseListen(%q) succeeded, want an error", tt.spec)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.spec) && tt.name != "listed twice" {
				t.Errorf("error %q does not name the value %q", err, tt.spec)
			}
		})
	}
}
