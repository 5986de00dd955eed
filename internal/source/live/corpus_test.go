package live

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/corpustest"
)

// corpusLines returns the lines of a corpus file that start with prefix.
func corpusLines(t *testing.T, name, prefix string) []string {
	t.Helper()
	path := filepath.Join(corpustest.Dir(t), "filterlog", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the corpus: %v (set THREAT_INTEL_CORPUS to the corpus directory)", err)
	}
	var lines []string
	for line := range strings.Lines(string(data)) {
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, prefix) {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		t.Fatalf("no line of %s starts with %q", path, prefix)
	}
	return lines
}

// TestCorpusOverSyslog sends real lines of other projects' test suites over
// each transport and framing and checks what the window makes of them.
func TestCorpusOverSyslog(t *testing.T) {
	// OPNsense RFC 5424 lines of 2022-09-06 between 16:37 and 17:00 UTC,
	// with three blocked public sources, and pfSense BSD lines of
	// 2021-07-03 19:10 from a private source on igb1.12.
	opnsense := corpusLines(t, "crowdsec-hub-pf-logs.log", "<134>1 ")
	pfsense := corpusLines(t, "elastic-integrations-test-pfsense-bsd.log", "<134>")
	opnsenseNow := time.Date(2022, 9, 6, 17, 10, 0, 0, time.UTC)
	pfsenseNow := time.Date(2021, 7, 3, 19, 20, 0, 0, time.UTC)

	tests := []struct {
		name    string
		network string
		frame   func(string) string
	}{
		{"udp", KindUDP, func(line string) string { return line }},
		{"tcp newline", KindTCP, func(line string) string { return line + "\n" }},
		{"tcp octet counted", KindTCP, octetFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name+" rfc5424", func(t *testing.T) {
			opts := syslogOptions(t)
			opts.Now = newClock(opnsenseNow).now
			s := start(t, opts)
			send(t, s, tt.network, tt.frame, opnsense)

			waitLines(t, s, uint64(len(opnsense)))
			obs := observe(t, s, time.Time{})
			if got := obs.Lines[OutcomeParsed]; got != uint64(len(opnsense)) {
				t.Errorf("parsed lines = %d, want %d", got, len(opnsense))
			}
			checkBlocked(t, obs, map[string]uint64{
				"212.102.36.22":                          1,
				"154.6.147.87":                           1,
				"2008:8a0:702e:ce00:acc6:c7ee:fa01:2f8a": 1,
			})
			if !slices.Equal(obs.Interfaces, []string{"re0"}) {
				t.Errorf("interfaces = %v, want [re0]", obs.Interfaces)
			}
		})

		t.Run(tt.name+" rfc3164", func(t *testing.T) {
			opts := syslogOptions(t)
			opts.Now = newClock(pfsenseNow).now
			s := start(t, opts)
			send(t, s, tt.network, tt.frame, pfsense)

			waitLines(t, s, uint64(len(pfsense)))
			obs := observe(t, s, time.Time{})
			if got := obs.Lines[OutcomeParsed]; got != uint64(len(pfsense)) {
				t.Errorf("parsed lines = %d, want %d", got, len(pfsense))
			}
			// The blocked sources are private, so none is reported.
			checkBlocked(t, obs, map[string]uint64{})
			if !slices.Equal(obs.Interfaces, []string{"igb1.10", "igb1.12", "igb1.15", "igb1.27"}) {
				t.Errorf("interfaces = %v, want [igb1.10 igb1.12 igb1.15 igb1.27]", obs.Interfaces)
			}
			if got := s.Events().Added; got != uint64(len(pfsense)) {
				t.Errorf("events added = %d, want %d: the year inferred from the clock puts every line in the window", got, len(pfsense))
			}
		})
	}
}

// send writes lines to the listener of kind, each framed by frame. Over TCP
// all lines go in one write.
func send(t *testing.T, s *Source, kind string, frame func(string) string, lines []string) {
	t.Helper()
	conn := dial(t, kind, boundAddr(t, s, kind))
	if kind == KindUDP {
		for _, line := range lines {
			write(t, conn, frame(line))
		}
		return
	}
	var stream strings.Builder
	for _, line := range lines {
		stream.WriteString(frame(line))
	}
	write(t, conn, stream.String())
}
