package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// boltLockTimeout bounds the wait for the file lock of threat-intel.db, so a
// second process on the same data directory fails with a clear error
// instead of waiting forever.
const boltLockTimeout = 2 * time.Second

// sweepInterval is how often expired entries are removed from the file.
// Reads ignore expired entries anyway, so the sweep only keeps the file
// small.
const sweepInterval = time.Hour

// sweepBatch bounds the keys that one sweep transaction deletes, so a sweep
// of a large file never holds the write lock for long.
const sweepBatch = 1000

var (
	bucketCache  = []byte("cache")
	bucketBudget = []byte("budget")
	bucketReport = []byte("report")
	bucketLock   = []byte("lock")
	allBuckets   = [][]byte{bucketCache, bucketBudget, bucketReport, bucketLock}

	reportLastKey = []byte("last")
	blocklistKey  = []byte("blocklist")
)

// boltStore is the embedded store: one bbolt file, locked by one process.
type boltStore struct {
	db     *bolt.DB
	path   string
	clock  func() time.Time
	logger *slog.Logger

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

func openBolt(ctx context.Context, opts Options) (*boltStore, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("creating data directory %q: %w (set DATA_DIR to a writable directory)", opts.DataDir, err)
	}
	path := filepath.Join(opts.DataDir, DBFileName)

	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: boltLockTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("opening %q: the file is locked by another process (timed out after %s); stop that process or set DATA_DIR to another directory: %w", path, boltLockTimeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %q: %w (set DATA_DIR to a writable directory)", path, err)
	}

	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("creating bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("initializing %q: %w", path, err)
	}

	s := &boltStore{
		db:     db,
		path:   path,
		clock:  opts.Clock,
		logger: opts.Logger,
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	if _, err := s.sweep(s.clock()); err != nil {
		_ = db.Close()
		return nil, err
	}
	go s.sweepLoop()
	return s, nil
}

func (s *boltStore) Put(ctx context.Context, provider intel.Provider, addr netip.Addr, outcome Outcome, value []byte, ttl time.Duration) error {
	key, err := cacheKey(provider, addr)
	if err != nil {
		return err
	}
	if !outcome.valid() {
		return fmt.Errorf("caching %s: invalid outcome %s: only found and not found responses are cached", key, outcome)
	}
	if err := checkTTL("cache", ttl); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	now := s.clock()
	encoded := encodeEntry(Entry{Outcome: outcome, Value: value, StoredAt: now, ExpiresAt: now.Add(ttl)})
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCache).Put([]byte(key), encoded)
	})
	if err != nil {
		return fmt.Errorf("caching %s in %q: %w", key, s.path, err)
	}
	return nil
}

func (s *boltStore) Get(ctx context.Context, provider intel.Provider, addr netip.Addr) (Entry, bool, error) {
	key, err := cacheKey(provider, addr)
	if err != nil {
		return Entry{}, false, err
	}
	if err := ctx.Err(); err != nil {
		return Entry{}, false, err
	}

	var (
		entry Entry
		found bool
	)
	now := s.clock()
	err = s.db.View(func(tx *bolt.Tx) error {
		var err error
		entry, found, err = liveEntry(tx.Bucket(bucketCache).Get([]byte(key)), now)
		return err
	})
	if err != nil {
		return Entry{}, false, fmt.Errorf("reading %s from %q: %w", key, s.path, err)
	}
	return entry, found, nil
}

// liveEntry decodes raw and reports whether it is an entry that has not
// expired at now. A nil raw is a miss.
func liveEntry(raw []byte, now time.Time) (Entry, bool, error) {
	if raw == nil {
		return Entry{}, false, nil
	}
	entry, ok, err := decodeEntry(raw)
	if err != nil || !ok {
		return Entry{}, false, err
	}
	if !now.Before(entry.ExpiresAt) {
		return Entry{}, false, nil
	}
	return entry, true, nil
}

func (s *boltStore) GetMany(ctx context.Context, provider intel.Provider, addrs []netip.Addr) (map[netip.Addr]Entry, error) {
	keys := make([]string, len(addrs))
	for i, addr := range addrs {
		key, err := cacheKey(provider, addr)
		if err != nil {
			return nil, err
		}
		keys[i] = key
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	entries := make(map[netip.Addr]Entry, len(addrs))
	now := s.clock()
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCache)
		for i, key := range keys {
			entry, found, err := liveEntry(b.Get([]byte(key)), now)
			if err != nil {
				return fmt.Errorf("reading %s: %w", key, err)
			}
			if found {
				entries[addrs[i]] = entry
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s cache entries from %q: %w", provider, s.path, err)
	}
	return entries, nil
}

func (s *boltStore) TakeBudget(ctx context.Context, provider intel.Provider, day time.Time, limit int) (int, bool, error) {
	key, err := budgetKey(provider, day)
	if err != nil {
		return 0, false, err
	}
	if err := checkLimit(provider, limit); err != nil {
		return 0, false, err
	}
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}

	var (
		remaining int
		ok        bool
	)
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBudget)
		used := decodeCount(b.Get([]byte(key)))
		if used >= uint64(limit) {
			return nil
		}
		used++
		remaining, ok = limit-int(used), true
		return b.Put([]byte(key), encodeCount(used))
	})
	if err != nil {
		return 0, false, fmt.Errorf("taking budget %s in %q: %w", key, s.path, err)
	}
	return remaining, ok, nil
}

