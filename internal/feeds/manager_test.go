package feeds

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/version"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
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

// feedServer serves one feed on 127.0.0.1 with ETag and Last-Modified,
// responds to matching conditional requests with 304, and records every
// request with the number of body bytes written.
type feedServer struct {
	*httptest.Server

	mu           sync.Mutex
	body         string
	etag         string
	lastModified string
	// respond, when set, replaces the normal response.
	respond  func(w http.ResponseWriter, r *http.Request)
	requests []servedRequest
}

type servedRequest struct {
	header    http.Header
	status    int
	bodyBytes int
}

func newFeedServer(t *testing.T, body string) *feedServer {
	t.Helper()
	s := &feedServer{body: body, etag: `"v1"`, lastModified: "Mon, 01 Jan 2024 00:00:00 GMT"}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *feedServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body, etag, lastModified, respond := s.body, s.etag, s.lastModified, s.respond
	s.mu.Unlock()

	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	switch {
	case respond != nil:
		respond(cw, r)
	case r.Header.Get("If-None-Match") == etag || r.Header.Get("If-Modified-Since") == lastModified:
		cw.WriteHeader(http.StatusNotModified)
	default:
		cw.Header().Set("ETag", etag)
		cw.Header().Set("Last-Modified", lastModified)
		_, _ = cw.Write([]byte(body))
	}

	s.mu.Lock()
	s.requests = append(s.requests, servedRequest{header: r.Header.Clone(), status: cw.status, bodyBytes: cw.n})
	s.mu.Unlock()
}

func (s *feedServer) set(body, etag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.etag = body, etag
	s.lastModified = ""
}

func (s *feedServer) setRespond(respond func(w http.ResponseWriter, r *http.Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.respond = respond
}

func (s *feedServer) served() []servedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

type countingWriter struct {
	http.ResponseWriter
	status int
	n      int
}

func (c *countingWriter) WriteHeader(status int) {
	c.status = status
	c.ResponseWriter.WriteHeader(status)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += n
	return n, err
}

// hostList returns a list of n hosts in 192.0.2.0/24 and 198.51.100.0/24.
func hostList(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%s.%d\n", []string{"192.0.2", "198.51.100"}[i/256%2], i%256)
	}
	return b.String()
}

func newManager(t *testing.T, configs []Config, opts Options) *Manager {
	t.Helper()
	m, err := New(configs, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func urlFeed(name, url string) Config {
	return Config{Name: name, Location: url, Kind: Malicious, Refresh: time.Hour}
}

func lookupNames(m *Manager, addr string) []string {
	var names []string
	for _, match := range m.Lookup(netip.MustParseAddr(addr)) {
		names = append(names, match.Name)
	}
	return names
}

func TestManagerConditionalRequest(t *testing.T) {
	srv := newFeedServer(t, hostList(100))
	clock := newFakeClock()
	m := newManager(t, []Config{urlFeed("example", srv.URL+"/list.txt")}, Options{Now: clock.Now})

	if err := m.Refresh(t.Context()); err != nil {
		t.Fatalf("first Refresh: %v", err)
	}
	first := m.Status()[0]
	if !first.Loaded || first.Entries != 100 {
		t.Fatalf("after the first refresh: loaded %v with %d entries, want 100", first.Loaded, first.Entries)
	}
	if first.ETag != `"v1"` || first.LastModified != "Mon, 01 Jan 2024 00:00:00 GMT" {
		t.Errorf("validators = %q, %q", first.ETag, first.LastModified)
	}

	clock.Advance(time.Hour)
	if err := m.Refresh(t.Context()); err != nil {
		t.Fatalf("second Refresh: %v", err)
	}

	requests := srv.served()
	if len(requests) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(requests))
	}
	if got := requests[0].header.Get("User-Agent"); got != version.UserAgent() {
		t.Errorf("User-Agent = %q, want %q", got, version.UserAgent())
	}
	if got := requests[0].header.Get("If-None-Match"); got != "" {
		t.Errorf("first request sent If-None-Match %q, want none", got)
	}
	second := requests[1]
	if got := second.header.Get("If-None-Match"); got != `"v1"` {
		t.Errorf("second request If-None-Match = %q, want %q", got, `"v1"`)
	}
	if got := second.header.Get("If-Modified-Since"); got != "Mon, 01 Jan 2024 00:00:00 GMT" {
		t.Errorf("second request If-Modified-Since = %q", got)
	}
	if second.status != http.StatusNotModified {
		t.Errorf("second response status = %d, want 304", second.status)
	}
	if second.bodyBytes != 0 {
		t.Errorf("second response wrote %d body bytes, want 0", second.bodyBytes)
	}

	status := m.Status()[0]
	if status.Entries != 100 || status.LastError != "" {
		t.Errorf("after 304: %d entries, error %q, want 100 and none", status.Entries, status.LastError)
	}
	if !status.LastSuccess.Equal(clock.Now()) {
		t.Errorf("LastSuccess = %v, want %v", status.LastSuccess, clock.Now())
	}
	if !status.LastChange.Equal(first.LastChange) {
		t.Errorf("LastChange moved from %v to %v on a 304", first.LastChange, status.LastChange)
	}
	if got := lookupNames(m, "192.0.2.42"); !slices.Equal(got, []string{"example"}) {
		t.Errorf("Lookup after 304 = %v, want [example]", got)
	}
}

