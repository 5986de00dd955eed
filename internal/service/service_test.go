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

	"github.com/redis/go-redis/v9"

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

// TestReplicasShareTheReport runs two services on one Redis: the one that
// takes the cycle lease runs the cycle, and the other serves its report.
func TestReplicasShareTheReport(t *testing.T) {
	// Database 12 of the test server, which no other test uses, because the
	// test empties it.
	addr := "127.0.0.1:6379"
	if u := os.Getenv("REDIS_TEST_URL"); u != "" {
		opts, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		addr = opts.Addr
	}
	redisURL := "redis://" + addr + "/12"
	flushRedis(t, redisURL)
	t.Cleanup(func() { flushRedis(t, redisURL) })

	line := func(src string) string {
		now := time.Now().UTC().Format(time.RFC3339)
		return "<134>1 " + now + " fw filterlog 1 - - 5,,,1000000103,igc0,match,block,in,4,0x0,,64,1,0,DF,6,tcp,44," +
			src + ",198.51.100.2,40000,22,0,S,1,,1024,,mss\n"
	}
	holder := newTestService(t, "REDIS_URL="+redisURL, "LISTEN_ADDR=127.0.0.1:18101")
	follower := newTestService(t, "REDIS_URL="+redisURL, "LISTEN_ADDR=127.0.0.1:18102")
	appendLine(t, holder.cfg.FilterlogPaths[0], line("203.0.113.77"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go holder.live.Run(ctx)
	go follower.live.Run(ctx)

	if out := holder.sched.RunOnce(ctx); out.Skipped || out.Err != nil {
		t.Fatalf("holder cycle = %+v, want it run", out)
	}
	if out := follower.sched.RunOnce(ctx); !out.Skipped {
		t.Fatalf("follower ran a cycle while the holder has the lease")
	}
	follower.mu.Lock()
	cur := follower.current
	follower.mu.Unlock()
	if cur == nil || len(cur.BlockedIPs) != 1 || cur.BlockedIPs[0].IP != "203.0.113.77" {
		t.Errorf("follower serves %+v, want the holder's report with 203.0.113.77", cur)
	}
}

func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		t.Fatal(err)
	}
}

// flushRedis empties the test database, which no other test uses.
func flushRedis(t *testing.T, url string) {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("flushing the test Redis database %s: %v", url, err)
	}
}
