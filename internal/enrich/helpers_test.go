package enrich

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/threat-intel/threat-intel/internal/config"
	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/provider/providertest"
	"github.com/threat-intel/threat-intel/internal/store"
)

// Keys that must never appear in a log line, status, error or metric.
const (
	abuseIPDBKey = "abuseipdb-KEY-9f3b7e21c4"
	greyNoiseKey = "greynoise-KEY-5d0a8c64f1"
	otxKey       = "otx-KEY-b27e90d3aa"
	ipinfoToken  = "ipinfo-TOKEN-4c81f6e0d7"
)

var allKeys = []string{abuseIPDBKey, greyNoiseKey, otxKey, ipinfoToken}

// defaultRedisTestURL is the shared test Redis. Database 9 keeps the test
// keys away from a service's database 0.
const defaultRedisTestURL = "redis://127.0.0.1:6379/9"

// okBodies are the corpus responses each fake provider returns by default.
var okBodies = map[intel.Provider]string{
	intel.AbuseIPDB: "abuseipdb-check-verbose-docs.json",
	intel.GreyNoise: "greynoise-community-noise-found-demisto.json",
	intel.OTX:       "otx-indicators-ipv4-general-checkip.json",
	intel.IPinfo:    "ipinfo-lite-8.8.8.8-official-docs.json",
}

// fakeProvider is an httptest server on 127.0.0.1 standing in for one
// provider. Its handler can be swapped while the test runs.
type fakeProvider struct {
	*providertest.Server
	handler atomic.Pointer[http.Handler]

	mu    sync.Mutex
	times []time.Time // when each request arrived
}

func newFakeProvider(t *testing.T, h http.Handler) *fakeProvider {
	t.Helper()
	f := &fakeProvider{}
	f.Set(h)
	f.Server = providertest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.times = append(f.times, time.Now())
		f.mu.Unlock()
		(*f.handler.Load()).ServeHTTP(w, r)
	}))
	return f
}

// arrivals returns when each request arrived, in order.
func (f *fakeProvider) arrivals() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.times...)
}

// Set replaces the handler for the requests that follow.
func (f *fakeProvider) Set(h http.Handler) { f.handler.Store(&h) }

// Count returns the number of requests received.
func (f *fakeProvider) Count() int { return len(f.Requests()) }

// sequence passes the nth request to handlers[n], and every request after
// the last handler to the last one.
func sequence(handlers ...http.Handler) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := min(int(n.Add(1))-1, len(handlers)-1)
		handlers[i].ServeHTTP(w, r)
	})
}

// corpusReply responds with status and the corpus file api/name.
func corpusReply(t *testing.T, status int, name string) http.Handler {
	t.Helper()
	return providertest.Reply(status, providertest.JSON(), providertest.APIFile(t, name))
}

// retryAfter responds 429 with the given Retry-After seconds and body.
func retryAfter(seconds string, body []byte) http.Handler {
	return providertest.Reply(http.StatusTooManyRequests,
		http.Header{"Retry-After": {seconds}, "Content-Type": {"application/json"}}, body)
}

// testClock is the real clock shifted by an offset that a test can move,
// so that cache expiry and budget days can be driven without sleeping.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