func TestManagerNewListReplacesOld(t *testing.T) {
	srv := newFeedServer(t, "192.0.2.1\n")
	clock := newFakeClock()
	m := newManager(t, []Config{urlFeed("example", srv.URL)}, Options{Now: clock.Now})
	if err := m.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}

	srv.set("198.51.100.1\n", `"v2"`)
	clock.Advance(time.Hour)
	if err := m.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := lookupNames(m, "192.0.2.1"); got != nil {
		t.Errorf("Lookup of a removed address = %v, want none", got)
	}
	if got := lookupNames(m, "198.51.100.1"); !slices.Equal(got, []string{"example"}) {
		t.Errorf("Lookup of a new address = %v, want [example]", got)
	}
	if got := m.Status()[0].ETag; got != `"v2"` {
		t.Errorf("ETag = %q, want the new one", got)
	}
}

func TestManagerKeepsPreviousList(t *testing.T) {
	tests := []struct {
		name    string
		respond func(w http.ResponseWriter, r *http.Request)
		opts    Options
		want    string
		wantErr error
	}{
		{
			name: "shrank by more than 90%",
			respond: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(hostList(12)))
			},
			want: "kept previous list: new list has 12 entries, previous 300 (-96%)",
		},
		{
			name: "empty with a deprecation notice",
			respond: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte("; This list has been merged into https://example.net/drop.txt\n; EOF\n"))
			},
			want: `new list has 0 entries, previous 300 (-100%), and the source says "This list has been merged into https://example.net/drop.txt"`,
		},
		{
			name: "html page",
			respond: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte("<!DOCTYPE html><html><body>Please sign in</body></html>"))
			},
			want:    "kept previous list: fetching http://127.0.0.1",
			wantErr: ErrHTML,
		},
		{
			name: "text error page",
			respond: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte("Access denied\nPlease sign in\n"))
			},
			want: `kept previous list: no usable entries (skipped lines: 2, first line 1: invalid address "Access")`,
		},
		{
			name: "server error",
			respond: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "oops", http.StatusInternalServerError)
			},
			want: "HTTP 500 Internal Server Error",
		},
		{
			name: "redirect",
			respond: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://elsewhere.example.net/list.txt", http.StatusMovedPermanently)
			},
			want: "HTTP 301 redirect to https://elsewhere.example.net/list.txt: redirects are not followed",
		},
		{
			name: "body too large",
			respond: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(hostList(5000)))
			},
			opts: Options{MaxBodyBytes: 10_000},
			want: "body is larger than 10000 bytes",
		},
		{
			name: "timeout",
			respond: func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			},
			opts: Options{Timeout: 200 * time.Millisecond},
			want: "timed out after 200ms",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFeedServer(t, hostList(300))
			clock := newFakeClock()
			tc.opts.Now = clock.Now
			m := newManager(t, []Config{urlFeed("example", srv.URL+"/list.txt")}, tc.opts)
			if err := m.Refresh(t.Context()); err != nil {
				t.Fatalf("first Refresh: %v", err)
			}
			before := m.Status()[0]

			srv.setRespond(tc.respond)
			clock.Advance(time.Hour)
			err := m.Refresh(t.Context())
			if err == nil {
				t.Fatal("second Refresh returned no error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Refresh error = %v, want %v", err, tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "feed example: kept previous list: ") {
				t.Errorf("Refresh error = %q, want it to name the feed and the kept list", err)
			}

			status := m.Status()[0]
			if !strings.Contains(status.LastError, tc.want) {
				t.Errorf("LastError = %q, want it to contain %q", status.LastError, tc.want)
			}
			if status.Entries != before.Entries || !status.LastChange.Equal(before.LastChange) {
				t.Errorf("status changed: %d entries loaded at %v, before %d at %v",
					status.Entries, status.LastChange, before.Entries, before.LastChange)
			}
			if status.ETag != before.ETag {
				t.Errorf("ETag = %q, want the kept list's %q", status.ETag, before.ETag)
			}
			if got := lookupNames(m, "192.0.2.1"); !slices.Equal(got, []string{"example"}) {
				t.Errorf("Lookup after a failed refresh = %v, want [example]", got)
			}
		})
	}
}

