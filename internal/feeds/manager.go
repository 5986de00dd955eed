package feeds

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/bits"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/threat-intel/threat-intel/internal/prefixtable"
)

const (
	// DefaultTimeout bounds one download, from the request to the last
	// byte of the body.
	DefaultTimeout = 2 * time.Minute
	// DefaultMaxBodyBytes bounds one feed. It leaves ample room: a list of
	// one million IPv4 hosts is about 15 MB.
	DefaultMaxBodyBytes = 200 << 20
	// FailureRetry is the longest wait before a failed or rejected feed is
	// tried again. A feed with a shorter refresh interval uses that.
	FailureRetry = 15 * time.Minute
	// minShrinkCheckEntries is the previous list size from which a list
	// that shrank by more than 90% is held back.
	minShrinkCheckEntries = 10
	// confirmShrinkDownloads is how many identical downloads of a list
	// that shrank by more than 90% it takes to accept it, so a real
	// cleanup by the publisher is not refused forever.
	confirmShrinkDownloads = 3
)

// Options configures a Manager. The zero value is ready to use.
type Options struct {
	// HTTPClient sends the requests. Nil means a client with
	// http.DefaultTransport. The Manager uses a copy that never follows
	// redirects, so it fetches only the configured URLs.
	HTTPClient *http.Client
	// Timeout bounds one download. Zero means DefaultTimeout.
	Timeout time.Duration
	// MaxBodyBytes bounds one feed's size in bytes. Zero means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger receives one record per loaded list and per failure. Nil
	// discards them.
	Logger *slog.Logger
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// Match is a feed that lists an address.
type Match struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
}

// Status is the state of one feed.
type Status struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Location is the path, or the URL without its password and query
	// values.
	Location string `json:"location"`
	// Loaded is true once a list has been accepted.
	Loaded bool `json:"loaded"`
	// Entries is the number of prefixes in the list in use.
	Entries int `json:"entries"`
	// LastAttempt is when the feed was last fetched or checked.
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	// LastSuccess is the last attempt that left a current list: a new
	// list, a 304 Not Modified response or an unchanged file.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastChange is when the list in use was loaded.
	LastChange time.Time `json:"last_change,omitzero"`
	// LastError is the reason the last attempt failed, and whether the
	// previous list was kept. It is empty after a success.
	LastError string `json:"last_error,omitempty"`
	// ETag and LastModified are the validators of the list in use, sent
	// back as If-None-Match and If-Modified-Since.
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	// Parsed describes how the list in use was read. Its Prefixes are nil.
	Parsed Result `json:"parsed"`
}

// Manager keeps the configured feeds loaded and looks up which of them
// list an address. Lookup is lock-free and safe to call while a refresh
// runs. Create it with New.
type Manager struct {
	feeds   []*feed
	matches []Match // matches[i] describes feeds[i], bit i of a table value

	client  *http.Client
	timeout time.Duration
	maxBody int64
	log     *slog.Logger
	now     func() time.Time

	refreshMu sync.Mutex // held by Refresh, so refreshes never overlap
	mu        sync.Mutex // guards every feed's status for Status
	table     atomic.Pointer[prefixtable.Table]
}

// feed is one configured feed. Only the refresh of that feed writes its
// fields, and it holds Manager.mu while it does.
type feed struct {
	cfg      Config
	prefixes []netip.Prefix
	status   Status
	next     time.Time // when the feed is due again

	// modTime and size identify the file content of the list in use.
	modTime time.Time
	size    int64

	// shrinkHash and shrinkCount track identical downloads of a list held
	// back because it shrank by more than 90%.
	shrinkHash  uint64
	shrinkCount int
}

