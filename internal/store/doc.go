// Package store keeps the state that must outlive a cycle and a restart:
// cached provider responses, daily provider budgets, the last report and
// lease locks. It has two backends behind one interface: an embedded bbolt
// file in a data directory (the default, for a single process) and Redis
// (shared by several replicas).
//
// # Atomicity
//
// Each method is one atomic step: on bbolt one transaction, on Redis one
// command or one Lua script. In particular:
//
//   - TakeBudget checks the day's count against the limit and increments it
//     as one step, so concurrent goroutines (and, on Redis, replicas) never
//     take more than the limit between them.
//   - ExhaustBudget raises the day's count to the limit as one step.
//   - TryLock and Unlock compare the holder and write as one step, so a
//     lease is held by at most one holder at a time.
//   - Put replaces an entry whole. A reader sees the old entry or the new
//     one, never a mix.
//   - GetMany reads all its entries in one step: one bbolt read transaction
//     or one Redis MGET.
//
// # Failure
//
// Budgets fail closed: when TakeBudget returns an error it also returns
// ok=false, so a store that cannot be reached never permits a provider call.
// TryLock likewise returns false with any error, so no holder runs a job
// that it could not lock. The other methods return their error and leave
// the decision to the caller, which should treat a cache error as a miss: a
// store outage then costs provider calls but never a report.
//
// Failures are never cached, because Put accepts only the outcomes Found
// and NotFound.
//
// # Layout
//
// Redis keys, after the key prefix (default "threat-intel:"):
//
//	ip:<provider>:<address>          cache entry, expires with its TTL
//	budget:<provider>:<YYYY-MM-DD>   calls taken on that UTC day, expires 48 h after the last take
//	report:last                      last report JSON, no expiry
//	lock:<name>                      lease holder, expires with the lease
//
// A cache entry is an 18-byte header (format version, outcome, stored-at and
// expires-at in Unix nanoseconds) followed by the provider's response as
// given. The bbolt file threat-intel.db keeps the same keys without the
// prefix, in one bucket per kind, and removes expired keys every hour and
// when it is opened.
package store