func TestManagerAcceptsConfirmedShrink(t *testing.T) {
	srv := newFeedServer(t, hostList(300))
	clock := newFakeClock()
	m := newManager(t, []Config{urlFeed("example", srv.URL)}, Options{Now: clock.Now})
	if err := m.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}

	srv.set(hostList(5), `"v2"`)
	for attempt := 1; attempt <= confirmShrinkDownloads; attempt++ {
		clock.Advance(time.Hour)
		err := m.Refresh(t.Context())
		entries := m.Status()[0].Entries
		if attempt < confirmShrinkDownloads {
			if err == nil || entries != 300 {
				t.Errorf("download %d: error %v and %d entries, want an error and 300", attempt, err, entries)
			}
			continue
		}
		if err != nil || entries != 5 {
			t.Errorf("download %d: error %v and %d entries, want none and 5", attempt, err, entries)
		}
	}
}

func TestManagerShrinkConfirmationNeedsSameList(t *testing.T) {
	srv := newFeedServer(t, hostList(300))
	clock := newFakeClock()
	m := newManager(t, []Config{urlFeed("example", srv.URL)}, Options{Now: clock.Now})
	if err := m.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}

	for attempt := range 2 * confirmShrinkDownloads {
		// A different small list each time never confirms itself.
		srv.set(hostList(5+attempt%2), fmt.Sprintf(`"small-%d"`, attempt))
		clock.Advance(time.Hour)
		if err := m.Refresh(t.Context()); err == nil {
			t.Fatalf("download %d was accepted", attempt+1)
		}
	}
	if got := m.Status()[0].Entries; got != 300 {
		t.Errorf("entries = %d, want 300", got)
	}
}

func TestManagerEmptyFirstList(t *testing.T) {
	srv := newFeedServer(t, "; This list has been merged into https://example.net/drop.txt\n; EOF\n")
	m := newManager(t, []Config{urlFeed("edrop", srv.URL)}, Options{})
	if err := m.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	status := m.Status()[0]
	if !status.Loaded || status.Entries != 0 || status.LastError != "" {
		t.Errorf("status = loaded %v, %d entries, error %q, want loaded, 0, none", status.Loaded, status.Entries, status.LastError)
	}
	if want := "This list has been merged into https://example.net/drop.txt"; status.Parsed.Notice != want {
		t.Errorf("Notice = %q, want %q", status.Parsed.Notice, want)
	}
}

