package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// Redis timeouts, applied where the URL does not set its own
// (dial_timeout, read_timeout, write_timeout). They are short so that a
// dead server fails a call within seconds and the cycle moves on.
const (
	redisDialTimeout  = 2 * time.Second
	redisReadTimeout  = time.Second
	redisWriteTimeout = time.Second
	// redisCallTimeout bounds one method call, retries included.
	redisCallTimeout = 3 * time.Second
)

// takeBudgetScript takes one call if fewer than the limit were taken.
// KEYS[1] is the budget key, ARGV[1] the limit, ARGV[2] the key's lifetime
// in milliseconds. It returns {1, remaining} when a call was taken and
// {0, 0} when not. A count that is not a number makes the script fail, so
// the budget fails closed.
var takeBudgetScript = redis.NewScript(`
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit = tonumber(ARGV[1])
if used >= limit then
  return {0, 0}
end
used = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, limit - used}
`)

// exhaustBudgetScript raises the count to the limit and never lowers it.
// KEYS[1] is the budget key, ARGV[1] the limit, ARGV[2] the key's lifetime
// in milliseconds.
var exhaustBudgetScript = redis.NewScript(`
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 0
`)

// tryLockScript sets the lease when it is free or held by the same holder.
// KEYS[1] is the lock key, ARGV[1] the holder, ARGV[2] the lease in
// milliseconds. It returns 1 when the lease is held by the holder.
var tryLockScript = redis.NewScript(`
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`)

// unlockScript deletes the lease only when the holder holds it.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// redisStore keeps the state in Redis, shared by every replica that uses
// the same server, database and key prefix.
type redisStore struct {
	client *redis.Client
	prefix string
	clock  func() time.Time
	// where is the server as errors name it, with the user information
	// redacted.
	where string
	// secrets are scrubbed from every error text.
	secrets []string

	closeOnce sync.Once
	closeErr  error
}

func openRedis(ctx context.Context, opts Options) (*redisStore, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	redisOpts, err := redisOptions(opts.RedisURL)
	if err != nil {
		return nil, err
	}

	secrets := urlSecrets(opts.RedisURL)
	if redisOpts.Password != "" {
		secrets = append(secrets, redisOpts.Password)
	}
	// NOTE: go-redis has one logger per process, so the store opened last
	// receives the messages of every client. Its default writes to stderr.
	redis.SetLogger(redisLogger{logger: opts.Logger, secrets: secrets})

	return &redisStore{
		client:  redis.NewClient(redisOpts),
		prefix:  opts.KeyPrefix,
		clock:   opts.Clock,
		where:   "Redis at " + redactURL(opts.RedisURL),
		secrets: secrets,
	}, nil
}

// redisOptions parses a REDIS_URL and sets the timeouts and retries that
// the URL leaves unset.
func redisOptions(raw string) (*redis.Options, error) {
	opts, err := redis.ParseURL(raw)
	if err != nil {
		// The parser's message may quote the whole URL, password included.
		err = scrub(err, append(urlSecrets(raw), raw))
		return nil, fmt.Errorf("invalid REDIS_URL %q: %v (expected redis://[user:password@]host:port/db, or rediss:// for TLS)", redactURL(raw), err)
	}

	if opts.DialTimeout == 0 {
		opts.DialTimeout = redisDialTimeout
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = redisReadTimeout
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = redisWriteTimeout
	}
	// One retry covers a pooled connection that the server closed; more
	// would only delay the error when the server is down.
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 1
	}
	// One dial attempt per connection: go-redis would otherwise dial five
	// times with 100 ms pauses before a command fails.
	opts.DialerRetries = 1
	opts.ContextTimeoutEnabled = true
	// Maintenance notifications are a Redis Enterprise feature. On other
	// servers the handshake fails and go-redis may log about it.
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return opts, nil
}

// redisLogger passes go-redis's own messages, such as failed dials, to the
// injected logger at debug level, because the store returns the same
// failures as errors and its caller logs those.
type redisLogger struct {
	logger  *slog.Logger
	secrets []string
}

func (l redisLogger) Printf(ctx context.Context, format string, args ...any) {
	if !l.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	detail := scrubText(fmt.Sprintf(format, args...), l.secrets)
	l.logger.DebugContext(ctx, "redis client", "detail", detail)
}

// fail wraps err with the step and the server, then removes the secrets.
func (s *redisStore) fail(step string, err error) error {
	return scrub(fmt.Errorf("%s in %s: %w", step, s.where, err), s.secrets)
}

func (s *redisStore) Put(ctx context.Context, provider intel.Provider, addr netip.Addr, outcome Outcome, value []byte, ttl time.Duration) error {
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

	ctx, cancel := context.WithTimeout(ctx, redisCallTimeout)
	defer cancel()
	now := s.clock()
	encoded := encodeEntry(Entry{Outcome: outcome, Value: value, StoredAt: now, ExpiresAt: now.Add(ttl)})
	if err := s.client.Set(ctx, s.prefix+key, encoded, atLeastMillisecond(ttl)).Err(); err != nil {
		return s.fail("caching "+key, err)
	}
	return nil
}

// atLeastMillisecond rounds a positive duration below 1 ms up to 1 ms, the
// smallest expiry Redis accepts.
func atLeastMillisecond(d time.Duration) time.Duration {
	return max(d, time.Millisecond)
}

