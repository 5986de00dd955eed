package service

import (
	"context"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/config"
	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/report"
)

// newTestService builds a service over an empty log file with the default
// configuration and the given overrides, without starting it.
func newTestService(t *testing.T, environ ...string) *Service {
	t.Helper()
	dir := t.TempDir()
	logPath := filepath.Join(dir, "filter.log")
	if err := os.WriteFile(logPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := config.Register(fs).Load(append([]string{
		"DATA_DIR=" + filepath.Join(dir, "data"),
		"FILTERLOG_PATH=" + logPath,
		"ABUSEIPDB_API_KEY=test-key",
		"ABUSEIPDB_BASE_URL=http://127.0.0.1:1",
	}, environ...), "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.pipeline.Close() })
	return s
}

func TestFailingProviderIsReported(t *testing.T) {
	s := newTestService(t)
	s.publish(report.Report{GeneratedAt: time.Now().UTC().Format(report.TimeFormat), LookbackHours: 1})
	a, b := netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("198.51.100.9")
	s.noteFailingProviders(map[netip.Addr]intel.Lookup{
		a: {Addr: a, Status: map[intel.Provider]intel.Status{intel.AbuseIPDB: intel.Failed("connection refused"), intel.OTX: intel.StatusSkippedNoKey}},
		b: {Addr: b, Status: map[intel.Provider]intel.Status{intel.AbuseIPDB: intel.Failed("timeout"), intel.OTX: intel.StatusSkippedNoKey}},
	})

	h := s.health()
	if h.Status != "degraded" {
		t.Errorf("status = %q, want degraded", h.Status)
	}
	found := false
	for _, r := range h.Reasons {
		if strings.Contains(r, "abuseipdb") && strings.Contains(r, "all 2 lookups") {
			found = true
		}
		if strings.Contains(r, "otx") {
			t.Errorf("reason %q names a provider that was only skipped", r)
		}
	}
	if !found {
		t.Errorf("reasons %v do not name the failing provider", h.Reasons)
	}

	for _, row := range s.sources() {
		if row.Provider == "abuseipdb" && (row.Status != "failing" || !strings.Contains(row.Detail, "connection refused")) {
			t.Errorf("abuseipdb row = %+v, want status failing with the first failure", row)
		}
	}
}

func TestPartlyFailingProviderIsNotReported(t *testing.T) {
	s := newTestService(t)
	a, b := netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("198.51.100.9")
	s.noteFailingProviders(map[netip.Addr]intel.Lookup{
		a: {Addr: a, Status: map[intel.Provider]intel.Status{intel.AbuseIPDB: intel.Failed("timeout")}},
		b: {Addr: b, Status: map[intel.Provider]intel.Status{intel.AbuseIPDB: intel.StatusOK}},
	})
	for _, r := range s.health().Reasons {
		if strings.Contains(r, "abuseipdb") {
			t.Errorf("reason %q for a provider that answered some lookups", r)
		}
	}
}

func TestHealthStartingBeforeFirstCycle(t *testing.T) {
	s := newTestService(t)
	if h := s.health(); h.Status != "starting" {
		t.Errorf("status = %q, want starting before any cycle", h.Status)
	}
}

func TestNoEventSource(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := config.Register(fs).Load([]string{"DATA_DIR=" + t.TempDir()}, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(context.Background(), Options{Config: cfg})
	if err == nil || !strings.Contains(err.Error(), "FILTERLOG_PATH") {
		t.Errorf("New without a source: err = %v, want one naming FILTERLOG_PATH", err)
	}
}
