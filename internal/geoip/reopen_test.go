package geoip

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	// googleAddr is AS15169 in the ASN test database and absent from the
	// ISP one, so a lookup shows which of the two is loaded.
	googleAddr = netip.MustParseAddr("1.0.0.1")
	googleASN  = Result{ASN: "AS15169", ASName: "Google Inc."}
)

// newASNCopy copies the ASN test database into a temporary directory and
// opens it with the given options.
func newASNCopy(t *testing.T, opts Options) (*Reader, string) {
	t.Helper()
	path := writeFile(t, t.TempDir(), "GeoLite2-ASN.mmdb", readCorpusDB(t, asnTestDB))
	opts.ASNPath = path
	return openReader(t, opts), path
}

func lookupASN(t *testing.T, r *Reader) (Result, bool) {
	t.Helper()
	return r.Lookup(googleAddr)
}

func checkLoadedType(t *testing.T, r *Reader, want string) {
	t.Helper()
	infos := r.Databases()
	if len(infos) != 1 || infos[0].Type != want {
		t.Fatalf("Databases = %+v, want one of type %q", infos, want)
	}
}

func TestRefreshLoadsReplacedFile(t *testing.T) {
	r, path := newASNCopy(t, Options{CheckInterval: -1})
	if got, _ := lookupASN(t, r); got != googleASN {
		t.Fatalf("Lookup before the swap = %+v, want %+v", got, googleASN)
	}

	replaceFile(t, path, readCorpusDB(t, ispTestDB))
	if err := r.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	checkLoadedType(t, r, "GeoIP2-ISP")
	if got, found := lookupASN(t, r); found {
		t.Errorf("Lookup after the swap = %+v, want not found", got)
	}
	if got, _ := r.Lookup(netip.MustParseAddr("1.128.0.1")); got.ASN != "AS1221" {
		t.Errorf("Lookup(1.128.0.1) after the swap = %+v, want AS1221", got)
	}
	if err := r.LastError(); err != nil {
		t.Errorf("LastError = %v, want nil", err)
	}
}

func TestRefreshLoadsFileRewrittenInPlace(t *testing.T) {
	r, path := newASNCopy(t, Options{CheckInterval: -1})

	if err := os.WriteFile(path, readCorpusDB(t, ispTestDB), 0o644); err != nil {
		t.Fatal(err)
	}
	// A rewrite keeps the inode, so the change shows in the size and time.
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if err := r.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	checkLoadedType(t, r, "GeoIP2-ISP")
}

func TestRefreshKeepsUnchangedFile(t *testing.T) {
	r, _ := newASNCopy(t, Options{CheckInterval: -1})
	before := r.current.Load().asn

	if err := r.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if after := r.current.Load().asn; after != before {
		t.Error("Refresh reloaded a file that did not change")
	}
}

