package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// ErrNotFound is returned by LoadReport when no report has been saved.
var ErrNotFound = errors.New("not found")

// DefaultKeyPrefix starts every Redis key, as in the Python service that
// this one replaces, so existing tooling such as
// `redis-cli KEYS 'threat-intel:ip:*'` keeps working.
const DefaultKeyPrefix = "threat-intel:"

// DBFileName is the name of the bbolt file inside the data directory.
const DBFileName = "threat-intel.db"

// Outcome is the result of a provider lookup that may be cached. There is no
// outcome for a failure, because a failed lookup must be retried on the next
// cycle instead of being served from the cache.
type Outcome uint8

const (
	// Found means the provider returned data for the address.
	Found Outcome = 1
	// NotFound means the provider responded that it has no data for the
	// address, such as GreyNoise's 404 "not observed".
	NotFound Outcome = 2
)

// OutcomeOf maps a lookup status to the outcome to cache. It returns false
// for every status that must not be cached: failures and skips.
func OutcomeOf(s intel.Status) (Outcome, bool) {
	switch s {
	case intel.StatusOK:
		return Found, true
	case intel.StatusNotFound:
		return NotFound, true
	default:
		return 0, false
	}
}

// Status returns the lookup status of the outcome.
func (o Outcome) Status() intel.Status {
	if o == NotFound {
		return intel.StatusNotFound
	}
	return intel.StatusOK
}

func (o Outcome) String() string {
	switch o {
	case Found:
		return "found"
	case NotFound:
		return "not found"
	default:
		return fmt.Sprintf("outcome(%d)", uint8(o))
	}
}

func (o Outcome) valid() bool { return o == Found || o == NotFound }

// Entry is a cached provider response.
type Entry struct {
	Outcome Outcome
	// Value is the response exactly as it was put, usually JSON.
	Value []byte
	// StoredAt is when the entry was put, by the clock of the process that
	// put it. It is the time the provider responded.
	StoredAt time.Time
	// ExpiresAt is StoredAt plus the TTL.
	ExpiresAt time.Time
}

// Store is the persistent state of the service. All methods are safe for
// concurrent use. See the package documentation for which operations are
// atomic and which fail closed.
type Store interface {
	// Put caches a provider's response for addr for ttl, replacing any earlier
	// entry. It rejects an outcome other than Found or NotFound, a
	// non-positive ttl, an invalid address and an invalid provider name.
	Put(ctx context.Context, provider intel.Provider, addr netip.Addr, outcome Outcome, value []byte, ttl time.Duration) error
	// Get returns the cached response of provider for addr. found is false when
	// there is none or it has expired.
	Get(ctx context.Context, provider intel.Provider, addr netip.Addr) (entry Entry, found bool, err error)
	// GetMany returns the unexpired cached responses of provider for addrs,
	// keyed by the addresses as given. Addresses without an entry are absent
	// from the map.
	GetMany(ctx context.Context, provider intel.Provider, addrs []netip.Addr) (map[netip.Addr]Entry, error)

	// TakeBudget takes one call from provider's budget for the UTC date of
	// day if fewer than limit calls were taken that day. remaining is the
	// number of calls left after this one. A limit of 0 allows no call. On
	// any error ok is false.
	TakeBudget(ctx context.Context, provider intel.Provider, day time.Time, limit int) (remaining int, ok bool, err error)
	// BudgetUsed returns the number of calls taken from provider's budget on
	// the UTC date of day, including calls marked by ExhaustBudget.
	BudgetUsed(ctx context.Context, provider intel.Provider, day time.Time) (int, error)
	// ExhaustBudget raises provider's count for the UTC date of day to limit,
	// so TakeBudget returns ok=false until the next UTC day. Call it when
	// the provider reports that its own daily quota is spent. It never
	// lowers a count.
	ExhaustBudget(ctx context.Context, provider intel.Provider, day time.Time, limit int) error

	// SaveReport replaces the last report.
	SaveReport(ctx context.Context, report []byte) error
	// LoadReport returns the last report, or ErrNotFound when none was saved.
	LoadReport(ctx context.Context) ([]byte, error)

	// SaveBlocklist replaces the stored blocklist membership.
	SaveBlocklist(ctx context.Context, data []byte) error
	// LoadBlocklist returns the stored blocklist membership, or ErrNotFound
	// when none was saved.
	LoadBlocklist(ctx context.Context) ([]byte, error)

	// TryLock acquires the lease name for holder for ttl. It returns true
	// when the lease was free, had expired or was already held by holder,
	// in which case the lease is renewed for ttl. On any error it returns
	// false. Names are 1 to 64 characters of a-z, 0-9, '.', '_' and '-'.
	TryLock(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// Unlock releases the lease name if holder holds it. Releasing a lease
	// held by another holder, or by no one, does nothing.
	Unlock(ctx context.Context, name, holder string) error

	// Ping checks that the store can be reached.
	Ping(ctx context.Context) error
	// Close releases the store. Calls after Close return errors. Closing
	// twice is allowed.
	Close() error
}

// Options selects and configures the backend.
type Options struct {
	// DataDir is the directory of the embedded store (DATA_DIR). It is
	// created if missing. It is ignored when RedisURL is set.
	DataDir string
	// RedisURL selects the Redis backend (REDIS_URL), in the form
	// redis://[user:password@]host:port/db or rediss:// for TLS.
	RedisURL string
	// KeyPrefix starts every Redis key. Empty means DefaultKeyPrefix. The
	// embedded store does not use it.
	KeyPrefix string
	// Clock returns the current time for entry timestamps and expiry. Nil
	// means time.Now. Redis lease and key expiry run on the server's clock.
	Clock func() time.Time
	// Logger receives the errors of background work, such as the periodic
	// removal of expired entries. Nil discards them.
	Logger *slog.Logger
}

// Open opens the Redis store when opts.RedisURL is set and the embedded store
// in opts.DataDir otherwise. Opening Redis does not connect; call Ping to
// check that the server can be reached.
func Open(ctx context.Context, opts Options) (Store, error) {
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = DefaultKeyPrefix
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}

	if opts.RedisURL != "" {
		return openRedis(ctx, opts)
	}
	if opts.DataDir == "" {
		return nil, errors.New("no store configured: set DATA_DIR to a writable directory or REDIS_URL to a Redis server")
	}
	return openBolt(ctx, opts)
}
