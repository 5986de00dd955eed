package geoip

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/corpustest"
)

// The MaxMind test databases in the corpus.
const (
	asnTestDB     = "GeoLite2-ASN-Test.mmdb"
	countryTestDB = "GeoLite2-Country-Test.mmdb"
	cityTestDB    = "GeoLite2-City-Test.mmdb"
	ispTestDB     = "GeoIP2-ISP-Test.mmdb"
)

// mmdbDir returns the corpus folder of MaxMind test databases: the mmdb
// folder of $THREAT_INTEL_CORPUS, or of shared/corpus next to the module
// root. A missing corpus fails the test, because CI always has it.
func mmdbDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(corpustest.Dir(tb), "mmdb")
	if _, err := os.Stat(filepath.Join(dir, asnTestDB)); err != nil {
		tb.Fatalf("corpus databases not found in %s (set THREAT_INTEL_CORPUS): %v", dir, err)
	}
	return dir
}

// corpusDB returns the path of a corpus database.
func corpusDB(tb testing.TB, name string) string {
	tb.Helper()
	return filepath.Join(mmdbDir(tb), name)
}

// readCorpusDB returns the bytes of a corpus database.
func readCorpusDB(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(corpusDB(tb, name))
	if err != nil {
		tb.Fatalf("reading corpus database: %v", err)
	}
	return data
}

// openReader opens a Reader that is closed when the test ends.
func openReader(tb testing.TB, opts Options) *Reader {
	tb.Helper()
	r, err := Open(opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = r.Close() })
	return r
}

// replaceFile replaces path with data the way geoipupdate does: it writes
// a temporary file in the same directory and renames it over path.
func replaceFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	temporary := path + ".tmp"
	if err := os.WriteFile(temporary, data, 0o644); err != nil {
		tb.Fatalf("writing %s: %v", temporary, err)
	}
	if err := os.Rename(temporary, path); err != nil {
		tb.Fatalf("renaming %s: %v", temporary, err)
	}
}

// writeFile writes data to a new file in dir and returns its path.
func writeFile(tb testing.TB, dir, name string, data []byte) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatalf("writing %s: %v", path, err)
	}
	return path
}

// fakeClock is a clock that tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, time.June, 15, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// waitForCheck waits until a check started by Lookup has finished. Lookup
// takes r.mu before it starts the check, so the lock is free only after.
func waitForCheck(r *Reader) {
	r.mu.Lock()
	defer r.mu.Unlock()
}
