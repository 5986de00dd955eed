package geoip

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
)

const (
	// maxFileSize rejects a path that names something far larger than a
	// country or ASN database, which is tens of megabytes, because the whole
	// file is read into memory.
	maxFileSize = 1 << 30

	// probeLimit is how many networks a new database is searched for a
	// record with the fields its variable needs, before it is rejected as
	// the wrong type of database.
	probeLimit = 4096
)

var (
	// ErrNotDatabase is the cause when a file is not a MaxMind DB file.
	ErrNotDatabase = errors.New("not a MaxMind DB file")
	// ErrWrongType is the cause when a database lacks the fields its
	// variable needs, such as a country database given as GEOIP_ASN_DB.
	ErrWrongType = errors.New("wrong database type")
)

// DatabaseError is a database that could not be used: the variable that
// names it, the step that failed, the cause and what to do about it.
type DatabaseError struct {
	Variable string // "GEOIP_ASN_DB", "GEOIP_COUNTRY_DB", or both joined by " and "
	Op       string // "reading" or "opening"
	Path     string
	Err      error
	Hint     string
}

func (e *DatabaseError) Error() string {
	return fmt.Sprintf("%s: %s %q: %v; %s", e.Variable, e.Op, e.Path, e.Err, e.Hint)
}

func (e *DatabaseError) Unwrap() error { return e.Err }

// role is what a database is used for. A file named by both variables has both.
type role uint8

const (
	roleASN role = 1 << iota
	roleCountry
)

// source is one configured file and the state of its reloads. Only the
// goroutine that holds Reader.mu touches it.
type source struct {
	path      string
	roles     role
	variables string

	current *database
	// failed is the file that last failed to load, so an unchanged broken
	// file is not read again at every check. It is nil after a success.
	failed os.FileInfo
	err    error
}

// database is one loaded file. It is never modified after loading, so
// lookups read it without a lock.
type database struct {
	reader    *maxminddb.Reader
	file      os.FileInfo
	dbType    string
	buildTime time.Time
	loadedAt  time.Time
	ipv4Only  bool
}

// load reads the source's file and checks that it is a MaxMind DB with the
// fields the source's roles need.
func (s *source) load(now time.Time) (*database, os.FileInfo, error) {
	info, err := os.Stat(s.path)
	if err != nil {
		return nil, nil, s.readError(err)
	}
	if err := s.checkFile(info); err != nil {
		return nil, info, err
	}

	file, err := os.Open(s.path)
	if err != nil {
		return nil, info, s.readError(err)
	}
	defer file.Close()

	// The identity recorded is that of the open file, which is what is
	// read even if the path is renamed over in between.
	info, err = file.Stat()
	if err != nil {
		return nil, nil, s.readError(err)
	}
	if err := s.checkFile(info); err != nil {
		return nil, info, err
	}
	data := make([]byte, info.Size())
	if _, err := io.ReadFull(file, data); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, info, s.newError("reading", errors.New("file shrank while being read"),
				"it is probably being rewritten in place; the next check reads it again")
		}
		return nil, info, s.readError(err)
	}

	db, err := s.open(data, info)
	if err != nil {
		return nil, info, err
	}
	db.loadedAt = now
	return db, info, nil
}

// checkFile rejects what cannot be a database before any of it is read.
func (s *source) checkFile(info os.FileInfo) error {
	switch {
	case info.IsDir():
		return s.newError("reading", errors.New("is a directory"), s.directoryHint())
	case !info.Mode().IsRegular():
		return s.newError("reading", errors.New("not a regular file"),
			fmt.Sprintf("set %s to the path of a .mmdb file", s.variables))
	case info.Size() == 0:
		return s.newError("reading", errors.New("file is empty"),
			"the download was probably interrupted; run the update (geoipupdate) again")
	case info.Size() > maxFileSize:
		return s.newError("reading", fmt.Errorf("file is %d bytes, more than the %d a database may have", info.Size(), maxFileSize),
			fmt.Sprintf("set %s to a country or ASN .mmdb file", s.variables))
	}
	return nil
}

// open parses data as a MaxMind DB and probes it for the needed fields.
func (s *source) open(data []byte, info os.FileInfo) (*database, error) {
	reader, err := maxminddb.OpenBytes(data)
	if err != nil {
		return nil, s.newError("opening", fmt.Errorf("%w: %w", ErrNotDatabase, err), s.formatHint(data))
	}
	if reader.Metadata.IPVersion != 4 && reader.Metadata.IPVersion != 6 {
		return nil, s.newError("opening", fmt.Errorf("%w: unknown IP version %d in its metadata", ErrNotDatabase, reader.Metadata.IPVersion),
			"the file is damaged; download it again")
	}

	db := &database{
		reader:    reader,
		file:      info,
		dbType:    reader.Metadata.DatabaseType,
		buildTime: reader.Metadata.BuildTime(),
		ipv4Only:  reader.Metadata.IPVersion == 4,
	}
	if err := s.probe(db); err != nil {
		return nil, err
	}
	return db, nil
}