// New returns a Manager for configs. Nothing is fetched until the first
// Refresh. It returns an error for an invalid or duplicate Config, or for
// more than MaxFeeds feeds.
func New(configs []Config, opts Options) (*Manager, error) {
	if len(configs) > MaxFeeds {
		return nil, fmt.Errorf("%d feeds configured: at most %d are supported", len(configs), MaxFeeds)
	}
	m := &Manager{
		timeout: opts.Timeout,
		maxBody: opts.MaxBodyBytes,
		log:     opts.Logger,
		now:     opts.Now,
	}
	if m.timeout <= 0 {
		m.timeout = DefaultTimeout
	}
	if m.maxBody <= 0 {
		m.maxBody = DefaultMaxBodyBytes
	}
	if m.log == nil {
		m.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if m.now == nil {
		m.now = time.Now
	}
	client := http.Client{}
	if opts.HTTPClient != nil {
		client = *opts.HTTPClient
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	m.client = &client

	seen := map[string]bool{}
	for _, c := range configs {
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("feed %s: %w", c.Name, err)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("feed %s: name is used twice", c.Name)
		}
		seen[c.Name] = true
		m.feeds = append(m.feeds, &feed{cfg: c, status: Status{
			Name:     c.Name,
			Kind:     c.Kind,
			Location: redactLocation(c.Location),
			Parsed:   Result{Format: c.Format, Declared: -1},
		}})
		m.matches = append(m.matches, Match{Name: c.Name, Kind: c.Kind})
	}
	return m, nil
}

// Lookup returns the feeds whose lists contain a, in configuration order,
// or nil without allocating when none does. It checks any address: the
// caller decides whether internal addresses are looked up.
func (m *Manager) Lookup(a netip.Addr) []Match {
	set := m.table.Load().Lookup(a)
	if set == 0 {
		return nil
	}
	matches := make([]Match, 0, bits.OnesCount64(set))
	for ; set != 0; set &= set - 1 {
		matches = append(matches, m.matches[bits.TrailingZeros64(set)])
	}
	return matches
}

// TableBytes returns the memory held by the lookup table, in bytes.
func (m *Manager) TableBytes() int { return m.table.Load().Bytes() }

// Status returns the state of every feed, in configuration order.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, len(m.feeds))
	for i, f := range m.feeds {
		out[i] = f.status
	}
	return out
}

// Refresh fetches every feed whose refresh interval has passed since its
// last attempt, or whose retry wait after a failure has passed, and
// rebuilds the lookup table when a list changed. Feeds are fetched
// concurrently. A feed that fails keeps its previous list. Refresh logs
// each load and failure, and returns the failures joined. Concurrent calls
// run one after the other.
func (m *Manager) Refresh(ctx context.Context) error {
	m.refreshMu.Lock()
	defer m.refreshMu.Unlock()

	now := m.now()
	var (
		wg      sync.WaitGroup
		errs    = make([]error, len(m.feeds))
		changed atomic.Bool
	)
	for i, f := range m.feeds {
		m.mu.Lock()
		due := !now.Before(f.next)
		m.mu.Unlock()
		if !due {
			continue
		}
		wg.Go(func() {
			updated, err := m.refreshFeed(ctx, f, now)
			if updated {
				changed.Store(true)
			}
			errs[i] = err
		})
	}
	wg.Wait()

	if changed.Load() {
		m.rebuild()
	}
	return errors.Join(errs...)
}

