package store

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// fakeClock is a settable clock for entry timestamps and expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
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

// opener opens a store on one backend's state. All stores that one opener
// returns share that state, so closing one and opening another is a
// restart. The opener closes its stores when the test ends.
type opener func(t *testing.T, clock *fakeClock) Store

var (
	addr1 = netip.MustParseAddr("192.0.2.1")
	addr2 = netip.MustParseAddr("198.51.100.2")
	addr3 = netip.MustParseAddr("203.0.113.3")
	addr4 = netip.MustParseAddr("2001:db8::4")
)

// testStore runs the conformance suite that every backend must pass.
// newOpener returns an opener on fresh, empty state.
func testStore(t *testing.T, newOpener func(t *testing.T) opener) {
	t.Helper()

	t.Run("cache round trip", func(t *testing.T) {
		clock := newFakeClock()
		s := newOpener(t)(t, clock)
		value := []byte(`{"abuse_confidence_score":80}`)

		mustPut(t, s, intel.AbuseIPDB, addr1, Found, value, 24*time.Hour)

		entry := mustGet(t, s, intel.AbuseIPDB, addr1)
		if entry.Outcome != Found {
			t.Errorf("Outcome = %s, want found", entry.Outcome)
		}
		if !bytes.Equal(entry.Value, value) {
			t.Errorf("Value = %q, want %q", entry.Value, value)
		}
		if !entry.StoredAt.Equal(clock.Now()) {
			t.Errorf("StoredAt = %s, want %s", entry.StoredAt, clock.Now())
		}
		if want := clock.Now().Add(24 * time.Hour); !entry.ExpiresAt.Equal(want) {
			t.Errorf("ExpiresAt = %s, want %s", entry.ExpiresAt, want)
		}
	})

	t.Run("cache miss", func(t *testing.T) {
		s := newOpener(t)(t, newFakeClock())
		mustMiss(t, s, intel.AbuseIPDB, addr3)
	})

	t.Run("cache empty value", func(t *testing.T) {
		s := newOpener(t)(t, newFakeClock())
		mustPut(t, s, intel.GreyNoise, addr1, NotFound, nil, time.Hour)
		entry := mustGet(t, s, intel.GreyNoise, addr1)
		if len(entry.Value) != 0 {
			t.Errorf("Value = %q, want empty", entry.Value)
		}
	})

	t.Run("cache expiry", func(t *testing.T) {
		clock := newFakeClock()
		s := newOpener(t)(t, clock)
		mustPut(t, s, intel.OTX, addr1, Found, []byte(`{}`), time.Hour)

		clock.Advance(time.Hour - time.Second)
		mustGet(t, s, intel.OTX, addr1)

		clock.Advance(time.Second)
		mustMiss(t, s, intel.OTX, addr1)
	})

	t.Run("not found TTL shorter", func(t *testing.T) {
		clock := newFakeClock()
		s := newOpener(t)(t, clock)
		mustPut(t, s, intel.GreyNoise, addr1, Found, []byte(`{"noise":true}`), 24*time.Hour)
		mustPut(t, s, intel.GreyNoise, addr2, NotFound, []byte(`{"observed":false}`), time.Hour)

		entry := mustGet(t, s, intel.GreyNoise, addr2)
		if entry.Outcome != NotFound {
			t.Errorf("Outcome = %s, want not found", entry.Outcome)
		}
		if entry.Outcome.Status() != intel.StatusNotFound {
			t.Errorf("Outcome.Status() = %q, want %q", entry.Outcome.Status(), intel.StatusNotFound)
		}

		clock.Advance(2 * time.Hour)
		mustGet(t, s, intel.GreyNoise, addr1)
		mustMiss(t, s, intel.GreyNoise, addr2)
	})

	t.Run("provider isolation", func(t *testing.T) {
		s := newOpener(t)(t, newFakeClock())
		mustPut(t, s, intel.AbuseIPDB, addr1, Found, []byte("abuseipdb"), time.Hour)
		mustPut(t, s, intel.GreyNoise, addr1, Found, []byte("greynoise"), time.Hour)

		if got := mustGet(t, s, intel.AbuseIPDB, addr1).Value; string(got) != "abuseipdb" {
			t.Errorf("AbuseIPDB value = %q, want %q", got, "abuseipdb")
		}
		if got := mustGet(t, s, intel.GreyNoise, addr1).Value; string(got) != "greynoise" {
			t.Errorf("GreyNoise value = %q, want %q", got, "greynoise")
		}
		mustMiss(t, s, intel.OTX, addr1)
	})

	t.Run("cache overwrite", func(t *testing.T) {
		clock := newFakeClock()
		s := newOpener(t)(t, clock)
		mustPut(t, s, intel.OTX, addr1, Found, []byte("old"), 24*time.Hour)
		mustPut(t, s, intel.OTX, addr1, NotFound, []byte("new"), time.Hour)

		entry := mustGet(t, s, intel.OTX, addr1)
		if entry.Outcome != NotFound || string(entry.Value) != "new" {
			t.Errorf("entry = %s %q, want not found %q", entry.Outcome, entry.Value, "new")
		}
		clock.Advance(2 * time.Hour)
		mustMiss(t, s, intel.OTX, addr1)
	})

	t.Run("put rejects invalid", func(t *testing.T) {
		s := newOpener(t)(t, newFakeClock())
		tests := []struct {
			name     string
			provider intel.Provider
			addr     netip.Addr
			outcome  Outcome
			ttl      time.Duration
		}{
			{"zero outcome", intel.AbuseIPDB, addr1, 0, time.Hour},
			{"unknown outcome", intel.AbuseIPDB, addr1, 3, time.Hour},
			{"zero TTL", intel.AbuseIPDB, addr1, Found, 0},
			{"negative TTL", intel.AbuseIPDB, addr1, Found, -time.Second},
			{"zero address", intel.AbuseIPDB, netip.Addr{}, Found, time.Hour},
			{"empty provider", "", addr1, Found, time.Hour},
			{"provider with colon", "abuse:ipdb", addr1, Found, time.Hour},
			{"provider upper case", "AbuseIPDB", addr1, Found, time.Hour},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := s.Put(t.Context(), tt.provider, tt.addr, tt.outcome, []byte("x"), tt.ttl)
				if err == nil {
					t.Fatal("Put returned no error")
				}
			})
		}
		mustMiss(t, s, intel.AbuseIPDB, addr1)
	})

	t.Run("address forms", func(t *testing.T) {
		s := newOpener(t)(t, newFakeClock())
		mustPut(t, s, intel.IPinfo, netip.MustParseAddr("::ffff:192.0.2.7"), Found, []byte("mapped"), time.Hour)
		mustPut(t, s, intel.IPinfo, netip.MustParseAddr("2001:db8::7%eth0"), Found, []byte("zoned"), time.Hour)

		if got := mustGet(t, s, intel.IPinfo, netip.MustParseAddr("192.0.2.7")).Value; string(got) != "mapped" {
			t.Errorf("value of 192.0.2.7 = %q, want %q", got, "mapped")
		}
		if got := mustGet(t, s, intel.IPinfo, netip.MustParseAddr("2001:db8::7")).Value; string(got) != "zoned" {
			t.Errorf("value of 2001:db8::7 = %q, want %q", got, "zoned")
		}
	})

	t.Run("get many", func(t *testing.T) {
		clock := newFakeClock()
		s := newOpener(t)(t, clock)
		mustPut(t, s, intel.AbuseIPDB, addr1, Found, []byte("one"), time.Hour)
		mustPut(t, s, intel.AbuseIPDB, addr2, NotFound, []byte("two"), time.Hour)
		mustPut(t, s, intel.AbuseIPDB, addr3, Found, []byte("three"), time.Minute)
		mustPut(t, s, intel.GreyNoise, addr4, Found, []byte("other provider"), time.Hour)
		clock.Advance(2 * time.Minute)

		got, err := s.GetMany(t.Context(), intel.AbuseIPDB, []netip.Addr{addr1, addr2, addr3, addr4})
		if err != nil {
			t.Fatalf("GetMany: %v", err)
		}
		if len(got) != 2 {
			t.Errorf("GetMany returned %d entries, want 2 (%v)", len(got), got)
		}
		if e, ok := got[addr1]; !ok || e.Outcome != Found || string(e.Value) != "one" {
			t.Errorf("entry of %s = %v, %t; want found %q", addr1, e, ok, "one")
		}
		if e, ok := got[addr2]; !ok || e.Outcome != NotFound || string(e.Value) != "two" {
			t.Errorf("entry of %s = %v, %t; want not found %q", addr2, e, ok, "two")
		}
		if _, ok := got[addr3]; ok {
			t.Errorf("expired entry of %s returned", addr3)
		}
	})

	t.Run("get many empty", func(t *testing.T) {
		s := newOpener(t)(t, newFakeClock())
		got, err := s.GetMany(t.Context(), intel.AbuseIPDB, nil)
		if err != nil {
			t.Fatalf("GetMany: %v", err)
		}
		if len(got) != 0 {
			t.Errorf("GetMany(nil) = %v, want empty", got)
		}
	})

	t.Run("get many invalid address", func(t *testing.T) {
		s := newOpener(t)(t, newFakeClock())
		_, err := s.GetMany(t.Context(), intel.AbuseIPDB, []netip.Addr{addr1, {}})
		if err == nil {
			t.Fatal("GetMany with a zero address returned no error")
		}
	})

	t.Run("budget up to limit", func(t *testing.T) {
		clock := newFakeClock()
		s := newOpener(t)(t, clock)
		day := clock.Now()
		for i, want := range []struct {
			remaining int
			ok        bool
		}{{2, true}, {1, true}, {0, true}, {0, false}, {0, false}} {
			remaining, ok, err := s.TakeBudget(t.Context(), intel.AbuseIPDB, day, 3)
			if err != nil {
				t.Fatalf("take %d: %v", i+1, err)
			}
			if remaining != want.remaining || ok != want.ok {
				t.Errorf("take %d = (%d, %t), want (%d, %t)", i+1, remaining, ok, want.remaining, want.ok)
			}
		}
		mustBudgetUsed(t, s, intel.AbuseIPDB, day, 3)
	})

	t.Run("budget zero limit", func(t *testing.T) {
		clock := newFakeClock()
		s := newOpener(t)(t, clock)
		remaining, ok, err := s.TakeBudget(t.Context(), intel.AbuseIPDB, clock.Now(), 0)
		if err != nil || ok || remaining != 0 {
			t.Errorf("TakeBudget with limit 0 = (%d, %t, %v), want (0, false, nil)", remaining, ok, err)
		}
		mustBudgetUsed(t, s, intel.AbuseIPDB, clock.Now(), 0)
	})

	t.Run("budget rejects invalid", func(t *testing.T) {
		clock := newFakeClock()
		s := newOpener(t)(t, clock)
		tests := []struct {
			name     string
			provider intel.Provider
			day      time.Time
			limit    int
		}{
			{"negative limit", intel.AbuseIPDB, clock.Now(), -1},
			{"zero day", intel.AbuseIPDB, time.Time{}, 10},
			{"empty provider", "", clock.Now(), 10},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, ok, err := s.TakeBudget(t.Context(), tt.provider, tt.day, tt.limit)
				if err == nil {
					t.Error("TakeBudget returned no error")
				}
				if ok {
					t.Error("TakeBudget returned ok with an error")
				}
				if err := s.ExhaustBudget(t.Context(), tt.provider, tt.day, tt.limit); err == nil {
					t.Error("ExhaustBudget returned no error")
				}
			})
		}
	})

	t.Run("budget concurrent", func(t *testing.T) {
		clock := newFakeClock()
		s := newOpener(t)(t, clock)
		const (
			workers   = 50
			perWorker = 2
			limit     = 37
		)
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			taken     int
			remaining = map[int]int{}
			errs      []error
		)
		for range workers {
			wg.Go(func() {
				for range perWorker {
					left, ok, err := s.TakeBudget(context.Background(), intel.AbuseIPDB, clock.Now(), limit)
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					}
					if ok {
						taken++
						remaining[left]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()

		if len(errs) > 0 {
			t.Fatalf("%d takes failed, first: %v", len(errs), errs[0])
		}
		if taken != limit {
			t.Errorf("%d takes succeeded, want %d", taken, limit)
		}
		// Each successful take saw its own count, so each remaining value
		// from limit-1 down to 0 appears exactly once.
		for left := range limit {
			if remaining[left] != 1 {
				t.Errorf("remaining %d returned %d times, want once", left, remaining[left])
			}
		}
		mustBudgetUsed(t, s, intel.AbuseIPDB, clock.Now(), limit)
	})

	t.Run("budget new UTC day", func(t *testing.T) {
		s := newOpener(t)(t, newFakeClock())
		lastSecond := time.Date(2024, 5, 1, 23, 59, 59, 0, time.UTC)
		nextDay := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
		// 01:30 at UTC+2 on 2 May is still 1 May in UTC.
		sameUTCDay := time.Date(2024, 5, 2, 1, 30, 0, 0, time.FixedZone("UTC+2", 2*3600))

		if err := s.ExhaustBudget(t.Context(), intel.AbuseIPDB, lastSecond, 2); err != nil {
			t.Fatalf("ExhaustBudget: %v", err)
		}
		mustTake(t, s, intel.AbuseIPDB, sameUTCDay, 2, false)
		mustTake(t, s, intel.AbuseIPDB, nextDay, 2, true)
		mustBudgetUsed(t, s, intel.AbuseIPDB, nextDay, 1)
		mustBudgetUsed(t, s, intel.AbuseIPDB, lastSecond, 2)
	})

	t.Run("budget per provider", func(t *testing.T) {
		clock := newFakeClock()
		s := newOpener(t)(t, clock)
		if err := s.ExhaustBudget(t.Context(), intel.AbuseIPDB, clock.Now(), 5); err != nil {
			t.Fatalf("ExhaustBudget: %v", err)
		}
		mustTake(t, s, intel.AbuseIPDB, clock.Now(), 5, false)
		mustTake(t, s, intel.GreyNoise, clock.Now(), 5, true)
		mustBudgetUsed(t, s, intel.GreyNoise, clock.Now(), 1)
	})

	t.Run("budget exhaust", func(t *testing.T) {
		clock := newFakeClock()
		s := newOpener(t)(t, clock)
		day := clock.Now()
		mustTake(t, s, intel.AbuseIPDB, day, 10, true)

		if err := s.ExhaustBudget(t.Context(), intel.AbuseIPDB, day, 10); err != nil {
			t.Fatalf("ExhaustBudget: %v", err)
		}
		mustBudgetUsed(t, s, intel.AbuseIPDB, day, 10)
		mustTake(t, s, intel.AbuseIPDB, day, 10, false)

		// A smaller limit never lowers the count.
		if err := s.ExhaustBudget(t.Context(), intel.AbuseIPDB, day, 4); err != nil {
			t.Fatalf("ExhaustBudget with a smaller limit: %v", err)
		}
		mustBudgetUsed(t, s, intel.AbuseIPDB, day, 10)
	})

	t.Run("budget unused day", func(t *testing.T) {
		clock := newFakeClock()
		s := newOpener(t)(t, clock)
		mustBudgetUsed(t, s, intel.OTX, clock.Now(), 0)
	})

	t.Run("report", func(t *testing.T) {
		s := newOpener(t)(t, newFakeClock())
		if _, err := s.LoadReport(t.Context()); !errors.Is(err, ErrNotFound) {
			t.Fatalf("LoadReport before any save: err = %v, want ErrNotFound", err)
		}

		first := []byte(`{"generated_at":"2024-05-01T12:00:00Z"}`)
		mustSaveReport(t, s, first)
		mustLoadReport(t, s, first)

		// A large report replaces the first one whole.
		second := bytes.Repeat([]byte("r"), 1<<20)
		mustSaveReport(t, s, second)
		mustLoadReport(t, s, second)
	})

	t.Run("blocklist", func(t *testing.T) {
		s := newOpener(t)(t, newFakeClock())
		if _, err := s.LoadBlocklist(t.Context()); !errors.Is(err, ErrNotFound) {
			t.Fatalf("LoadBlocklist before any save: err = %v, want ErrNotFound", err)
		}
		members := []byte(`{"entries":[{"ip":"203.0.113.7"}]}`)
		if err := s.SaveBlocklist(t.Context(), members); err != nil {
			t.Fatal(err)
		}
		got, err := s.LoadBlocklist(t.Context())
		if err != nil || !bytes.Equal(got, members) {
			t.Fatalf("LoadBlocklist = %q, %v; want what was saved", got, err)
		}

		// The blocklist and the report are separate documents.
		mustSaveReport(t, s, []byte(`{"report":true}`))
		if got, _ := s.LoadBlocklist(t.Context()); !bytes.Equal(got, members) {
			t.Errorf("saving the report changed the blocklist to %q", got)
		}
	})

	t.Run("lock", func(t *testing.T) {
		s := newOpener(t)(t, newFakeClock())
		mustLock(t, s, "cycle", "replica-a", time.Minute, true)
		mustLock(t, s, "cycle", "replica-b", time.Minute, false)
		mustLock(t, s, "cycle", "replica-a", time.Minute, true) // renewal
		mustLock(t, s, "feeds", "replica-b", time.Minute, true) // another name

		mustUnlock(t, s, "cycle", "replica-b") // not the holder: no effect
		mustLock(t, s, "cycle", "replica-b", time.Minute, false)

		mustUnlock(t, s, "cycle", "replica-a")
		mustLock(t, s, "cycle", "replica-b", time.Minute, true)
	})

	t.Run("lock expiry", func(t *testing.T) {
		clock := newFakeClock()
		s := newOpener(t)(t, clock)
		mustLock(t, s, "cycle", "replica-a", 100*time.Millisecond, true)
		mustLock(t, s, "cycle", "replica-b", time.Minute, false)

		// The embedded store reads the fake clock and Redis its own, so
		// advance the one and wait for the other.
		clock.Advance(time.Second)
		deadline := time.Now().Add(5 * time.Second)
		for {
			ok, err := s.TryLock(t.Context(), "cycle", "replica-b", time.Minute)
			if err != nil {
				t.Fatalf("TryLock: %v", err)
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("replica-b did not get the lease within 5 s after it expired")
			}
			time.Sleep(20 * time.Millisecond)
		}
		mustLock(t, s, "cycle", "replica-a", time.Minute, false)
	})

	t.Run("lock rejects invalid", func(t *testing.T) {
		s := newOpener(t)(t, newFakeClock())
		tests := []struct {
			name, lock, holder string
			ttl                time.Duration
		}{
			{"empty name", "", "replica-a", time.Minute},
			{"name with space", "the cycle", "replica-a", time.Minute},
			{"empty holder", "cycle", "", time.Minute},
			{"zero TTL", "cycle", "replica-a", 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ok, err := s.TryLock(t.Context(), tt.lock, tt.holder, tt.ttl)
				if err == nil {
					t.Error("TryLock returned no error")
				}
				if ok {
					t.Error("TryLock returned true with an error")
				}
			})
		}
	})

	t.Run("restart keeps state", func(t *testing.T) {
		clock := newFakeClock()
		open := newOpener(t)
		s := open(t, clock)
		mustPut(t, s, intel.AbuseIPDB, addr1, Found, []byte("cached"), time.Hour)
		mustTake(t, s, intel.AbuseIPDB, clock.Now(), 5, true)
		mustTake(t, s, intel.AbuseIPDB, clock.Now(), 5, true)
		if err := s.ExhaustBudget(t.Context(), intel.GreyNoise, clock.Now(), 3); err != nil {
			t.Fatalf("ExhaustBudget: %v", err)
		}
		mustSaveReport(t, s, []byte("report"))
		mustLock(t, s, "cycle", "replica-a", time.Hour, true)
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}

		s = open(t, clock)
		if got := mustGet(t, s, intel.AbuseIPDB, addr1).Value; string(got) != "cached" {
			t.Errorf("cached value after restart = %q, want %q", got, "cached")
		}
		mustBudgetUsed(t, s, intel.AbuseIPDB, clock.Now(), 2)
		mustTake(t, s, intel.GreyNoise, clock.Now(), 3, false)
		mustLoadReport(t, s, []byte("report"))
		mustLock(t, s, "cycle", "replica-b", time.Hour, false)
	})

	t.Run("canceled context", func(t *testing.T) {
		clock := newFakeClock()
		s := newOpener(t)(t, clock)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		assertAllFail(t, ctx, s, clock.Now())
	})

	t.Run("closed store", func(t *testing.T) {
		clock := newFakeClock()
		s := newOpener(t)(t, clock)
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		assertAllFail(t, t.Context(), s, clock.Now())
	})

	t.Run("ping", func(t *testing.T) {
		s := newOpener(t)(t, newFakeClock())
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
}

// assertAllFail checks that every operation returns an error, that
// TakeBudget refuses and that TryLock does not report a lease. It returns
// the errors so callers can check their text.
func assertAllFail(t *testing.T, ctx context.Context, s Store, day time.Time) []error {
	t.Helper()
	var errs []error
	check := func(op string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s returned no error", op)
			return
		}
		errs = append(errs, err)
	}

	check("Put", s.Put(ctx, intel.AbuseIPDB, addr1, Found, []byte("x"), time.Hour))
	_, found, err := s.Get(ctx, intel.AbuseIPDB, addr1)
	check("Get", err)
	if found {
		t.Error("Get returned found with an error")
	}
	_, err = s.GetMany(ctx, intel.AbuseIPDB, []netip.Addr{addr1, addr2})
	check("GetMany", err)

	remaining, ok, err := s.TakeBudget(ctx, intel.AbuseIPDB, day, 100)
	check("TakeBudget", err)
	if ok || remaining != 0 {
		t.Errorf("TakeBudget = (%d, %t), want (0, false): the budget must fail closed", remaining, ok)
	}
	_, err = s.BudgetUsed(ctx, intel.AbuseIPDB, day)
	check("BudgetUsed", err)
	check("ExhaustBudget", s.ExhaustBudget(ctx, intel.AbuseIPDB, day, 100))

	check("SaveReport", s.SaveReport(ctx, []byte("report")))
	_, err = s.LoadReport(ctx)
	check("LoadReport", err)
	if errors.Is(err, ErrNotFound) {
		t.Error("LoadReport returned ErrNotFound for a failure")
	}

	held, err := s.TryLock(ctx, "cycle", "replica-a", time.Minute)
	check("TryLock", err)
	if held {
		t.Error("TryLock returned true with an error")
	}
	check("Unlock", s.Unlock(ctx, "cycle", "replica-a"))
	check("Ping", s.Ping(ctx))
	return errs
}

func mustPut(t *testing.T, s Store, p intel.Provider, addr netip.Addr, outcome Outcome, value []byte, ttl time.Duration) {
	t.Helper()
	if err := s.Put(t.Context(), p, addr, outcome, value, ttl); err != nil {
		t.Fatalf("Put(%s, %s): %v", p, addr, err)
	}
}

func mustGet(t *testing.T, s Store, p intel.Provider, addr netip.Addr) Entry {
	t.Helper()
	entry, found, err := s.Get(t.Context(), p, addr)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", p, addr, err)
	}
	if !found {
		t.Fatalf("Get(%s, %s): not found, want an entry", p, addr)
	}
	return entry
}

