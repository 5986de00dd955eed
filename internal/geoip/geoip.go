// Package geoip looks up the country and the autonomous system of an address
// in local MaxMind-format (.mmdb) databases, with no quota and nothing sent
// out of the network. It reads the MaxMind record layout (GeoLite2-ASN,
// GeoLite2-Country, GeoLite2-City, GeoIP2-ISP, DB-IP Lite) and the IPinfo
// Lite layout, whichever a file uses, record by record.
//
// The files are reloaded when they change on disk, as geoipupdate replaces
// them. Each file is read whole into memory, not memory-mapped: a file
// rewritten in place cannot then corrupt lookups or crash the process with
// SIGBUS, and a replaced copy is freed by the garbage collector once no
// lookup uses it. The cost is resident memory equal to the file sizes, and
// twice that for a file while its replacement loads. As an estimate for the
// free editions: under 10 MB each for GeoLite2-ASN and GeoLite2-Country,
// about 60 MB for GeoLite2-City.
package geoip

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCheckInterval is how often the files are checked for a change when
// Options.CheckInterval is zero.
const DefaultCheckInterval = 60 * time.Second

// ErrClosed is returned by Refresh after Close.
var ErrClosed = errors.New("geoip reader is closed")

// Options configures Open.
type Options struct {
	// ASNPath is the database named by GEOIP_ASN_DB. Empty turns local ASN
	// lookups off.
	ASNPath string
	// CountryPath is the database named by GEOIP_COUNTRY_DB. Empty turns
	// local country lookups off. It may name the same file as ASNPath,
	// which is then loaded once.
	CountryPath string
	// CheckInterval is the minimum time between two checks of the files for
	// a change, made by Lookup. Zero means DefaultCheckInterval. A negative
	// value turns the checks off, so only Refresh reloads.
	CheckInterval time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// Result is the country and the autonomous system of an address.
type Result struct {
	CountryCode string // ISO 3166-1 alpha-2 in upper case, or "" when unknown
	ASN         string // "AS15169", the form IPinfo uses, or "" when unknown
	ASName      string // AS organization name, or "" when unknown
}

// DatabaseInfo describes one loaded database file.
type DatabaseInfo struct {
	Variable  string    // the variable that names the file
	Path      string    // the path as configured
	Type      string    // database_type from the file's metadata, e.g. "GeoLite2-ASN"
	BuildTime time.Time // build_epoch from the file's metadata
	Size      int64     // bytes, all held in memory
	LoadedAt  time.Time
}

// Reader looks addresses up in the configured databases. It is safe for
// concurrent use. Lookups read an immutable snapshot through an atomic
// pointer and take no lock. Only the lookup that starts a check of the
// files tries one.
type Reader struct {
	current   atomic.Pointer[snapshot]
	nextCheck atomic.Int64 // Unix nanoseconds of the next check for a change
	interval  time.Duration
	now       func() time.Time

	mu      sync.Mutex // held while checking or reloading, and guards sources and closed
	sources []*source
	closed  bool
}

// snapshot is the set of databases lookups use. A reload publishes a new
// snapshot and never modifies a published one.
type snapshot struct {
	asn     *database // nil when GEOIP_ASN_DB is not set
	country *database // nil when GEOIP_COUNTRY_DB is not set, and may equal asn
	infos   []DatabaseInfo
	err     error // the result of the last check
}

// Open loads the configured databases. It fails when a configured file is
// missing, unreadable, not a MaxMind DB, or lacks the fields its variable
// needs. With both paths empty it returns a Reader that finds nothing.
func Open(opts Options) (*Reader, error) {
	r := &Reader{interval: opts.CheckInterval, now: opts.Now}
	if r.interval == 0 {
		r.interval = DefaultCheckInterval
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.sources = newSources(opts.ASNPath, opts.CountryPath)

	now := r.now()
	var errs []error
	for _, s := range r.sources {
		db, _, err := s.load(now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.current = db
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	r.publish(nil)
	r.nextCheck.Store(now.Add(r.interval).UnixNano())
	return r, nil
}

// newSources returns one source per distinct file, so a file named by both
// variables is loaded once.
func newSources(asnPath, countryPath string) []*source {
	if asnPath != "" && filepath.Clean(asnPath) == filepath.Clean(countryPath) {
		return []*source{{path: asnPath, roles: roleASN | roleCountry, variables: "GEOIP_ASN_DB and GEOIP_COUNTRY_DB"}}
	}
	var sources []*source
	if asnPath != "" {
		sources = append(sources, &source{path: asnPath, roles: roleASN, variables: "GEOIP_ASN_DB"})
	}
	if countryPath != "" {
		sources = append(sources, &source{path: countryPath, roles: roleCountry, variables: "GEOIP_COUNTRY_DB"})
	}
	return sources
}

// Lookup returns the country and the AS of addr. IPv4-mapped IPv6 addresses
// are looked up as IPv4. The country comes from GEOIP_COUNTRY_DB and the AS
// from GEOIP_ASN_DB, but a database that has both (IPinfo Lite) fills what
// the other one lacks. found is false when neither database has a country or an
// AS for addr, which includes an invalid addr and an address outside every
// network. A record that fails to decode counts as absent.
//
// When the check interval has passed, Lookup starts a check of the files in
// a new goroutine and returns without waiting for it.
func (r *Reader) Lookup(addr netip.Addr) (Result, bool) {
	r.checkIfDue()

	snap := r.current.Load()
	addr = addr.Unmap().WithZone("")
	if !addr.IsValid() {
		return Result{}, false
	}

	// The records come from a pool because decoding through an interface
	// moves them to the heap, which would cost an allocation per lookup.
	asnRecord, countryRecord := recordPool.Get().(*record), recordPool.Get().(*record)
	defer recordPool.Put(asnRecord)
	defer recordPool.Put(countryRecord)
	*asnRecord, *countryRecord = record{}, record{}

	if snap.asn != nil {
		snap.asn.lookup(addr, asnRecord)
	}
	if snap.country != nil {
		if snap.country == snap.asn {
			*countryRecord = *asnRecord
		} else {
			snap.country.lookup(addr, countryRecord)
		}
	}

	result := Result{CountryCode: countryRecord.country()}
	if result.CountryCode == "" {
		result.CountryCode = asnRecord.country()
	}
	result.ASN, result.ASName = asnRecord.asn(), asnRecord.asOrganization()
	if result.ASN == "" {
		result.ASN, result.ASName = countryRecord.asn(), countryRecord.asOrganization()
	}
	return result, result != Result{}
}

var recordPool = sync.Pool{New: func() any { return new(record) }}

// lookup decodes the record for addr into rec, leaving rec empty when the
// database has none or the record cannot be decoded.
func (db *database) lookup(addr netip.Addr, rec *record) {
	if db.ipv4Only && addr.Is6() {
		return
	}
	result := db.reader.Lookup(addr)
	if !result.Found() {
		return
	}
	if err := result.Decode(rec); err != nil {
		*rec = record{}
	}
}

// LastError returns the error of the last check for changed files, or nil
// when every file was current or reloaded. While it is not nil, lookups
// use the copy of the failing file that was loaded before. After Close it
// returns ErrClosed.
func (r *Reader) LastError() error {
	return r.current.Load().err
}

// Databases describes the loaded database files, one entry per variable.
func (r *Reader) Databases() []DatabaseInfo {
	return append([]DatabaseInfo(nil), r.current.Load().infos...)
}

// Close stops the checks for changed files and drops the databases, after
// any running check has finished. Lookups after Close find nothing. Close
// may be called concurrently with Lookup and more than once.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.current.Store(&snapshot{err: ErrClosed})
	return nil
}

// Refresh checks the files now and reloads each one that changed. It
// returns the error LastError returns afterwards, joined with ctx's error
// when ctx ends first. ctx is checked between files, so a file being read
// is read to the end.
func (r *Reader) Refresh(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.nextCheck.Store(r.now().Add(r.interval).UnixNano())
	return r.refreshLocked(ctx)
}
