package enrich

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/threat-intel/threat-intel/internal/config"
	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/provider/providertest"
)

const (
	// benchRateScale multiplies the default per-minute rates, so that a
	// cycle paced by GreyNoise's 30 per minute takes seconds, not minutes.
	// Bursts are not scaled. The ratio of the measured time to the minimum
	// the limits allow is what the benchmark checks. Scaling also shrinks
	// the interval between requests, 100 ms for GreyNoise at ×20, and a
	// request delayed by more than one interval (a busy machine) can meet
	// a 429 that real rates would leave seconds of room for.
	benchRateScale = 20
	// benchLatency is how long each simulated provider takes to respond.
	benchLatency = 100 * time.Millisecond
	benchPublic  = 70
)

// simProvider is a simulated provider: it responds after benchLatency and
// enforces the engine's rate with its own token bucket, replying 429 to any
// request beyond it. Its burst is the engine's plus one. The engine sends
// on the bucket's schedule, but the first requests arrive later than the
// rest because they open the connections. A server with exactly the
// engine's burst then counts the next requests as early: trial runs at ×60
// on a 2-core machine got 6 to 8 429s per cycle that way. The extra token
// allows one interval of delay. A POST is an IPinfo batch, and the reply
// contains the same body for every posted address.
type simProvider struct {
	server     *providertest.Server
	body       []byte
	classifier *netclass.Classifier
	limit      rate.Limit
	burst      int

	bucket   atomic.Pointer[rate.Limiter]
	calls    atomic.Int64
	tooMany  atomic.Int64
	internal atomic.Int64
}

func newSimProvider(b *testing.B, name intel.Provider, limits Limits) *simProvider {
	s := &simProvider{
		body:       providertest.APIFile(b, okBodies[name]),
		classifier: netclass.New(nil),
		limit:      rate.Limit(limits.RatePerMinute / 60),
		burst:      max(limits.Burst, 1) + 1,
	}
	s.reset()
	s.server = providertest.NewServer(b, http.HandlerFunc(s.serve))
	return s
}

// reset refills the bucket and clears the counts, for a fresh cycle.
func (s *simProvider) reset() {
	s.bucket.Store(rate.NewLimiter(s.limit, s.burst))
	s.calls.Store(0)
	s.tooMany.Store(0)
	s.internal.Store(0)
}

