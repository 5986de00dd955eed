package cli

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/threat-intel/threat-intel/internal/blocklist"
	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/report"
	"github.com/threat-intel/threat-intel/internal/source"
	"github.com/threat-intel/threat-intel/internal/store"
)

// storeBadActors lists the given addresses as critical bad actors in the
// blocklist kept in dataDir, as a service cycle would.
func storeBadActors(t *testing.T, dataDir string, addrs ...string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	obs := source.Observation{}
	records := map[netip.Addr]intel.Intel{}
	for _, s := range addrs {
		a := netip.MustParseAddr(s)
		obs.Blocked = append(obs.Blocked, source.AddrCount{Addr: a, Count: 10})
		records[a] = intel.Intel{IP: s, CompositeScore: 90, ThreatLevel: "critical", IsKnownBadActor: true, Classification: "malicious"}
	}
	rep := report.Build(report.Input{Observation: obs, LookbackHours: 1, GeneratedAt: fixedNow, BlockedIntel: records})

	bl, err := blocklist.New(st, blocklist.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bl.Update(ctx, rep, fixedNow); err != nil {
		t.Fatal(err)
	}
}

func TestBlocklistPrintsStoredList(t *testing.T) {
	dataDir := t.TempDir()
	storeBadActors(t, dataDir, "203.0.113.66", "2001:db8::66")
	environ := []string{"DATA_DIR=" + dataDir}

	tests := []struct {
		name, family string
		want, absent []string
	}{
		{"both families", "", []string{"203.0.113.66\n", "2001:db8::66\n"}, nil},
		{"ipv4 only", "ipv4", []string{"203.0.113.66\n"}, []string{"2001:db8::66"}},
		{"ipv6 only", "ipv6", []string{"2001:db8::66\n"}, []string{"203.0.113.66"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"blocklist"}
			if tt.family != "" {
				args = append(args, "--family", tt.family)
			}
			r := run(t, "", environ, args...)
			if r.code != exitOK {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if !strings.HasPrefix(r.stdout, "#") {
				t.Errorf("list does not start with a # header:\n%s", r.stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("list lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(r.stdout, a) {
					t.Errorf("list has %q, which is of the other family", a)
				}
			}
		})
	}
}

func TestBlocklistDiffPreviewsWithoutSaving(t *testing.T) {
	dataDir := t.TempDir()
	feed := writeFile(t, "honeypot.txt", []byte("203.0.113.45\n192.168.1.23\n"))
	environ := []string{"DATA_DIR=" + dataDir, "FEEDS=honeypot=" + feed, "BLOCKLIST_MIN_LEVEL=medium"}

	r := run(t, "", environ, "blocklist", "--diff", sampleLog)
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "203.0.113.45") {
		t.Errorf("diff does not add the feed-listed attacker:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "192.168.1.23") {
		t.Errorf("diff adds an internal address:\n%s", r.stdout)
	}

	stored := run(t, "", environ, "blocklist")
	if strings.Contains(stored.stdout, "203.0.113.45") {
		t.Errorf("--diff saved the list:\n%s", stored.stdout)
	}
}

func TestBlocklistBadFamily(t *testing.T) {
	r := run(t, "", nil, "blocklist", "--family", "ipx")
	if r.code != exitUsage || !strings.Contains(r.stderr, "ipv4 or ipv6") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestBlocklistFilesNeedDiff(t *testing.T) {
	r := run(t, "", nil, "blocklist", sampleLog)
	if r.code != exitUsage || !strings.Contains(r.stderr, "--diff") {
		t.Errorf("exit %d, stderr %q; want a usage error pointing to --diff", r.code, r.stderr)
	}
}