// Run refreshes the feeds when they are due until ctx is done. Failures
// are logged and shown by Status.
func (m *Manager) Run(ctx context.Context) {
	if len(m.feeds) == 0 {
		<-ctx.Done()
		return
	}
	for {
		_ = m.Refresh(ctx)

		timer := time.NewTimer(m.untilNextDue())
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// untilNextDue returns the wait until the next feed is due, at least one
// second. It needs at least one feed.
func (m *Manager) untilNextDue() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	wait := m.feeds[0].next.Sub(now)
	for _, f := range m.feeds[1:] {
		wait = min(wait, f.next.Sub(now))
	}
	return max(wait, time.Second)
}

// refreshFeed fetches one feed and, if the result is usable, makes it the
// feed's list. It reports whether the list changed.
func (m *Manager) refreshFeed(ctx context.Context, f *feed, now time.Time) (bool, error) {
	m.mu.Lock()
	previous := validators{
		loaded:       f.status.Loaded,
		etag:         f.status.ETag,
		lastModified: f.status.LastModified,
		modTime:      f.modTime,
		size:         f.size,
	}
	m.mu.Unlock()

	got, err := m.fetch(ctx, f.cfg, previous)
	if ctx.Err() != nil {
		// The caller gave up, which is no fault of the feed, so its status
		// stays as it was and it is due again at the next Refresh.
		return false, ctx.Err()
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	f.status.LastAttempt = now
	if err != nil {
		return false, m.fail(f, now, err)
	}
	if got.notModified {
		f.status.LastSuccess = now
		f.status.LastError = ""
		f.next = now.Add(f.cfg.Refresh)
		m.log.Debug("feed not modified", "feed", f.cfg.Name, "entries", len(f.prefixes))
		return false, nil
	}
	if res := got.result; len(res.Prefixes) == 0 && res.Skipped > 0 {
		return false, m.fail(f, now, fmt.Errorf("no usable entries (skipped lines: %d, first %v)", res.Skipped, res.SkippedLines[0]))
	}
	if err := f.checkPlausible(got.result); err != nil {
		return false, m.fail(f, now, err)
	}

	f.prefixes = got.result.Prefixes
	f.modTime, f.size = got.modTime, got.size
	parsed := got.result
	parsed.Prefixes = nil
	f.status = Status{
		Name:         f.status.Name,
		Kind:         f.status.Kind,
		Location:     f.status.Location,
		Loaded:       true,
		Entries:      len(f.prefixes),
		LastAttempt:  now,
		LastSuccess:  now,
		LastChange:   now,
		ETag:         got.etag,
		LastModified: got.lastModified,
		Parsed:       parsed,
	}
	f.next = now.Add(f.cfg.Refresh)
	m.log.Info("feed loaded", "feed", f.cfg.Name, "entries", len(f.prefixes), "format", parsed.Format.String(),
		"skipped", parsed.Skipped, "notice", parsed.Notice)
	return true, nil
}

// fail records a failed attempt, schedules a retry and returns err with
// the feed's name. The caller holds m.mu.
func (m *Manager) fail(f *feed, now time.Time, err error) error {
	f.next = now.Add(min(f.cfg.Refresh, FailureRetry))
	if f.status.Loaded {
		err = fmt.Errorf("kept previous list: %w", err)
	}
	f.status.LastError = err.Error()
	m.log.Warn("feed refresh failed", "feed", f.cfg.Name, "err", err, "entries", len(f.prefixes))
	return fmt.Errorf("feed %s: %w", f.cfg.Name, err)
}

// checkPlausible returns an error when a new list shrank by more than 90%
// compared to the list in use, which usually means a broken download or a
// retired source. The same list is accepted on its confirmShrinkDownloads-th
// identical download. The caller holds m.mu.
func (f *feed) checkPlausible(res Result) error {
	prev, next := len(f.prefixes), len(res.Prefixes)
	if !f.status.Loaded || prev < minShrinkCheckEntries || next*10 >= prev {
		f.shrinkCount = 0
		return nil
	}

	hash := hashPrefixes(res.Prefixes)
	if hash == f.shrinkHash && f.shrinkCount > 0 {
		f.shrinkCount++
	} else {
		f.shrinkHash, f.shrinkCount = hash, 1
	}
	if f.shrinkCount >= confirmShrinkDownloads {
		f.shrinkCount = 0
		return nil
	}

	msg := fmt.Sprintf("new list has %d entries, previous %d (-%d%%)", next, prev, (prev-next)*100/prev)
	if res.Notice != "" {
		msg += fmt.Sprintf(", and the source says %q", res.Notice)
	}
	return fmt.Errorf("%s; it is accepted after %d more identical downloads", msg, confirmShrinkDownloads-f.shrinkCount)
}

func hashPrefixes(prefixes []netip.Prefix) uint64 {
	h := fnv.New64a()
	for _, p := range prefixes {
		b := p.Addr().As16()
		_, _ = h.Write(b[:])
		_, _ = h.Write([]byte{byte(p.Bits())})
	}
	return h.Sum64()
}

// rebuild builds a lookup table from every feed's list and swaps it in.
func (m *Manager) rebuild() {
	var b prefixtable.Builder
	m.mu.Lock()
	for i, f := range m.feeds {
		for _, p := range f.prefixes {
			// Parsers return only valid prefixes, the one error Add
			// reports.
			_ = b.Add(p, 1<<i)
		}
	}
	m.mu.Unlock()
	m.table.Store(b.Build())
}
