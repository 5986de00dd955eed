package store

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
)

func TestRedisStore(t *testing.T) {
	url := redisTestURL(t)
	raw := rawRedisClient(t, url)
	testStore(t, func(t *testing.T) opener {
		prefix := uniquePrefix(t, raw)
		return func(t *testing.T, clock *fakeClock) Store {
			t.Helper()
			return openRedisForTest(t, Options{RedisURL: url, KeyPrefix: prefix, Clock: clock.Now})
		}
	})
}

func openRedisForTest(t *testing.T, opts Options) Store {
	t.Helper()
	s, err := Open(t.Context(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestRedisKeyLayout(t *testing.T) {
	url := redisTestURL(t)
	raw := rawRedisClient(t, url)
	prefix := uniquePrefix(t, raw)
	clock := newFakeClock()
	s := openRedisForTest(t, Options{RedisURL: url, KeyPrefix: prefix, Clock: clock.Now})

	mustPut(t, s, intel.AbuseIPDB, addr1, Found, []byte(`{"x":1}`), time.Hour)
	mustTake(t, s, intel.AbuseIPDB, clock.Now(), 10, true)
	mustSaveReport(t, s, []byte("report"))
	mustLock(t, s, "cycle", "replica-a", time.Minute, true)

	// PTTL replies -2 for a missing key and -1 for a key without expiry,
	// which go-redis returns as that many nanoseconds.
	const (
		missing  = -2 * time.Nanosecond
		noExpiry = -1 * time.Nanosecond
	)
	tests := []struct {
		key            string
		minTTL, maxTTL time.Duration // noExpiry for both when the key never expires
		wantValue      string        // "" to skip the value check
	}{
		{key: "ip:abuseipdb:192.0.2.1", minTTL: time.Hour - time.Minute, maxTTL: time.Hour},
		{key: "budget:abuseipdb:2024-05-01", minTTL: budgetKeep - time.Minute, maxTTL: budgetKeep, wantValue: "1"},
		{key: "report:last", minTTL: noExpiry, maxTTL: noExpiry, wantValue: "report"},
		{key: "lock:cycle", minTTL: time.Minute - 10*time.Second, maxTTL: time.Minute, wantValue: "replica-a"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			key := prefix + tt.key
			ttl, err := raw.PTTL(t.Context(), key).Result()
			if err != nil {
				t.Fatalf("PTTL %s: %v", key, err)
			}
			if ttl == missing {
				t.Fatalf("key %s does not exist", key)
			}
			if ttl < tt.minTTL || ttl > tt.maxTTL {
				t.Errorf("key %s expires in %s, want between %s and %s", key, ttl, tt.minTTL, tt.maxTTL)
			}

			if tt.wantValue == "" {
				return
			}
			got, err := raw.Get(t.Context(), key).Result()
			if err != nil {
				t.Fatalf("GET %s: %v", key, err)
			}
			if got != tt.wantValue {
				t.Errorf("GET %s = %q, want %q", key, got, tt.wantValue)
			}
		})
	}
}

func TestRedisDefaultKeyPrefix(t *testing.T) {
	s, err := Open(t.Context(), Options{RedisURL: "redis://127.0.0.1:6379/9"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.(*redisStore).prefix; got != "threat-intel:" {
		t.Errorf("key prefix = %q, want %q", got, "threat-intel:")
	}
}

// TestRedisEntryExpiresOnServer checks that the server drops an entry at
// its TTL on its own, with the real clock.
func TestRedisEntryExpiresOnServer(t *testing.T) {
	url := redisTestURL(t)
	raw := rawRedisClient(t, url)
	prefix := uniquePrefix(t, raw)
	s := openRedisForTest(t, Options{RedisURL: url, KeyPrefix: prefix})

	mustPut(t, s, intel.GreyNoise, addr1, NotFound, []byte("short"), 300*time.Millisecond)
	mustGet(t, s, intel.GreyNoise, addr1)

	key := prefix + "ip:greynoise:192.0.2.1"
	deadline := time.Now().Add(5 * time.Second)
	for raw.Exists(t.Context(), key).Val() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("key %s still exists 5 s after its 300 ms TTL", key)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mustMiss(t, s, intel.GreyNoise, addr1)
}

// TestRedisBudgetAcrossClients checks the budget with several clients, as
// several replicas would use it.
func TestRedisBudgetAcrossClients(t *testing.T) {
	url := redisTestURL(t)
	prefix := uniquePrefix(t, rawRedisClient(t, url))
	day := newFakeClock().Now()
	const (
		clients    = 5
		goroutines = 10
		limit      = 23
	)

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		taken int
		errs  []error
	)
	for range clients {
		s := openRedisForTest(t, Options{RedisURL: url, KeyPrefix: prefix})
		for range goroutines {
			wg.Go(func() {
				_, ok, err := s.TakeBudget(context.Background(), intel.AbuseIPDB, day, limit)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				if ok {
					taken++
				}
			})
		}
	}
	wg.Wait()

	if len(errs) > 0 {
		t.Fatalf("%d takes failed, first: %v", len(errs), errs[0])
	}
	if taken != limit {
		t.Errorf("%d takes succeeded across %d clients, want %d", taken, clients, limit)
	}
}

// syncBuffer is a bytes.Buffer that goroutines may write concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// failBound is the longest a call may take against a dead or hanging
// server: redisCallTimeout plus slack for a loaded machine.
const failBound = redisCallTimeout + 2*time.Second

// assertFailsFast runs assertAllFail and checks that each error came within
// failBound and does not contain secret.
func assertFailsFast(t *testing.T, s Store, secret string) {
	t.Helper()
	start := time.Now()
	errs := assertAllFail(t, t.Context(), s, newFakeClock().Now())
	if elapsed := time.Since(start); elapsed > time.Duration(len(errs))*failBound {
		t.Errorf("%d failing calls took %s, want at most %s each", len(errs), elapsed, failBound)
	}
	for _, err := range errs {
		if secret != "" && strings.Contains(err.Error(), secret) {
			t.Errorf("error contains the password: %q", err)
		}
	}
}

func TestRedisUnreachable(t *testing.T) {
	password := uniqueHex(8)
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// Nothing listens on port 1, so every connection is refused.
	s := openRedisForTest(t, Options{RedisURL: "redis://:" + password + "@127.0.0.1:1/9", Logger: logger})
	assertFailsFast(t, s, password)

	// go-redis reports the failed dials itself; they go to the injected
	// logger instead of stderr.
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("logger output lacks the failed dial:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), password) {
		t.Errorf("logger output contains the password:\n%s", logs.String())
	}

	err := s.Ping(t.Context())
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("Ping error %v does not name the server", err)
	}
}

func TestRedisHangingServer(t *testing.T) {
	// A listener that accepts connections and never replies, like a
	// server that hangs.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})

	s := openRedisForTest(t, Options{RedisURL: "redis://" + l.Addr().String() + "/9"})
	for _, op := range []struct {
		name string
		call func() error
	}{
		{"TakeBudget", func() error {
			_, ok, err := s.TakeBudget(t.Context(), intel.AbuseIPDB, time.Now(), 10)
			if ok {
				t.Error("TakeBudget returned ok from a hanging server")
			}
			return err
		}},
		{"Get", func() error {
			_, _, err := s.Get(t.Context(), intel.AbuseIPDB, addr1)
			return err
		}},
	} {
		start := time.Now()
		err := op.call()
		elapsed := time.Since(start)
		if err == nil {
			t.Errorf("%s against a hanging server returned no error", op.name)
		}
		if elapsed > failBound {
			t.Errorf("%s against a hanging server took %s, want at most %s", op.name, elapsed, failBound)
		}
	}
}

func TestRedisServerRestart(t *testing.T) {
	port := freePort(t)
	server := startRedisServer(t, port)
	clock := newFakeClock()
	s := openRedisForTest(t, Options{RedisURL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), Clock: clock.Now})

	mustPut(t, s, intel.AbuseIPDB, addr1, Found, []byte("before"), time.Hour)
	mustTake(t, s, intel.AbuseIPDB, clock.Now(), 10, true)
	mustGet(t, s, intel.AbuseIPDB, addr1)

	server.kill()
	assertFailsFast(t, s, "")

	server.start()
	deadline := time.Now().Add(5 * time.Second)
	for s.Ping(t.Context()) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the store did not reach the restarted server within 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The test server keeps nothing on disk, so it restarts empty.
	mustMiss(t, s, intel.AbuseIPDB, addr1)
	mustPut(t, s, intel.AbuseIPDB, addr1, Found, []byte("after"), time.Hour)
	if got := mustGet(t, s, intel.AbuseIPDB, addr1).Value; string(got) != "after" {
		t.Errorf("value after recovery = %q, want %q", got, "after")
	}
	mustTake(t, s, intel.AbuseIPDB, clock.Now(), 10, true)
	mustBudgetUsed(t, s, intel.AbuseIPDB, clock.Now(), 1)
}

func TestRedisWrongPassword(t *testing.T) {
	port := freePort(t)
	password := uniqueHex(8)
	startRedisServer(t, port, "--requirepass", password)

	wrong := uniqueHex(8)
	s := openRedisForTest(t, Options{RedisURL: fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", wrong, port)})
	err := s.Ping(t.Context())
	if err == nil {
		t.Fatal("Ping with a wrong password returned no error")
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error contains the password: %q", err)
	}
	assertFailsFast(t, s, wrong)

	s = openRedisForTest(t, Options{RedisURL: fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", password, port)})
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping with the right password: %v", err)
	}
}

func TestRedisURLInvalid(t *testing.T) {
	const password = "hunter2-secret"
	tests := []struct {
		name, url, redactedURL string
	}{
		{"wrong scheme", "http://user:hunter2-secret@127.0.0.1:6379/0", "http://xxxxx@127.0.0.1:6379/0"},
		{"port not a number", "redis://user:hunter2-secret@127.0.0.1:port/0", "redis://xxxxx@127.0.0.1:port/0"},
		{"database not a number", "redis://:hunter2-secret@127.0.0.1:6379/nine", "redis://xxxxx@127.0.0.1:6379/nine"},
		{"control character", "redis://user:hunter2-secret@host\x7f:6379/0", "redis://xxxxx@host\x7f:6379/0"},
		{"bad escape in password", "redis://user:hunter2-secret%zz@127.0.0.1:6379/0", "redis://xxxxx@127.0.0.1:6379/0"},
		{"no scheme", "user:hunter2-secret@127.0.0.1:6379", "xxxxx@127.0.0.1:6379"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.Context(), Options{RedisURL: tt.url})
			if err == nil {
				_ = s.Close()
				t.Fatal("Open returned no error")
			}
			msg := err.Error()
			if strings.Contains(msg, password) {
				t.Errorf("error contains the password: %q", msg)
			}
			if !strings.Contains(msg, "REDIS_URL") {
				t.Errorf("error %q does not name REDIS_URL", msg)
			}
			if !strings.Contains(msg, fmt.Sprintf("%q", tt.redactedURL)) {
				t.Errorf("error %q does not quote the redacted URL %q", msg, tt.redactedURL)
			}
		})
	}
}

func TestRedisOptions(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		opts, err := redisOptions("redis://127.0.0.1:6379/9")
		if err != nil {
			t.Fatal(err)
		}
		if opts.DialTimeout != redisDialTimeout || opts.ReadTimeout != redisReadTimeout || opts.WriteTimeout != redisWriteTimeout {
			t.Errorf("timeouts dial %s read %s write %s, want %s %s %s",
				opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout, redisDialTimeout, redisReadTimeout, redisWriteTimeout)
		}
		if opts.MaxRetries != 1 {
			t.Errorf("MaxRetries = %d, want 1", opts.MaxRetries)
		}
		if opts.DB != 9 {
			t.Errorf("DB = %d, want 9", opts.DB)
		}
	})
	t.Run("URL overrides", func(t *testing.T) {
		opts, err := redisOptions("redis://127.0.0.1:6379/0?dial_timeout=5s&read_timeout=3s&max_retries=4")
		if err != nil {
			t.Fatal(err)
		}
		if opts.DialTimeout != 5*time.Second || opts.ReadTimeout != 3*time.Second || opts.MaxRetries != 4 {
			t.Errorf("dial %s read %s retries %d, want the URL's 5s 3s 4", opts.DialTimeout, opts.ReadTimeout, opts.MaxRetries)
		}
	})
}