// newClockAt returns a clock that reads hour:00 UTC of today's date now.
// Pinning the time of day keeps tests that reason about the end of the UTC
// day independent of when they run.
func newClockAt(hour int) *testClock {
	now := time.Now()
	y, m, d := now.UTC().Date()
	return &testClock{offset: time.Date(y, m, d, hour, 0, 0, 0, time.UTC).Sub(now)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// logBuffer collects log output from concurrent goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines returns the log lines that contain every one of the substrings.
func (b *logBuffer) Lines(substrings ...string) []string {
	var out []string
	for line := range strings.SplitSeq(b.String(), "\n") {
		match := line != ""
		for _, s := range substrings {
			match = match && strings.Contains(line, s)
		}
		if match {
			out = append(out, line)
		}
	}
	return out
}

// testEnv is four fake providers, a store, a clock and the options of the
// engines built on them. A test changes the fields, then calls engine.
type testEnv struct {
	t        *testing.T
	fakes    map[intel.Provider]*fakeProvider
	cfg      *config.Config
	limits   map[intel.Provider]Limits
	store    store.Store
	clock    *testClock
	logs     *logBuffer
	registry *prometheus.Registry
	options  Options
}

// newTestEnv returns fake providers that respond with the corpus success
// bodies, keys for all four, a bbolt store in a temporary directory and a
// clock pinned to 12:00 UTC. Nothing is paced or budgeted, and retries
// wait milliseconds, unless the test changes that.
func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	env := &testEnv{
		t:     t,
		fakes: map[intel.Provider]*fakeProvider{},
		clock: newClockAt(12),
		logs:  &logBuffer{},
	}
	for _, name := range intel.Providers {
		env.fakes[name] = newFakeProvider(t, corpusReply(t, http.StatusOK, okBodies[name]))
	}
	env.cfg = &config.Config{
		AbuseIPDBAPIKey:  abuseIPDBKey,
		GreyNoiseAPIKey:  greyNoiseKey,
		OTXAPIKey:        otxKey,
		IPinfoToken:      ipinfoToken,
		AbuseIPDBBaseURL: env.fakes[intel.AbuseIPDB].URL,
		GreyNoiseBaseURL: env.fakes[intel.GreyNoise].URL,
		OTXBaseURL:       env.fakes[intel.OTX].URL,
		IPinfoBaseURL:    env.fakes[intel.IPinfo].URL,
		IPinfoMode:       "lite",
		ProviderTimeout:  2 * time.Second,
		CacheTTL:         24 * time.Hour,
		NotFoundTTL:      time.Hour,
	}
	env.limits = map[intel.Provider]Limits{}
	for _, name := range intel.Providers {
		env.limits[name] = Limits{CacheTTL: env.cfg.CacheTTL, NotFoundTTL: env.cfg.NotFoundTTL}
	}
	env.store = openBoltStore(t, env.clock)
	env.options = Options{
		Concurrency: 4,
		Retry:       RetryPolicy{MaxAttempts: 3, BaseDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond, Jitter: 0.5},
	}
	return env
}

// setLimits changes the limits of one provider.
func (env *testEnv) setLimits(name intel.Provider, change func(*Limits)) {
	l := env.limits[name]
	change(&l)
	env.limits[name] = l
}

// engine builds an Engine from the current fields, with a new registry.
func (env *testEnv) engine() *Engine {
	env.t.Helper()
	opts := env.options
	opts.Providers = ProvidersFromConfig(env.cfg)
	opts.Store = env.store
	opts.Limits = env.limits
	if opts.Classifier == nil {
		opts.Classifier = netclass.New(nil)
	}
	opts.Now = env.clock.Now
	opts.Logger = slog.New(slog.NewTextHandler(env.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env.registry = prometheus.NewRegistry()
	opts.Registerer = env.registry
	e, err := New(opts)
	if err != nil {
		env.t.Fatalf("New: %v", err)
	}
	return e
}

// requests returns the number of requests each fake provider received.
func (env *testEnv) requests() map[intel.Provider]int {
	out := map[intel.Provider]int{}
	for name, f := range env.fakes {
		out[name] = f.Count()
	}
	return out
}

func openBoltStore(t testing.TB, clock *testClock) store.Store {
	t.Helper()
	opts := store.Options{DataDir: t.TempDir()}
	if clock != nil {
		opts.Clock = clock.Now
	}
	s, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("opening the bbolt store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openRedisStore opens the store on the test Redis (REDIS_TEST_URL, default
// database 9 on 127.0.0.1) under a key prefix of its own, and deletes the
// keys under that prefix when the test ends. The test fails when the
// server cannot be reached.
func openRedisStore(t *testing.T, clock *testClock) store.Store {
	t.Helper()
	url := os.Getenv("REDIS_TEST_URL")
	if url == "" {
		url = defaultRedisTestURL
	}
	redisOpts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("invalid REDIS_TEST_URL: %v", err)
	}
	client := redis.NewClient(redisOpts)
	t.Cleanup(func() { client.Close() })
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("these tests need a Redis server at REDIS_TEST_URL (default %s): %v", defaultRedisTestURL, err)
	}

	random := make([]byte, 6)
	rand.Read(random)
	prefix := "threat-intel-test:enrich:" + hex.EncodeToString(random) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
	})

	s, err := store.Open(t.Context(), store.Options{RedisURL: url, KeyPrefix: prefix, Clock: clock.Now})
	if err != nil {
		t.Fatalf("opening the Redis store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// addrs parses addresses, failing the test on a typo.
func addrs(t testing.TB, texts ...string) []netip.Addr {
	t.Helper()
	out := make([]netip.Addr, len(texts))
	for i, s := range texts {
		a, err := netip.ParseAddr(s)
		if err != nil {
			t.Fatalf("invalid test address %q: %v", s, err)
		}
		out[i] = a
	}
	return out
}

// publicAddrs returns n distinct documentation addresses.
func publicAddrs(n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		switch i % 3 {
		case 0:
			out[i] = netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + i/3)})
		case 1:
			out[i] = netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + i/3)})
		default:
			out[i] = netip.MustParseAddr("2001:db8::" + hex.EncodeToString([]byte{byte(1 + i/3)}))
		}
	}
	return out
}

// statuses returns the status of one provider for each address, in order.
func statuses(lookups map[netip.Addr]intel.Lookup, name intel.Provider, order []netip.Addr) []intel.Status {
	out := make([]intel.Status, len(order))
	for i, a := range order {
		out[i] = lookups[a].Status[name]
	}
	return out
}

// countStatus counts the addresses whose status for name is want.
func countStatus(lookups map[netip.Addr]intel.Lookup, name intel.Provider, want intel.Status) int {
	n := 0
	for _, l := range lookups {
		if l.Status[name] == want {
			n++
		}
	}
	return n
}