func (s *simProvider) serve(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	var batch []string
	if r.Method == http.MethodPost {
		// An IPinfo batch: a JSON array of addresses.
		json.NewDecoder(r.Body).Decode(&batch)
		for _, ip := range batch {
			if addr, err := netip.ParseAddr(ip); err != nil || !s.classifier.IsPublic(addr) {
				s.internal.Add(1)
			}
		}
	} else if addr, ok := requestedAddr(r); !ok || !s.classifier.IsPublic(addr) {
		s.internal.Add(1)
	}
	if !s.bucket.Load().Allow() {
		s.tooMany.Add(1)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	select {
	case <-time.After(benchLatency):
	case <-r.Context().Done():
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost {
		w.Write(s.body)
		return
	}
	entries := make(map[string]json.RawMessage, len(batch))
	for _, ip := range batch {
		entries[ip] = s.body
	}
	json.NewEncoder(w).Encode(entries)
}

// requestedAddr returns the address of a provider request: the ipAddress
// query parameter (AbuseIPDB) or a path segment (the others).
func requestedAddr(r *http.Request) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(r.URL.Query().Get("ipAddress")); err == nil {
		return a, true
	}
	for segment := range strings.SplitSeq(r.URL.Path, "/") {
		if a, err := netip.ParseAddr(segment); err == nil {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// defaultConfig returns the configuration with every setting at its
// default, as a run without environment or flags would have it.
func defaultConfig(b *testing.B) *config.Config {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	cfg, err := config.Register(fs).Load(nil, "")
	if err != nil {
		b.Fatalf("loading the default configuration: %v", err)
	}
	return cfg
}

// minimumCycle returns the least time the limits allow for n lookups per
// provider: with burst B and rate r per second, n requests need (n−B)/r
// seconds to be sent, and the last response arrives latency later.
func minimumCycle(limits map[intel.Provider]Limits, n int, latency time.Duration) (time.Duration, intel.Provider) {
	var longest time.Duration
	var strictest intel.Provider
	for _, name := range intel.Providers {
		l := limits[name]
		perSecond := l.RatePerMinute / 60
		send := time.Duration(float64(max(n-max(l.Burst, 1), 0)) / perSecond * float64(time.Second))
		if send > longest {
			longest, strictest = send, name
		}
	}
	return longest + latency, strictest
}

// BenchmarkCycle enriches 70 public and 10 internal addresses against four
// simulated providers, each with 100 ms latency and the engine's default
// limits with the rates scaled by benchRateScale, on a bbolt store. Each
// iteration starts cold (new store, engine and server buckets) and is then
// repeated once inside the cache TTL.
func BenchmarkCycle(b *testing.B) {
	cfg := defaultConfig(b)
	limits := LimitsFromConfig(cfg)
	for name, l := range limits {
		l.RatePerMinute *= benchRateScale
		limits[name] = l
	}
	sims := map[intel.Provider]*simProvider{}
	for _, name := range intel.Providers {
		sims[name] = newSimProvider(b, name, limits[name])
	}
	cfg.AbuseIPDBAPIKey, cfg.GreyNoiseAPIKey, cfg.OTXAPIKey, cfg.IPinfoToken = abuseIPDBKey, greyNoiseKey, otxKey, ipinfoToken
	cfg.AbuseIPDBBaseURL = sims[intel.AbuseIPDB].server.URL
	cfg.GreyNoiseBaseURL = sims[intel.GreyNoise].server.URL
	cfg.OTXBaseURL = sims[intel.OTX].server.URL
	cfg.IPinfoBaseURL = sims[intel.IPinfo].server.URL

	addresses := publicAddrs(benchPublic)
	addresses = append(addresses, addrs(b, "10.0.0.1", "10.20.30.40", "172.16.0.9", "192.168.0.10", "100.64.1.1",
		"127.0.0.1", "fd12:3456::1", "fe80::1", "::ffff:192.168.1.5", "169.254.0.7")...)
	minimum, strictest := minimumCycle(limits, benchPublic, benchLatency)

	var (
		wall        time.Duration
		calls       = map[intel.Provider]int64{}
		tooMany     = map[intel.Provider]int64{}
		internal    int64
		secondCalls int64
		unanswered  int64
	)
	for b.Loop() {
		b.StopTimer()
		for _, s := range sims {
			s.reset()
		}
		e, err := New(Options{
			Providers:   ProvidersFromConfig(cfg),
			Store:       openBoltStore(b, nil),
			Classifier:  netclass.New(cfg.OwnPrefixes),
			Limits:      limits,
			Concurrency: cfg.Concurrency,
			Logger:      slog.New(slog.DiscardHandler),
			Registerer:  prometheus.NewRegistry(),
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		start := time.Now()
		lookups := e.Enrich(context.Background(), addresses)
		wall += time.Since(start)

		b.StopTimer()
		unanswered += countUnanswered(lookups, addresses[:benchPublic])
		for name, s := range sims {
			calls[name] += s.calls.Load()
			tooMany[name] += s.tooMany.Load()
			internal += s.internal.Load()
		}
		before := totalCalls(sims)
		e.Enrich(context.Background(), addresses)
		secondCalls += totalCalls(sims) - before
		b.StartTimer()
	}

	n := float64(b.N)
	perCycle := wall.Seconds() / n
	b.ReportMetric(perCycle, "s/cycle")
	b.ReportMetric(minimum.Seconds(), "min-s/cycle")
	b.ReportMetric(perCycle/minimum.Seconds(), "ratio-to-min")
	var allTooMany int64
	for _, count := range tooMany {
		allTooMany += count
	}
	b.ReportMetric(float64(allTooMany)/n, "429s/cycle")
	b.ReportMetric(float64(secondCalls)/n, "second-cycle-calls")
	b.ReportMetric(float64(internal)/n, "internal-calls")
	b.ReportMetric(float64(unanswered)/n, "not-ok/cycle")
	var perProvider []string
	for _, name := range intel.Providers {
		perProvider = append(perProvider, fmt.Sprintf("%s=%.1f (429s %.1f)", name, float64(calls[name])/n, float64(tooMany[name])/n))
	}
	b.Logf("rates ×%d, strictest %s (%.0f/min, burst %d): minimum %.3f s; measured %.3f s; calls per cycle %s",
		benchRateScale, strictest, limits[strictest].RatePerMinute, limits[strictest].Burst,
		minimum.Seconds(), perCycle, strings.Join(perProvider, " "))
}

// countUnanswered counts the provider lookups of the public addresses that
// did not end "ok".
func countUnanswered(lookups map[netip.Addr]intel.Lookup, public []netip.Addr) int64 {
	var n int64
	for _, a := range public {
		for _, name := range intel.Providers {
			if lookups[a].Status[name] != intel.StatusOK {
				n++
			}
		}
	}
	return n
}

func totalCalls(sims map[intel.Provider]*simProvider) int64 {
	var n int64
	for _, s := range sims {
		n += s.calls.Load()
	}
	return n
}
