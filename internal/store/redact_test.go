package store

import (
	"errors"
	"slices"
	"testing"
)

func TestRedactURL(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"user and password", "redis://user:pw@127.0.0.1:6379/0", "redis://xxxxx@127.0.0.1:6379/0"},
		{"password only", "redis://:pw@127.0.0.1:6379/0", "redis://xxxxx@127.0.0.1:6379/0"},
		{"no user information", "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
		{"at sign in password", "redis://user:p@ss@127.0.0.1:6379/0", "redis://xxxxx@127.0.0.1:6379/0"},
		{"at sign in path only", "redis://127.0.0.1:6379/0?x=a@b", "redis://127.0.0.1:6379/0?x=a@b"},
		{"no scheme", "user:pw@127.0.0.1:6379", "xxxxx@127.0.0.1:6379"},
		{"TLS", "rediss://user:pw@203.0.113.9:6380", "rediss://xxxxx@203.0.113.9:6380"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redactURL(tt.url); got != tt.want {
				t.Errorf("redactURL(%q) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}

func TestURLSecrets(t *testing.T) {
	tests := []struct {
		name, url string
		want      []string
	}{
		{"user and password", "redis://user:pw@h:6379/0", []string{"user:pw", "pw"}},
		{"escaped password", "redis://:p%40ss@h:6379/0", []string{":p%40ss", "p%40ss", "p@ss"}},
		{"user only", "redis://token@h:6379/0", []string{"token"}},
		{"none", "redis://h:6379/0", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := urlSecrets(tt.url); !slices.Equal(got, tt.want) {
				t.Errorf("urlSecrets(%q) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}

func TestScrub(t *testing.T) {
	plain := errors.New("dial tcp 127.0.0.1:1: connection refused")
	if got := scrub(plain, []string{"pw-secret"}); got != plain {
		t.Errorf("scrub changed an error without secrets: %v", got)
	}

	leaky := errors.New("AUTH pw-secret failed")
	got := scrub(leaky, []string{"", "pw-secret"})
	if got.Error() != "AUTH xxxxx failed" {
		t.Errorf("scrub = %q, want %q", got, "AUTH xxxxx failed")
	}
	if errors.Unwrap(got) != nil {
		t.Error("a scrubbed error unwraps to the original, whose text has the secret")
	}
	if scrub(nil, []string{"x"}) != nil {
		t.Error("scrub(nil) is not nil")
	}
}

// FuzzRedactURL checks that redactURL never panics, leaves a URL without
// user information alone, and leaves "xxxxx" as the only user information
// of a URL that had some.
func FuzzRedactURL(f *testing.F) {
	f.Add("redis://user:pw@127.0.0.1:6379/0")
	f.Add("redis://:p%40ss@h/0?x=a@b")
	f.Add("user:pw@h")
	f.Add("://@")
	f.Fuzz(func(t *testing.T, raw string) {
		got := redactURL(raw)
		if _, start := splitUserinfo(raw); start < 0 {
			if got != raw {
				t.Errorf("redactURL(%q) = %q, want it unchanged", raw, got)
			}
			return
		}
		if userinfo, start := splitUserinfo(got); start < 0 || userinfo != redacted {
			t.Errorf("redactURL(%q) = %q, whose user information is %q", raw, got, userinfo)
		}
	})
}
