package store

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// budgetKeep is how long a day's budget count is kept after its last
// change. A UTC day lasts at most 24 h on any replica's clock, so 48 h keeps
// the count for the whole day even when the first call came at 00:00.
const budgetKeep = 48 * time.Hour

// maxNameLen bounds provider and lock names, which become key parts.
const maxNameLen = 64

// maxHolderLen bounds a lock holder, which is stored as the lock's value.
const maxHolderLen = 256

// checkName rejects a provider or lock name that would make an ambiguous
// or unreadable key: it must be 1 to 64 bytes of a-z, 0-9, '.', '_' or '-'.
func checkName(kind, name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("invalid %s name %q: must be 1 to %d characters", kind, name, maxNameLen)
	}
	for _, c := range []byte(name) {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("invalid %s name %q: use only a-z, 0-9, '.', '_' and '-'", kind, name)
		}
	}
	return nil
}

func checkHolder(holder string) error {
	if holder == "" || len(holder) > maxHolderLen {
		return fmt.Errorf("invalid lock holder %q: must be 1 to %d bytes", holder, maxHolderLen)
	}
	return nil
}

// cacheKey returns "ip:<provider>:<address>". The address is unmapped and
// loses its zone, so ::ffff:192.0.2.1 and 192.0.2.1 share one entry.
func cacheKey(provider intel.Provider, addr netip.Addr) (string, error) {
	if err := checkName("provider", string(provider)); err != nil {
		return "", err
	}
	if !addr.IsValid() {
		return "", fmt.Errorf("invalid address for provider %s: the zero netip.Addr", provider)
	}
	return "ip:" + string(provider) + ":" + canonicalAddr(addr).String(), nil
}

func canonicalAddr(addr netip.Addr) netip.Addr {
	return addr.Unmap().WithZone("")
}

// budgetKey returns "budget:<provider>:<YYYY-MM-DD>" for the UTC date of day.
func budgetKey(provider intel.Provider, day time.Time) (string, error) {
	if err := checkName("provider", string(provider)); err != nil {
		return "", err
	}
	if day.IsZero() {
		return "", fmt.Errorf("invalid budget day for provider %s: the zero time", provider)
	}
	return "budget:" + string(provider) + ":" + day.UTC().Format(time.DateOnly), nil
}

func checkLimit(provider intel.Provider, limit int) error {
	if limit < 0 {
		return fmt.Errorf("invalid daily budget %d for provider %s: must be 0 or more", limit, provider)
	}
	return nil
}

const reportKey = "report:last"

// blocklistRedisKey holds the blocklist membership, shared by replicas.
const blocklistRedisKey = "blocklist"

func lockKey(name string) (string, error) {
	if err := checkName("lock", name); err != nil {
		return "", err
	}
	return "lock:" + name, nil
}

func checkTTL(what string, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("invalid %s TTL %s: must be positive", what, ttl)
	}
	return nil
}