func TestManagerFirstFailure(t *testing.T) {
	srv := newFeedServer(t, "")
	srv.setRespond(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotModified)
	})
	m := newManager(t, []Config{urlFeed("example", srv.URL)}, Options{})
	err := m.Refresh(t.Context())
	if err == nil || !strings.Contains(err.Error(), "HTTP 304 Not Modified, but no list is loaded") {
		t.Errorf("Refresh error = %v, want the 304 without a list", err)
	}
	status := m.Status()[0]
	if status.Loaded || strings.Contains(status.LastError, "kept previous list") {
		t.Errorf("status = loaded %v, error %q: nothing was kept", status.Loaded, status.LastError)
	}
}

func TestManagerCanceledRefresh(t *testing.T) {
	srv := newFeedServer(t, hostList(10))
	m := newManager(t, []Config{urlFeed("example", srv.URL)}, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	if err := m.Refresh(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Refresh error = %v, want context.Canceled", err)
	}
	status := m.Status()[0]
	if !status.LastAttempt.IsZero() || status.LastError != "" {
		t.Errorf("status after a canceled refresh: attempt %v, error %q, want neither", status.LastAttempt, status.LastError)
	}
	if err := m.Refresh(t.Context()); err != nil {
		t.Errorf("Refresh after the canceled one: %v", err)
	}
	if !m.Status()[0].Loaded {
		t.Error("feed not loaded by the Refresh after the canceled one")
	}
}

func TestManagerErrorsHideSecrets(t *testing.T) {
	srv := newFeedServer(t, "")
	srv.setRespond(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	})
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	configs := []Config{
		urlFeed("forbidden", srv.URL+"/list?key=topsecret"),
		urlFeed("unreachable", closedURL+"/list?key=topsecret"),
		urlFeed("password", strings.Replace(srv.URL, "http://", "http://user:topsecret@", 1)+"/list"),
	}
	m := newManager(t, configs, Options{})
	err := m.Refresh(t.Context())
	if err == nil {
		t.Fatal("Refresh returned no error")
	}
	if strings.Contains(err.Error(), "topsecret") {
		t.Errorf("Refresh error contains the secret: %v", err)
	}
	for _, s := range m.Status() {
		if s.LastError == "" {
			t.Errorf("feed %s: no LastError", s.Name)
		}
		if strings.Contains(s.LastError, "topsecret") || strings.Contains(s.Location, "topsecret") {
			t.Errorf("feed %s status contains the secret: %q, %q", s.Name, s.Location, s.LastError)
		}
	}
}

func TestManagerRefreshInterval(t *testing.T) {
	srv := newFeedServer(t, hostList(10))
	clock := newFakeClock()
	m := newManager(t, []Config{urlFeed("example", srv.URL)}, Options{Now: clock.Now})

	steps := []struct {
		advance  time.Duration
		requests int
	}{
		{0, 1},                // due at start
		{30 * time.Minute, 1}, // not due yet
		{30 * time.Minute, 2}, // the hour has passed
	}
	for i, step := range steps {
		clock.Advance(step.advance)
		if err := m.Refresh(t.Context()); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := len(srv.served()); got != step.requests {
			t.Errorf("step %d: server saw %d requests, want %d", i, got, step.requests)
		}
	}
}