func TestRefreshKeepsOldCopyOnBadReplacement(t *testing.T) {
	asnDB := readCorpusDB(t, asnTestDB)
	tests := []struct {
		name    string
		replace func(t *testing.T, path string)
		is      error
		message string
	}{
		{
			name:    "garbage",
			replace: func(t *testing.T, path string) { replaceFile(t, path, []byte("<html>404 Not Found</html>")) },
			is:      ErrNotDatabase, message: "not a MaxMind DB file",
		},
		{
			name:    "truncated",
			replace: func(t *testing.T, path string) { replaceFile(t, path, asnDB[:len(asnDB)-100]) },
			is:      ErrNotDatabase, message: "not a MaxMind DB file",
		},
		{
			name:    "empty",
			replace: func(t *testing.T, path string) { replaceFile(t, path, nil) },
			message: "file is empty",
		},
		{
			name:    "wrong type",
			replace: func(t *testing.T, path string) { replaceFile(t, path, readCorpusDB(t, countryTestDB)) },
			is:      ErrWrongType, message: `"GeoLite2-Country" has no AS numbers`,
		},
		{
			name: "deleted",
			replace: func(t *testing.T, path string) {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			},
			is: fs.ErrNotExist, message: "no such file",
		},
		{
			name: "replaced by a directory",
			replace: func(t *testing.T, path string) {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(path, 0o755); err != nil {
					t.Fatal(err)
				}
			},
			message: "is a directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, path := newASNCopy(t, Options{CheckInterval: -1})
			tt.replace(t, path)

			err := r.Refresh(t.Context())
			if err == nil {
				t.Fatal("Refresh succeeded, want an error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			for _, part := range []string{"GEOIP_ASN_DB", path, tt.message, "still using the copy loaded at"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
			if last := r.LastError(); last == nil || last.Error() != err.Error() {
				t.Errorf("LastError = %v, want %v", last, err)
			}

			if got, _ := lookupASN(t, r); got != googleASN {
				t.Errorf("Lookup after the bad replacement = %+v, want the old result %+v", got, googleASN)
			}
			checkLoadedType(t, r, "GeoLite2-ASN")
		})
	}
}

func TestRefreshRecoversAfterBadReplacement(t *testing.T) {
	r, path := newASNCopy(t, Options{CheckInterval: -1})
	replaceFile(t, path, []byte("garbage"))
	if err := r.Refresh(t.Context()); err == nil {
		t.Fatal("Refresh of garbage succeeded, want an error")
	}

	replaceFile(t, path, readCorpusDB(t, ispTestDB))
	if err := r.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh of a good file: %v", err)
	}
	if err := r.LastError(); err != nil {
		t.Errorf("LastError = %v, want nil", err)
	}
	checkLoadedType(t, r, "GeoIP2-ISP")
}

func TestRefreshDoesNotRereadUnchangedBrokenFile(t *testing.T) {
	r, path := newASNCopy(t, Options{CheckInterval: -1})
	replaceFile(t, path, []byte("garbage"))
	if err := r.Refresh(t.Context()); err == nil {
		t.Fatal("Refresh of garbage succeeded, want an error")
	}
	first := r.sources[0].err

	if err := r.Refresh(t.Context()); err == nil {
		t.Fatal("second Refresh succeeded, want the same error")
	}
	if r.sources[0].err != first {
		t.Error("the unchanged broken file was loaded again")
	}
}

func TestRefreshHonoursCancelledContext(t *testing.T) {
	r, path := newASNCopy(t, Options{CheckInterval: -1})
	replaceFile(t, path, readCorpusDB(t, ispTestDB))

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := r.Refresh(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Refresh = %v, want context.Canceled", err)
	}
	checkLoadedType(t, r, "GeoLite2-ASN")
	if err := r.LastError(); err != nil {
		t.Errorf("LastError = %v, want nil: a cancelled check says nothing about the files", err)
	}
}

func TestLookupChecksFilesAfterInterval(t *testing.T) {
	clock := newFakeClock()
	r, path := newASNCopy(t, Options{CheckInterval: time.Minute, Now: clock.Now})
	replaceFile(t, path, readCorpusDB(t, ispTestDB))

	clock.Advance(59 * time.Second)
	lookupASN(t, r)
	waitForCheck(r)
	if got, _ := lookupASN(t, r); got != googleASN {
		t.Fatalf("Lookup before the interval = %+v, want the old result", got)
	}

	clock.Advance(time.Second)
	lookupASN(t, r) // starts the check
	waitForCheck(r)
	if got, found := lookupASN(t, r); found {
		t.Errorf("Lookup after the interval = %+v, want the new database's not found", got)
	}
	checkLoadedType(t, r, "GeoIP2-ISP")
}

func TestLookupCheckReportsBadFile(t *testing.T) {
	clock := newFakeClock()
	r, path := newASNCopy(t, Options{Now: clock.Now})
	replaceFile(t, path, []byte("garbage"))

	clock.Advance(DefaultCheckInterval)
	lookupASN(t, r)
	waitForCheck(r)
	if err := r.LastError(); !errors.Is(err, ErrNotDatabase) {
		t.Errorf("LastError = %v, want ErrNotDatabase", err)
	}
	if got, _ := lookupASN(t, r); got != googleASN {
		t.Errorf("Lookup = %+v, want the old result", got)
	}
}

