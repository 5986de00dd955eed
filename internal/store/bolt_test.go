package store

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/threat-intel/threat-intel/internal/intel"
)

func TestBoltStore(t *testing.T) {
	testStore(t, func(t *testing.T) opener {
		dir := t.TempDir()
		return func(t *testing.T, clock *fakeClock) Store {
			t.Helper()
			return openBoltForTest(t, dir, clock)
		}
	})
}

func openBoltForTest(t *testing.T, dir string, clock *fakeClock) *boltStore {
	t.Helper()
	s, err := Open(t.Context(), Options{DataDir: dir, Clock: clock.Now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.(*boltStore)
}

func TestBoltCreatesDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "threat-intel")
	openBoltForTest(t, dir, newFakeClock())
	if _, err := os.Stat(filepath.Join(dir, DBFileName)); err != nil {
		t.Errorf("database file not created: %v", err)
	}
}

func TestBoltDataDirNotWritable(t *testing.T) {
	// Tests may run as root, which ignores permission bits, so a regular
	// file is put where a directory is expected.
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	dbAsDir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dbAsDir, DBFileName), 0o750); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		dataDir string
		path    string // the path the error must name
	}{
		{"data dir is a file", file, file},
		{"data dir under a file", filepath.Join(file, "sub"), filepath.Join(file, "sub")},
		{"database is a directory", dbAsDir, filepath.Join(dbAsDir, DBFileName)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.Context(), Options{DataDir: tt.dataDir})
			if err == nil {
				_ = s.Close()
				t.Fatal("Open returned no error")
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.path)) {
				t.Errorf("error %q does not name %q", err, tt.path)
			}
			if !strings.Contains(err.Error(), "DATA_DIR") {
				t.Errorf("error %q does not say to change DATA_DIR", err)
			}
		})
	}
}

func TestBoltSecondOpener(t *testing.T) {
	dir := t.TempDir()
	openBoltForTest(t, dir, newFakeClock())

	start := time.Now()
	s, err := Open(t.Context(), Options{DataDir: dir})
	elapsed := time.Since(start)
	if err == nil {
		_ = s.Close()
		t.Fatal("second Open of a locked file returned no error")
	}
	if !errors.Is(err, bolt.ErrTimeout) {
		t.Errorf("error %q does not wrap bolt.ErrTimeout", err)
	}
	path := filepath.Join(dir, DBFileName)
	if !strings.Contains(err.Error(), fmt.Sprintf("%q", path)) {
		t.Errorf("error %q does not name %q", err, path)
	}
	if !strings.Contains(err.Error(), "locked by another process") {
		t.Errorf("error %q does not say that another process holds the lock", err)
	}
	// The bound is loose on purpose: it catches a wait without timeout, not
	// a slow machine.
	if elapsed > boltLockTimeout+5*time.Second {
		t.Errorf("second Open took %s, want about %s", elapsed, boltLockTimeout)
	}
}

// boltKeys returns the keys of bucket.
func boltKeys(t *testing.T, s *boltStore, bucket []byte) []string {
	t.Helper()
	var keys []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, _ []byte) error {
			keys = append(keys, string(k))
			return nil
		})
	})
	if err != nil {
		t.Fatalf("listing bucket %s: %v", bucket, err)
	}
	return keys
}

