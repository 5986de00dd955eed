package store

import (
	"context"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// benchAddrs returns n documentation addresses, as many as one cycle looks up.
func benchAddrs(n int) []netip.Addr {
	addrs := make([]netip.Addr, n)
	for i := range addrs {
		raw := netip.MustParseAddr("2001:db8::").As16()
		raw[14], raw[15] = byte(i/256), byte(i%256)
		addrs[i] = netip.AddrFrom16(raw)
	}
	return addrs
}

// benchStores opens each backend for a benchmark. The Redis one uses the
// shared test server and a prefix of its own, deleted at the end.
func benchStores(b *testing.B) map[string]Store {
	b.Helper()
	ctx := context.Background()

	bolt, err := Open(ctx, Options{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bolt.Close() })

	url := os.Getenv("REDIS_TEST_URL")
	if url == "" {
		url = defaultRedisTestURL
	}
	prefix := "threat-intel-bench:" + uniqueHex(6) + ":"
	rs, err := Open(ctx, Options{RedisURL: url, KeyPrefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	if err := rs.Ping(ctx); err != nil {
		b.Fatalf("the Redis benchmarks need a Redis server at %s: %v", redactURL(url), err)
	}
	b.Cleanup(func() {
		_ = rs.Close()
		opts, _ := redisOptions(url)
		client := redis.NewClient(opts)
		defer client.Close()
		iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
	})
	return map[string]Store{"bolt": bolt, "redis": rs}
}

func BenchmarkStore(b *testing.B) {
	ctx := context.Background()
	value := []byte(`{"abuse_confidence_score":80,"is_whitelisted":false,"usage_type":"Data Center/Web Hosting/Transit","is_tor":false,"total_reports":42,"country_code":"NL","isp":"Example Hosting B.V.","domain":"example.net"}`)
	addrs := benchAddrs(70)

	for name, s := range benchStores(b) {
		for _, addr := range addrs {
			if err := s.Put(ctx, intel.AbuseIPDB, addr, Found, value, time.Hour); err != nil {
				b.Fatal(err)
			}
		}

		b.Run(name+"/Get", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := s.Get(ctx, intel.AbuseIPDB, addrs[0]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/GetMany70", func(b *testing.B) {
			for b.Loop() {
				if _, err := s.GetMany(ctx, intel.AbuseIPDB, addrs); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/Put", func(b *testing.B) {
			for b.Loop() {
				if err := s.Put(ctx, intel.AbuseIPDB, addrs[1], Found, value, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/TakeBudget", func(b *testing.B) {
			day := time.Now()
			for b.Loop() {
				if _, _, err := s.TakeBudget(ctx, intel.GreyNoise, day, 1<<30); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