func (s *boltStore) BudgetUsed(ctx context.Context, provider intel.Provider, day time.Time) (int, error) {
	key, err := budgetKey(provider, day)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}

	var used uint64
	err = s.db.View(func(tx *bolt.Tx) error {
		used = decodeCount(tx.Bucket(bucketBudget).Get([]byte(key)))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reading budget %s from %q: %w", key, s.path, err)
	}
	return int(used), nil
}

func (s *boltStore) ExhaustBudget(ctx context.Context, provider intel.Provider, day time.Time, limit int) error {
	key, err := budgetKey(provider, day)
	if err != nil {
		return err
	}
	if err := checkLimit(provider, limit); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBudget)
		if decodeCount(b.Get([]byte(key))) >= uint64(limit) {
			return nil
		}
		return b.Put([]byte(key), encodeCount(uint64(limit)))
	})
	if err != nil {
		return fmt.Errorf("exhausting budget %s in %q: %w", key, s.path, err)
	}
	return nil
}

// decodeCount reads a budget count. A missing or malformed value counts as
// zero calls. Only this package writes the bucket, so a malformed value
// means a damaged file.
func decodeCount(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func encodeCount(n uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, n)
}

func (s *boltStore) SaveReport(ctx context.Context, report []byte) error {
	return s.saveDocument(ctx, reportLastKey, "the report", report)
}

func (s *boltStore) LoadReport(ctx context.Context) ([]byte, error) {
	return s.loadDocument(ctx, reportLastKey, "the report")
}

func (s *boltStore) SaveBlocklist(ctx context.Context, data []byte) error {
	return s.saveDocument(ctx, blocklistKey, "the blocklist", data)
}

func (s *boltStore) LoadBlocklist(ctx context.Context) ([]byte, error) {
	return s.loadDocument(ctx, blocklistKey, "the blocklist")
}

// saveDocument replaces the document under key in the report bucket; what
// names it in errors.
func (s *boltStore) saveDocument(ctx context.Context, key []byte, what string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketReport).Put(key, data)
	})
	if err != nil {
		return fmt.Errorf("saving %s in %q: %w", what, s.path, err)
	}
	return nil
}

// loadDocument returns the document under key, or ErrNotFound.
func (s *boltStore) loadDocument(ctx context.Context, key []byte, what string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var data []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketReport).Get(key); v != nil {
			data = bytes.Clone(v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading %s from %q: %w", what, s.path, err)
	}
	if data == nil {
		return nil, ErrNotFound
	}
	return data, nil
}

func (s *boltStore) TryLock(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	key, err := lockKey(name)
	if err != nil {
		return false, err
	}
	if err := checkHolder(holder); err != nil {
		return false, err
	}
	if err := checkTTL("lock", ttl); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}

	var acquired bool
	now := s.clock()
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLock)
		current, expiresAt, ok := decodeLock(b.Get([]byte(key)))
		if ok && current != holder && now.Before(expiresAt) {
			return nil
		}
		acquired = true
		return b.Put([]byte(key), encodeLock(holder, now.Add(ttl)))
	})
	if err != nil {
		return false, fmt.Errorf("locking %s in %q: %w", key, s.path, err)
	}
	return acquired, nil
}

func (s *boltStore) Unlock(ctx context.Context, name, holder string) error {
	key, err := lockKey(name)
	if err != nil {
		return err
	}
	if err := checkHolder(holder); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLock)
		current, _, ok := decodeLock(b.Get([]byte(key)))
		if !ok || current != holder {
			return nil
		}
		return b.Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("unlocking %s in %q: %w", key, s.path, err)
	}
	return nil
}

func (s *boltStore) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.View(func(*bolt.Tx) error { return nil })
	if err != nil {
		return fmt.Errorf("reading %q: %w", s.path, err)
	}
	return nil
}

func (s *boltStore) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("closing %q: %w", s.path, err)
		}
	})
	return s.closeErr
}