func (s *redisStore) Get(ctx context.Context, provider intel.Provider, addr netip.Addr) (Entry, bool, error) {
	key, err := cacheKey(provider, addr)
	if err != nil {
		return Entry{}, false, err
	}
	if err := ctx.Err(); err != nil {
		return Entry{}, false, err
	}

	ctx, cancel := context.WithTimeout(ctx, redisCallTimeout)
	defer cancel()
	raw, err := s.client.Get(ctx, s.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, s.fail("reading "+key, err)
	}

	entry, found, err := liveEntry(raw, s.clock())
	if err != nil {
		return Entry{}, false, s.fail("reading "+key, err)
	}
	return entry, found, nil
}

func (s *redisStore) GetMany(ctx context.Context, provider intel.Provider, addrs []netip.Addr) (map[netip.Addr]Entry, error) {
	keys := make([]string, len(addrs))
	for i, addr := range addrs {
		key, err := cacheKey(provider, addr)
		if err != nil {
			return nil, err
		}
		keys[i] = s.prefix + key
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries := make(map[netip.Addr]Entry, len(addrs))
	if len(keys) == 0 {
		return entries, nil
	}

	ctx, cancel := context.WithTimeout(ctx, redisCallTimeout)
	defer cancel()
	values, err := s.client.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, s.fail(fmt.Sprintf("reading %d %s cache entries", len(keys), provider), err)
	}

	now := s.clock()
	for i, value := range values {
		raw, ok := value.(string)
		if !ok {
			continue // nil: no entry
		}
		entry, found, err := liveEntry([]byte(raw), now)
		if err != nil {
			return nil, s.fail("reading "+keys[i], err)
		}
		if found {
			entries[addrs[i]] = entry
		}
	}
	return entries, nil
}

func (s *redisStore) TakeBudget(ctx context.Context, provider intel.Provider, day time.Time, limit int) (int, bool, error) {
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

	ctx, cancel := context.WithTimeout(ctx, redisCallTimeout)
	defer cancel()
	result, err := takeBudgetScript.Run(ctx, s.client, []string{s.prefix + key}, limit, budgetKeep.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, false, s.fail("taking budget "+key, err)
	}
	if len(result) != 2 {
		return 0, false, s.fail("taking budget "+key, fmt.Errorf("unexpected script result %v", result))
	}
	return int(result[1]), result[0] == 1, nil
}

func (s *redisStore) BudgetUsed(ctx context.Context, provider intel.Provider, day time.Time) (int, error) {
	key, err := budgetKey(provider, day)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}

	ctx, cancel := context.WithTimeout(ctx, redisCallTimeout)
	defer cancel()
	raw, err := s.client.Get(ctx, s.prefix+key).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, s.fail("reading budget "+key, err)
	}
	used, err := strconv.Atoi(raw)
	if err != nil {
		return 0, s.fail("reading budget "+key, fmt.Errorf("count %q is not a number", raw))
	}
	return used, nil
}

func (s *redisStore) ExhaustBudget(ctx context.Context, provider intel.Provider, day time.Time, limit int) error {
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

	ctx, cancel := context.WithTimeout(ctx, redisCallTimeout)
	defer cancel()
	err = exhaustBudgetScript.Run(ctx, s.client, []string{s.prefix + key}, limit, budgetKeep.Milliseconds()).Err()
	if err != nil {
		return s.fail("exhausting budget "+key, err)
	}
	return nil
}

func (s *redisStore) SaveReport(ctx context.Context, report []byte) error {
	return s.saveDocument(ctx, reportKey, "the report", report)
}

func (s *redisStore) LoadReport(ctx context.Context) ([]byte, error) {
	return s.loadDocument(ctx, reportKey, "the report")
}

func (s *redisStore) SaveBlocklist(ctx context.Context, data []byte) error {
	return s.saveDocument(ctx, blocklistRedisKey, "the blocklist", data)
}

func (s *redisStore) LoadBlocklist(ctx context.Context) ([]byte, error) {
	return s.loadDocument(ctx, blocklistRedisKey, "the blocklist")
}

// saveDocument replaces the document under key, with no expiry; what names
// it in errors.
func (s *redisStore) saveDocument(ctx context.Context, key, what string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, redisCallTimeout)
	defer cancel()
	if err := s.client.Set(ctx, s.prefix+key, data, 0).Err(); err != nil {
		return s.fail("saving "+what, err)
	}
	return nil
}

// loadDocument returns the document under key, or ErrNotFound.
func (s *redisStore) loadDocument(ctx context.Context, key, what string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, redisCallTimeout)
	defer cancel()
	data, err := s.client.Get(ctx, s.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, s.fail("loading "+what, err)
	}
	return data, nil
}

func (s *redisStore) TryLock(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
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

	ctx, cancel := context.WithTimeout(ctx, redisCallTimeout)
	defer cancel()
	acquired, err := tryLockScript.Run(ctx, s.client, []string{s.prefix + key}, holder, atLeastMillisecond(ttl).Milliseconds()).Int()
	if err != nil {
		return false, s.fail("locking "+key, err)
	}
	return acquired == 1, nil
}

func (s *redisStore) Unlock(ctx context.Context, name, holder string) error {
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

	ctx, cancel := context.WithTimeout(ctx, redisCallTimeout)
	defer cancel()
	if err := unlockScript.Run(ctx, s.client, []string{s.prefix + key}, holder).Err(); err != nil {
		return s.fail("unlocking "+key, err)
	}
	return nil
}

func (s *redisStore) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, redisCallTimeout)
	defer cancel()
	if err := s.client.Ping(ctx).Err(); err != nil {
		return s.fail("pinging", err)
	}
	return nil
}

func (s *redisStore) Close() error {
	s.closeOnce.Do(func() {
		if err := s.client.Close(); err != nil {
			s.closeErr = s.fail("closing the client", err)
		}
	})
	return s.closeErr
}