func TestManagerRetryAfterFailure(t *testing.T) {
	srv := newFeedServer(t, hostList(10))
	srv.setRespond(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	clock := newFakeClock()
	config := urlFeed("example", srv.URL)
	config.Refresh = 24 * time.Hour
	m := newManager(t, []Config{config}, Options{Now: clock.Now})

	if err := m.Refresh(t.Context()); err == nil {
		t.Fatal("Refresh against a 503 returned no error")
	}
	srv.setRespond(nil)
	clock.Advance(FailureRetry - time.Second)
	_ = m.Refresh(t.Context())
	if got := len(srv.served()); got != 1 {
		t.Errorf("retried before FailureRetry: %d requests", got)
	}
	clock.Advance(time.Second)
	if err := m.Refresh(t.Context()); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := m.Status()[0].Entries; got != 10 {
		t.Errorf("entries after the retry = %d, want 10", got)
	}
}

func TestManagerFileFeed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "blocked.txt")
	writeFile := func(content string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	mtime := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	writeFile("192.0.2.1\n192.0.2.2\n", mtime)

	clock := newFakeClock()
	config := Config{Name: "local", Location: path, Kind: Malicious, Refresh: time.Minute}
	m := newManager(t, []Config{config}, Options{Now: clock.Now})
	if err := m.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	first := m.Status()[0]
	if first.Entries != 2 {
		t.Fatalf("entries = %d, want 2", first.Entries)
	}

	// Same size and time: not read again, even though the content differs.
	writeFile("192.0.2.3\n192.0.2.4\n", mtime)
	clock.Advance(time.Minute)
	if err := m.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := m.Status()[0]; !got.LastChange.Equal(first.LastChange) || !got.LastSuccess.Equal(clock.Now()) {
		t.Errorf("unchanged file: LastChange %v (want %v), LastSuccess %v (want %v)",
			got.LastChange, first.LastChange, got.LastSuccess, clock.Now())
	}
	if got := lookupNames(m, "192.0.2.1"); !slices.Equal(got, []string{"local"}) {
		t.Errorf("Lookup = %v, want the list that was read", got)
	}

	// A newer time: read again.
	writeFile("192.0.2.3\n192.0.2.4\n198.51.100.5\n", mtime.Add(time.Hour))
	clock.Advance(time.Minute)
	if err := m.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := m.Status()[0].Entries; got != 3 {
		t.Errorf("entries after the change = %d, want 3", got)
	}
	if got := lookupNames(m, "198.51.100.5"); !slices.Equal(got, []string{"local"}) {
		t.Errorf("Lookup of the new entry = %v, want [local]", got)
	}

	// The file disappears: the list is kept and the error gives the reason.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	err := m.Refresh(t.Context())
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Refresh of a missing file = %v, want a not-exist error", err)
	}
	status := m.Status()[0]
	if status.Entries != 3 || !strings.HasPrefix(status.LastError, "kept previous list: reading "+path) {
		t.Errorf("status = %d entries, error %q, want 3 kept", status.Entries, status.LastError)
	}
}