func TestLookupWithoutIntervalNeverChecks(t *testing.T) {
	clock := newFakeClock()
	r, path := newASNCopy(t, Options{CheckInterval: -1, Now: clock.Now})
	replaceFile(t, path, readCorpusDB(t, ispTestDB))

	clock.Advance(24 * time.Hour)
	lookupASN(t, r)
	waitForCheck(r)
	checkLoadedType(t, r, "GeoLite2-ASN")
}

func TestCloseStopsLookups(t *testing.T) {
	clock := newFakeClock()
	r, path := newASNCopy(t, Options{Now: clock.Now})

	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got, found := lookupASN(t, r); found {
		t.Errorf("Lookup after Close = %+v, want not found", got)
	}
	if err := r.Refresh(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("Refresh after Close = %v, want ErrClosed", err)
	}

	// A check due after Close does nothing.
	replaceFile(t, path, readCorpusDB(t, ispTestDB))
	clock.Advance(DefaultCheckInterval)
	lookupASN(t, r)
	waitForCheck(r)
	if infos := r.Databases(); len(infos) != 0 {
		t.Errorf("Databases after Close = %+v, want none", infos)
	}
}

func TestDatabasesDescribesFiles(t *testing.T) {
	clock := newFakeClock()
	asnPath, countryPath := corpusDB(t, asnTestDB), corpusDB(t, countryTestDB)
	r := openReader(t, Options{ASNPath: asnPath, CountryPath: countryPath, Now: clock.Now})

	infos := r.Databases()
	if len(infos) != 2 {
		t.Fatalf("Databases = %+v, want 2", infos)
	}
	want := []DatabaseInfo{
		{Variable: "GEOIP_ASN_DB", Path: asnPath, Type: "GeoLite2-ASN"},
		{Variable: "GEOIP_COUNTRY_DB", Path: countryPath, Type: "GeoLite2-Country"},
	}
	for i, info := range infos {
		if info.Variable != want[i].Variable || info.Path != want[i].Path || info.Type != want[i].Type {
			t.Errorf("Databases[%d] = %+v, want %+v", i, info, want[i])
		}
		stat, err := os.Stat(info.Path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Size != stat.Size() {
			t.Errorf("Databases[%d].Size = %d, want %d", i, info.Size, stat.Size())
		}
		if !info.LoadedAt.Equal(clock.Now()) {
			t.Errorf("Databases[%d].LoadedAt = %v, want %v", i, info.LoadedAt, clock.Now())
		}
		if info.BuildTime.Year() < 2015 {
			t.Errorf("Databases[%d].BuildTime = %v, want the metadata build time", i, info.BuildTime)
		}
	}
}

// TestLookupDuringReloads runs lookups while the file is swapped and
// reloaded, so the race detector covers both sides. Every result must come
// from one of the two databases.
func TestLookupDuringReloads(t *testing.T) {
	r, path := newASNCopy(t, Options{CheckInterval: -1})
	databases := [][]byte{readCorpusDB(t, ispTestDB), readCorpusDB(t, asnTestDB)}
	telstra := netip.MustParseAddr("1.128.0.1")

	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				got, found := r.Lookup(googleAddr)
				if found && got != googleASN {
					errs <- "Lookup(1.0.0.1) = " + got.ASN
					return
				}
				if got, _ := r.Lookup(telstra); got.ASN != "AS1221" {
					errs <- "Lookup(1.128.0.1) = " + got.ASN
					return
				}
			}
		})
	}

	for i := range 20 {
		replaceFile(t, path, databases[i%2])
		if err := r.Refresh(ctx); err != nil {
			t.Errorf("Refresh %d: %v", i, err)
		}
	}
	cancel()
	wg.Wait()
	close(errs)
	for message := range errs {
		t.Error(message)
	}
}

func TestOpenSchedulesFirstCheck(t *testing.T) {
	clock := newFakeClock()
	dir := t.TempDir()
	path := filepath.Join(dir, "asn.mmdb")
	replaceFile(t, path, readCorpusDB(t, asnTestDB))
	r := openReader(t, Options{ASNPath: path, Now: clock.Now, CheckInterval: time.Hour})

	if got, want := r.nextCheck.Load(), clock.Now().Add(time.Hour).UnixNano(); got != want {
		t.Errorf("next check = %d, want %d", got, want)
	}
}