func TestBoltSweep(t *testing.T) {
	clock := newFakeClock()
	s := openBoltForTest(t, t.TempDir(), clock)
	now := clock.Now()

	mustPut(t, s, intel.AbuseIPDB, addr1, Found, []byte("live"), 24*time.Hour)
	mustPut(t, s, intel.AbuseIPDB, addr2, NotFound, []byte("expires"), time.Hour)
	mustTake(t, s, intel.AbuseIPDB, now, 10, true)
	mustTake(t, s, intel.AbuseIPDB, now.Add(-24*time.Hour), 10, true)
	mustTake(t, s, intel.AbuseIPDB, now.Add(-72*time.Hour), 10, true)
	mustLock(t, s, "short", "replica-a", time.Minute, true)
	mustLock(t, s, "long", "replica-a", 24*time.Hour, true)

	clock.Advance(2 * time.Hour)
	removed, err := s.sweep(clock.Now())
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if removed != 3 {
		t.Errorf("sweep removed %d keys, want 3", removed)
	}

	checks := []struct {
		bucket []byte
		want   []string
	}{
		{bucketCache, []string{"ip:abuseipdb:192.0.2.1"}},
		{bucketBudget, []string{"budget:abuseipdb:2024-04-30", "budget:abuseipdb:2024-05-01"}},
		{bucketLock, []string{"lock:long"}},
	}
	for _, c := range checks {
		got := boltKeys(t, s, c.bucket)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("bucket %s keys = %v, want %v", c.bucket, got, c.want)
		}
	}
}

func TestBoltSweepOnOpen(t *testing.T) {
	clock := newFakeClock()
	dir := t.TempDir()
	s := openBoltForTest(t, dir, clock)
	mustPut(t, s, intel.OTX, addr1, Found, []byte("expires"), time.Hour)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	clock.Advance(2 * time.Hour)
	s = openBoltForTest(t, dir, clock)
	if keys := boltKeys(t, s, bucketCache); len(keys) != 0 {
		t.Errorf("cache keys after reopening = %v, want none", keys)
	}
}

func TestBoltSweepBatches(t *testing.T) {
	clock := newFakeClock()
	s := openBoltForTest(t, t.TempDir(), clock)
	now := clock.Now()

	// 2,500 expired entries span three sweep transactions, with live
	// entries between them that must survive.
	const expired, live = 2500, 100
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCache)
		for i := range expired + live {
			raw := netip.MustParseAddr("2001:db8::").As16()
			raw[14], raw[15] = byte(i/256), byte(i%256)
			addr := netip.AddrFrom16(raw)
			key, _ := cacheKey(intel.AbuseIPDB, addr)
			ttl := time.Minute
			if i%26 == 0 && i/26 < live {
				ttl = 24 * time.Hour
			}
			entry := Entry{Outcome: Found, StoredAt: now, ExpiresAt: now.Add(ttl)}
			if err := b.Put([]byte(key), encodeEntry(entry)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	clock.Advance(time.Hour)
	removed, err := s.sweep(clock.Now())
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if removed != expired {
		t.Errorf("sweep removed %d entries, want %d", removed, expired)
	}
	if keys := boltKeys(t, s, bucketCache); len(keys) != live {
		t.Errorf("%d cache entries left, want %d", len(keys), live)
	}
}

func TestBoltDamagedEntry(t *testing.T) {
	clock := newFakeClock()
	s := openBoltForTest(t, t.TempDir(), clock)
	truncated := []byte{entryVersion, byte(Found), 0, 0}
	newerFormat := append([]byte{entryVersion + 1}, make([]byte, 40)...)
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCache)
		if err := b.Put([]byte("ip:otx:192.0.2.1"), truncated); err != nil {
			return err
		}
		return b.Put([]byte("ip:otx:198.51.100.2"), newerFormat)
	})
	if err != nil {
		t.Fatal(err)
	}

	if _, _, err := s.Get(t.Context(), intel.OTX, addr1); err == nil {
		t.Error("Get of a truncated entry returned no error")
	}
	if _, err := s.GetMany(t.Context(), intel.OTX, []netip.Addr{addr1, addr2}); err == nil {
		t.Error("GetMany with a truncated entry returned no error")
	}
	// An entry of a newer format is a miss, so an older release fetches
	// the response again instead of failing.
	mustMiss(t, s, intel.OTX, addr2)

	removed, err := s.sweep(clock.Now())
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if removed != 2 {
		t.Errorf("sweep removed %d entries, want both unreadable ones", removed)
	}
}