func TestManagerFileFeedErrors(t *testing.T) {
	dir := t.TempDir()
	large := filepath.Join(dir, "large.txt")
	if err := os.WriteFile(large, []byte(hostList(500)), 0o600); err != nil {
		t.Fatal(err)
	}
	html := filepath.Join("testdata", "page.html")
	unusable := filepath.Join(dir, "unusable.txt")
	if err := os.WriteFile(unusable, []byte("Start End Netblock\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		location string
		opts     Options
		want     string
	}{
		{"directory", dir, Options{}, "is a directory"},
		{"too large", large, Options{MaxBodyBytes: 100}, "file is larger than 100 bytes"},
		{"html", html, Options{}, ErrHTML.Error()},
		{"no usable entries", unusable, Options{}, `no usable entries (skipped lines: 1, first line 1: invalid address "Start")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			config := Config{Name: "local", Location: tc.location, Kind: Malicious, Refresh: time.Minute}
			m := newManager(t, []Config{config}, tc.opts)
			err := m.Refresh(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Refresh error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestManagerLookup(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	configs := []Config{
		{Name: "drop", Location: write("drop.txt", "192.0.2.0/24 ; SBL000001\n2001:db8::/32 ; SBL000002\n"), Kind: Malicious, Refresh: time.Minute},
		{Name: "tor", Location: write("tor.txt", "192.0.2.7\n198.51.100.7\n"), Kind: Info, Refresh: time.Minute},
		{Name: "empty", Location: write("empty.txt", ""), Kind: Malicious, Refresh: time.Minute},
	}
	m := newManager(t, configs, Options{})
	if got := m.Lookup(netip.MustParseAddr("192.0.2.7")); got != nil {
		t.Errorf("Lookup before the first refresh = %v, want nil", got)
	}
	if err := m.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		addr string
		want []Match
	}{
		{"192.0.2.7", []Match{{"drop", Malicious}, {"tor", Info}}},
		{"192.0.2.8", []Match{{"drop", Malicious}}},
		{"198.51.100.7", []Match{{"tor", Info}}},
		{"::ffff:198.51.100.7", []Match{{"tor", Info}}},
		{"2001:db8:1::1", []Match{{"drop", Malicious}}},
		{"203.0.113.1", nil},
		{"10.0.0.1", nil},
	}
	for _, tc := range tests {
		if got := m.Lookup(netip.MustParseAddr(tc.addr)); !slices.Equal(got, tc.want) {
			t.Errorf("Lookup(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}

	miss := netip.MustParseAddr("203.0.113.1")
	if allocs := testing.AllocsPerRun(100, func() { m.Lookup(miss) }); allocs != 0 {
		t.Errorf("Lookup without a match allocates %.1f times, want 0", allocs)
	}
	if m.TableBytes() == 0 {
		t.Error("TableBytes = 0 with loaded lists")
	}
}

func TestManagerRun(t *testing.T) {
	srv := newFeedServer(t, hostList(10))
	m := newManager(t, []Config{urlFeed("example", srv.URL)}, Options{})

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		m.Run(ctx)
		close(done)
	}()

	deadline := time.Now().Add(10 * time.Second)
	for !m.Status()[0].Loaded {
		if time.Now().After(deadline) {
			t.Fatal("Run did not load the feed within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of cancellation")
	}
}

func TestManagerUntilNextDue(t *testing.T) {
	clock := newFakeClock()
	configs := []Config{
		{Name: "hourly", Location: "/nonexistent/a.txt", Kind: Malicious, Refresh: time.Hour},
		{Name: "minutely", Location: "/nonexistent/b.txt", Kind: Malicious, Refresh: time.Minute},
	}
	m := newManager(t, configs, Options{Now: clock.Now})
	if got := m.untilNextDue(); got != time.Second {
		t.Errorf("before any refresh: wait %v, want 1s", got)
	}

	// Both files are missing, so both fail and retry after their
	// interval or FailureRetry, whichever is shorter.
	_ = m.Refresh(t.Context())
	if got := m.untilNextDue(); got != time.Minute {
		t.Errorf("after a failed refresh: wait %v, want 1m", got)
	}
	clock.Advance(2 * time.Minute)
	if got := m.untilNextDue(); got != time.Second {
		t.Errorf("with a feed overdue: wait %v, want 1s", got)
	}
}

func TestManagerRunWithoutFeeds(t *testing.T) {
	m := newManager(t, nil, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	m.Run(ctx)
	if ctx.Err() == nil {
		t.Error("Run returned before its context ended")
	}
}

func TestNewErrors(t *testing.T) {
	valid := Config{Name: "a", Location: "/tmp/a.txt", Refresh: time.Minute}
	tests := []struct {
		name    string
		configs []Config
		want    string
	}{
		{"invalid config", []Config{{Name: "a b", Location: "/tmp/x", Refresh: time.Minute}}, `feed a b: name "a b"`},
		{"zero refresh", []Config{{Name: "a", Location: "/tmp/x"}}, "feed a: refresh 0s is below the minimum"},
		{"duplicate", []Config{valid, valid}, "feed a: name is used twice"},
		{"too many", slices.Repeat([]Config{valid}, MaxFeeds+1), "at most 64 are supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.configs, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