// probe decodes the first networks of a new database until it finds the
// fields the source needs. It rejects a database of the wrong type with a
// clear message, and one whose first records are damaged.
//
// NOTE: damage beyond the probed networks, in a file whose metadata is
// intact, is not found here, and lookups that reach it return not found.
// Reader.Verify would check the whole file, but it also enforces metadata
// rules (a non-empty description) that DB-IP and IPinfo files were not
// checked against, so it could reject a good file.
func (s *source) probe(db *database) error {
	var hasASN, hasCountry bool
	networks := 0
	for result := range db.reader.Networks() {
		if networks == probeLimit {
			break
		}
		networks++

		var rec record
		if err := result.Decode(&rec); err != nil {
			return s.newError("opening", fmt.Errorf("%w: decoding the record of %s: %w", ErrNotDatabase, result.Prefix(), err),
				"the file is damaged; download it again")
		}
		hasASN = hasASN || rec.asn() != ""
		hasCountry = hasCountry || rec.country() != ""
		if (s.roles&roleASN == 0 || hasASN) && (s.roles&roleCountry == 0 || hasCountry) {
			return nil
		}
	}

	var missing string
	switch {
	case s.roles&roleASN != 0 && !hasASN && s.roles&roleCountry != 0 && !hasCountry:
		missing = "AS numbers or country codes"
	case s.roles&roleASN != 0 && !hasASN:
		missing = "AS numbers"
	default:
		missing = "country codes"
	}
	where := fmt.Sprintf("in its first %d networks", networks)
	if networks == 0 {
		where = "because it contains no networks"
	}
	return s.newError("opening", fmt.Errorf("%w: %q has no %s %s", ErrWrongType, db.dbType, missing, where), s.typeHint())
}

func (s *source) newError(op string, err error, hint string) *DatabaseError {
	return &DatabaseError{Variable: s.variables, Op: op, Path: s.path, Err: err, Hint: hint}
}

// readError wraps a file system error. The path is dropped from it because
// DatabaseError already names the path.
func (s *source) readError(err error) *DatabaseError {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		err = pathErr.Err
	}
	hint := fmt.Sprintf("check the path and its permissions, or leave %s empty to turn local %s lookups off",
		s.variables, s.lookupKind())
	return s.newError("reading", err, hint)
}

// directoryHint names the .mmdb files in a directory that was given in
// place of a file.
func (s *source) directoryHint() string {
	names, _ := filepath.Glob(filepath.Join(s.path, "*.mmdb"))
	if len(names) == 0 {
		return fmt.Sprintf("set %s to the path of a .mmdb file, not a directory", s.variables)
	}
	for i, name := range names {
		names[i] = filepath.Base(name)
	}
	return fmt.Sprintf("set %s to one of the .mmdb files in it: %s", s.variables, strings.Join(names, ", "))
}

// formatHint recognizes the usual wrong downloads by their first bytes.
func (s *source) formatHint(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		return fmt.Sprintf("the file is gzip-compressed (.gz or .tar.gz); decompress it and set %s to the .mmdb file inside", s.variables)
	case len(data) > 262 && string(data[257:262]) == "ustar":
		return fmt.Sprintf("the file is a tar archive; extract it and set %s to the .mmdb file inside", s.variables)
	default:
		return fmt.Sprintf("download the MMDB edition of the database (not the CSV one) and set %s to the .mmdb file", s.variables)
	}
}

// typeHint names the databases that fit the source's roles.
func (s *source) typeHint() string {
	switch s.roles {
	case roleASN:
		return fmt.Sprintf("set %s to an ASN database (GeoLite2-ASN, GeoIP2-ISP, DB-IP ASN Lite or IPinfo Lite)", s.variables)
	case roleCountry:
		return fmt.Sprintf("set %s to a country database (GeoLite2-Country, GeoLite2-City, DB-IP Country Lite or IPinfo Lite)", s.variables)
	default:
		return fmt.Sprintf("set both %s to IPinfo Lite, which has both, or each to its own database", s.variables)
	}
}

func (s *source) lookupKind() string {
	switch s.roles {
	case roleASN:
		return "ASN"
	case roleCountry:
		return "country"
	default:
		return "country and ASN"
	}
}

// sameFile reports whether two file infos describe the same unchanged file:
// the same inode (or its equivalent), size and modification time.
func sameFile(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return false
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}
