package geoip

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// checkIfDue starts a check for changed files in a new goroutine when the
// check interval has passed. The common case costs one clock read and one
// atomic load. Of the lookups that find the check due, the one that moves
// the next check time forward starts it, unless a Refresh is running.
func (r *Reader) checkIfDue() {
	if r.interval <= 0 {
		return
	}
	now := r.now()
	next := r.nextCheck.Load()
	if now.UnixNano() < next {
		return
	}
	if !r.nextCheck.CompareAndSwap(next, now.Add(r.interval).UnixNano()) {
		return
	}
	if !r.mu.TryLock() {
		return
	}
	go func() {
		defer r.mu.Unlock()
		if !r.closed {
			_ = r.refreshLocked(context.Background())
		}
	}()
}

// refreshLocked checks each file and reloads the ones that changed, then
// publishes the result. A file that cannot be read or loaded leaves its
// previous copy in use. A cancelled ctx stops before the next file and is
// returned but not kept for LastError. The caller holds r.mu.
func (r *Reader) refreshLocked(ctx context.Context) error {
	now := r.now()
	var ctxErr error
	for _, s := range r.sources {
		if err := ctx.Err(); err != nil {
			ctxErr = fmt.Errorf("checking %s: %w", s.variables, err)
			break
		}
		s.refresh(now)
	}

	var errs []error
	for _, s := range r.sources {
		if s.err != nil {
			errs = append(errs, s.err)
		}
	}
	err := errors.Join(errs...)
	r.publish(err)
	return errors.Join(err, ctxErr)
}

// refresh checks the source's file, reloads it when it changed and sets
// s.err to the outcome.
func (s *source) refresh(now time.Time) {
	info, err := os.Stat(s.path)
	if err != nil {
		s.err = s.keepingError(s.readError(err))
		return
	}
	if sameFile(info, s.current.file) {
		s.err = nil
		return
	}
	if sameFile(info, s.failed) {
		return // s.err still describes this file
	}

	db, tried, err := s.load(now)
	if err != nil {
		s.failed = tried
		s.err = s.keepingError(err)
		return
	}
	s.current, s.failed, s.err = db, nil, nil
}

// keepingError wraps a reload error with the time of the copy still in use.
func (s *source) keepingError(err error) error {
	return fmt.Errorf("reloading: %w (still using the copy loaded at %s)",
		err, s.current.loadedAt.UTC().Format(time.RFC3339))
}

// publish stores a new snapshot built from the sources' current databases.
func (r *Reader) publish(err error) {
	snap := &snapshot{err: err}
	for _, s := range r.sources {
		if s.roles&roleASN != 0 {
			snap.asn = s.current
			snap.infos = append(snap.infos, s.current.info("GEOIP_ASN_DB", s.path))
		}
		if s.roles&roleCountry != 0 {
			snap.country = s.current
			snap.infos = append(snap.infos, s.current.info("GEOIP_COUNTRY_DB", s.path))
		}
	}
	r.current.Store(snap)
}

func (db *database) info(variable, path string) DatabaseInfo {
	return DatabaseInfo{
		Variable:  variable,
		Path:      path,
		Type:      db.dbType,
		BuildTime: db.buildTime,
		Size:      db.file.Size(),
		LoadedAt:  db.loadedAt,
	}
}
