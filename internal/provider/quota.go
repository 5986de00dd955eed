package provider

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	// DefaultRateLimitPause is the wait that a RateLimitedError sets when the
	// 429 response carries neither Retry-After nor a future X-RateLimit-Reset. No provider documents when its daily window resets
	// (AbuseIPDB's documented example resets at 05:00 UTC, not midnight), so
	// one refused call an hour is cheaper than overshooting a reset by a day.
	DefaultRateLimitPause = time.Hour

	// MaxRetryAfter bounds a Retry-After or reset time, so that a wrong or
	// hostile header cannot disable a provider for good. The longest
	// documented window, a daily limit, is well inside it.
	MaxRetryAfter = 7 * 24 * time.Hour
)

// Quota is the allowance a provider reported in X-RateLimit-* response
// headers. The zero value means that the response carried none of them.
type Quota struct {
	Limit        int // X-RateLimit-Limit: requests allowed in the window
	HasLimit     bool
	Remaining    int // X-RateLimit-Remaining: requests left in the window
	HasRemaining bool
	Reset        time.Time // X-RateLimit-Reset (epoch seconds), zero when absent
}

// Known reports whether any quota header was present.
func (q Quota) Known() bool { return q.HasLimit || q.HasRemaining || !q.Reset.IsZero() }

// ParseQuota reads X-RateLimit-Limit, X-RateLimit-Remaining and
// X-RateLimit-Reset from h. A header that is absent, negative or not an
// integer is left unset.
func ParseQuota(h http.Header) Quota {
	var q Quota
	q.Limit, q.HasLimit = parseNonNegative(h.Get("X-RateLimit-Limit"))
	q.Remaining, q.HasRemaining = parseNonNegative(h.Get("X-RateLimit-Remaining"))
	if epoch, ok := parseNonNegative(h.Get("X-RateLimit-Reset")); ok {
		q.Reset = time.Unix(int64(epoch), 0).UTC()
	}
	return q
}

// RetryAt returns when a 429 response received at now allows the next call,
// and whether that time is the DefaultRateLimitPause estimate. Retry-After
// (delay-seconds or HTTP-date) wins over X-RateLimit-Reset, and a reset time
// that has already passed is ignored. The result is never before now and
// never later than now plus MaxRetryAfter.
func RetryAt(h http.Header, now time.Time) (at time.Time, estimated bool) {
	if delay, ok := parseRetryAfter(h.Get("Retry-After"), now); ok {
		return now.Add(clampDelay(delay)), false
	}
	if q := ParseQuota(h); q.Reset.After(now) {
		return now.Add(clampDelay(q.Reset.Sub(now))), false
	}
	return now.Add(DefaultRateLimitPause), true
}

// parseRetryAfter returns the delay that a Retry-After value requests.
func parseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if seconds, err := strconv.ParseInt(value, 10, 64); err == nil {
		if seconds < 0 {
			return 0, false
		}
		if seconds > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter, true
		}
		return time.Duration(seconds) * time.Second, true
	}
	date, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	return date.Sub(now), true
}

func clampDelay(d time.Duration) time.Duration {
	return min(max(d, 0), MaxRetryAfter)
}

func parseNonNegative(value string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
