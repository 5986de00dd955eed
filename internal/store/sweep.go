package store

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// sweepLoop removes expired entries every sweepInterval until Close.
func (s *boltStore) sweepLoop() {
	defer close(s.done)

	ticker := time.NewTicker(sweepInterval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
			if n, err := s.sweep(s.clock()); err != nil {
				s.logger.Warn("removing expired entries failed", "err", err, "path", s.path, "removed", n)
			}
		}
	}
}

// sweep deletes the cache entries and locks that expired at now, the cache
// entries it cannot decode, and the budget counts of UTC dates more than
// budgetKeep before now. It returns the number of keys deleted.
func (s *boltStore) sweep(now time.Time) (int, error) {
	oldestDay := now.Add(-budgetKeep).UTC().Format(time.DateOnly)

	expiredEntry := func(_, v []byte) bool {
		expiresAt, ok := entryExpiry(v)
		return !ok || !now.Before(expiresAt)
	}
	expiredLock := func(_, v []byte) bool {
		_, expiresAt, ok := decodeLock(v)
		return !ok || !now.Before(expiresAt)
	}
	// A budget key ends in its date, "…:2006-01-02". Dates in this form sort
	// as strings in time order.
	oldBudget := func(k, _ []byte) bool {
		i := bytes.LastIndexByte(k, ':')
		return i >= 0 && string(k[i+1:]) < oldestDay
	}

	total := 0
	for _, part := range []struct {
		bucket []byte
		remove func(k, v []byte) bool
	}{
		{bucketCache, expiredEntry},
		{bucketLock, expiredLock},
		{bucketBudget, oldBudget},
	} {
		n, err := s.sweepBucket(part.bucket, part.remove)
		total += n
		if err != nil {
			return total, fmt.Errorf("removing expired entries from bucket %s of %q: %w", part.bucket, s.path, err)
		}
	}
	return total, nil
}

// sweepBucket deletes the keys of bucket for which remove returns true. Each
// transaction looks at no more than sweepBatch keys and resumes the scan at
// the first key the previous one did not look at. Keys are deleted after the
// cursor is done, because a bbolt cursor that deletes during iteration can
// skip the following key.
func (s *boltStore) sweepBucket(bucket []byte, remove func(k, v []byte) bool) (int, error) {
	total := 0
	var resume []byte
	for {
		var doomed [][]byte
		next := []byte(nil)
		err := s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucket)
			c := b.Cursor()
			k, v := c.First()
			if resume != nil {
				k, v = c.Seek(resume)
			}
			for seen := 0; k != nil; k, v = c.Next() {
				if seen == sweepBatch {
					next = bytes.Clone(k)
					break
				}
				seen++
				if remove(k, v) {
					doomed = append(doomed, bytes.Clone(k))
				}
			}
			for _, k := range doomed {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += len(doomed)
		if next == nil {
			return total, nil
		}
		resume = next
	}
}
