package store

import (
	"bytes"
	"testing"
	"time"
)

func TestEntryRoundTrip(t *testing.T) {
	stored := time.Date(2024, 5, 1, 12, 0, 0, 123, time.UTC)
	in := Entry{Outcome: NotFound, Value: []byte(`{"observed":false}`), StoredAt: stored, ExpiresAt: stored.Add(time.Hour)}

	out, ok, err := decodeEntry(encodeEntry(in))
	if err != nil || !ok {
		t.Fatalf("decodeEntry = (%t, %v), want an entry", ok, err)
	}
	if out.Outcome != in.Outcome || !bytes.Equal(out.Value, in.Value) ||
		!out.StoredAt.Equal(in.StoredAt) || !out.ExpiresAt.Equal(in.ExpiresAt) {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
}

func TestDecodeEntryInvalid(t *testing.T) {
	tests := []struct {
		name    string
		raw     []byte
		wantErr bool
	}{
		{"empty", nil, true},
		{"short header", []byte{entryVersion, byte(Found), 1, 2}, true},
		{"unknown outcome", append([]byte{entryVersion, 7}, make([]byte, 16)...), true},
		{"newer format", append([]byte{entryVersion + 1}, make([]byte, 17)...), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ok, err := decodeEntry(tt.raw)
			if ok {
				t.Error("decodeEntry returned an entry")
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("decodeEntry error = %v, want error %t", err, tt.wantErr)
			}
		})
	}
}

// FuzzDecodeEntry checks that decodeEntry never panics on stored bytes and
// that every entry it accepts encodes back to the same bytes.
func FuzzDecodeEntry(f *testing.F) {
	stored := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Add(encodeEntry(Entry{Outcome: Found, Value: []byte(`{"a":1}`), StoredAt: stored, ExpiresAt: stored.Add(time.Hour)}))
	f.Add(encodeEntry(Entry{Outcome: NotFound, StoredAt: stored, ExpiresAt: stored}))
	f.Add([]byte{})
	f.Add([]byte{entryVersion, byte(Found)})
	f.Fuzz(func(t *testing.T, raw []byte) {
		entry, ok, err := decodeEntry(raw)
		if err != nil || !ok {
			return
		}
		if again := encodeEntry(entry); !bytes.Equal(again, raw) {
			t.Errorf("encodeEntry(decodeEntry(%x)) = %x", raw, again)
		}
		if _, ok := entryExpiry(raw); !ok {
			t.Errorf("entryExpiry rejects %x, which decodeEntry accepts", raw)
		}
	})
}