func mustMiss(t *testing.T, s Store, p intel.Provider, addr netip.Addr) {
	t.Helper()
	entry, found, err := s.Get(t.Context(), p, addr)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", p, addr, err)
	}
	if found {
		t.Fatalf("Get(%s, %s) = %s %q, want a miss", p, addr, entry.Outcome, entry.Value)
	}
}

func mustTake(t *testing.T, s Store, p intel.Provider, day time.Time, limit int, want bool) {
	t.Helper()
	_, ok, err := s.TakeBudget(t.Context(), p, day, limit)
	if err != nil {
		t.Fatalf("TakeBudget(%s, %s): %v", p, day, err)
	}
	if ok != want {
		t.Fatalf("TakeBudget(%s, %s, %d) ok = %t, want %t", p, day, limit, ok, want)
	}
}

func mustBudgetUsed(t *testing.T, s Store, p intel.Provider, day time.Time, want int) {
	t.Helper()
	used, err := s.BudgetUsed(t.Context(), p, day)
	if err != nil {
		t.Fatalf("BudgetUsed(%s, %s): %v", p, day, err)
	}
	if used != want {
		t.Errorf("BudgetUsed(%s, %s) = %d, want %d", p, day, used, want)
	}
}

func mustSaveReport(t *testing.T, s Store, report []byte) {
	t.Helper()
	if err := s.SaveReport(t.Context(), report); err != nil {
		t.Fatalf("SaveReport: %v", err)
	}
}

