package store

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Cache entry encoding, shared by both backends:
//
//	byte 0      format version (entryVersion)
//	byte 1      outcome
//	bytes 2-9   stored-at, Unix nanoseconds, big-endian
//	bytes 10-17 expires-at, Unix nanoseconds, big-endian
//	bytes 18-   the value
const (
	entryVersion   = 1
	entryHeaderLen = 18
)

func encodeEntry(e Entry) []byte {
	b := make([]byte, entryHeaderLen, entryHeaderLen+len(e.Value))
	b[0] = entryVersion
	b[1] = byte(e.Outcome)
	binary.BigEndian.PutUint64(b[2:10], uint64(e.StoredAt.UnixNano()))
	binary.BigEndian.PutUint64(b[10:18], uint64(e.ExpiresAt.UnixNano()))
	return append(b, e.Value...)
}

// decodeEntry parses an encoded entry. It returns ok=false without an error
// for an entry of another format version, so a replica that runs an older
// release treats entries written by a newer one as misses. The returned
// Value is a copy, because bbolt's buffers are valid only inside their
// transaction.
func decodeEntry(b []byte) (e Entry, ok bool, err error) {
	if len(b) > 0 && b[0] != entryVersion {
		return Entry{}, false, nil
	}
	if len(b) < entryHeaderLen {
		return Entry{}, false, fmt.Errorf("invalid cache entry: %d bytes, shorter than the %d-byte header", len(b), entryHeaderLen)
	}

	e.Outcome = Outcome(b[1])
	if !e.Outcome.valid() {
		return Entry{}, false, fmt.Errorf("invalid cache entry: unknown outcome %d", b[1])
	}
	e.StoredAt = time.Unix(0, int64(binary.BigEndian.Uint64(b[2:10])))
	e.ExpiresAt = time.Unix(0, int64(binary.BigEndian.Uint64(b[10:18])))
	e.Value = append([]byte{}, b[entryHeaderLen:]...)
	return e, true, nil
}

// entryExpiry returns the expires-at of an encoded entry without copying its
// value, for the sweep. ok is false for entries that decodeEntry would not
// return either.
func entryExpiry(b []byte) (expiresAt time.Time, ok bool) {
	if len(b) < entryHeaderLen || b[0] != entryVersion {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[10:18]))), true
}

// Lock value in the bbolt file: expiry in Unix nanoseconds (8 bytes,
// big-endian), then the holder.
func encodeLock(holder string, expiresAt time.Time) []byte {
	b := make([]byte, 8, 8+len(holder))
	binary.BigEndian.PutUint64(b, uint64(expiresAt.UnixNano()))
	return append(b, holder...)
}

func decodeLock(b []byte) (holder string, expiresAt time.Time, ok bool) {
	if len(b) < 8 {
		return "", time.Time{}, false
	}
	return string(b[8:]), time.Unix(0, int64(binary.BigEndian.Uint64(b[:8]))), true
}
