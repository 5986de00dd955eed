package blocklist_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/threat-intel/threat-intel/internal/store"
)

// memStore keeps the membership in memory and counts calls. loadErr and
// saveErr, when set, are returned by every call.
type memStore struct {
	mu      sync.Mutex
	data    []byte
	loads   int
	saves   int
	loadErr error
	saveErr error
}

func (s *memStore) LoadBlocklist(context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	if s.loadErr != nil {
		return nil, s.loadErr
	}
	if s.data == nil {
		return nil, fmt.Errorf("loading blocklist: %w", store.ErrNotFound)
	}
	return append([]byte(nil), s.data...), nil
}

func (s *memStore) SaveBlocklist(_ context.Context, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	if s.saveErr != nil {
		return s.saveErr
	}
	s.data = append([]byte(nil), data...)
	return nil
}

func (s *memStore) stored() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.data...)
}

// fileStore keeps the membership in one file, as a process that restarts
// finds it again. A missing file returns no data and no error, the other
// form of "nothing saved" that Store allows.
type fileStore struct {
	path string
}

func (s fileStore) LoadBlocklist(context.Context) ([]byte, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

func (s fileStore) SaveBlocklist(_ context.Context, data []byte) error {
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.path)
}

func newFileStore(dir string) fileStore {
	return fileStore{path: filepath.Join(dir, "blocklist.json")}
}