func mustLoadReport(t *testing.T, s Store, want []byte) {
	t.Helper()
	got, err := s.LoadReport(t.Context())
	if err != nil {
		t.Fatalf("LoadReport: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("LoadReport returned %d bytes starting %q, want %d bytes starting %q",
			len(got), got[:min(len(got), 20)], len(want), want[:min(len(want), 20)])
	}
}

func mustLock(t *testing.T, s Store, name, holder string, ttl time.Duration, want bool) {
	t.Helper()
	ok, err := s.TryLock(t.Context(), name, holder, ttl)
	if err != nil {
		t.Fatalf("TryLock(%s, %s): %v", name, holder, err)
	}
	if ok != want {
		t.Fatalf("TryLock(%s, %s) = %t, want %t", name, holder, ok, want)
	}
}

func mustUnlock(t *testing.T, s Store, name, holder string) {
	t.Helper()
	if err := s.Unlock(t.Context(), name, holder); err != nil {
		t.Fatalf("Unlock(%s, %s): %v", name, holder, err)
	}
}

func TestOpenWithoutBackend(t *testing.T) {
	_, err := Open(t.Context(), Options{})
	if err == nil {
		t.Fatal("Open with no DataDir and no RedisURL returned no error")
	}
	for _, want := range []string{"DATA_DIR", "REDIS_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestOutcomeOf(t *testing.T) {
	tests := []struct {
		status intel.Status
		want   Outcome
		ok     bool
	}{
		{intel.StatusOK, Found, true},
		{intel.StatusNotFound, NotFound, true},
		{intel.Failed("timeout"), 0, false},
		{intel.Failed("HTTP 503"), 0, false},
		{intel.StatusSkippedBudget, 0, false},
		{intel.StatusSkippedNoKey, 0, false},
		{intel.StatusSkippedRateLimited, 0, false},
		{intel.StatusSkippedInternal, 0, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			got, ok := OutcomeOf(tt.status)
			if got != tt.want || ok != tt.ok {
				t.Errorf("OutcomeOf(%q) = (%s, %t), want (%s, %t)", tt.status, got, ok, tt.want, tt.ok)
			}
			if ok && got.Status() != tt.status {
				t.Errorf("OutcomeOf(%q).Status() = %q, want the status back", tt.status, got.Status())
			}
		})
	}
}
