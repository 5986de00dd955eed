// Package corpustest locates the corpus of real third-party inputs that the
// conformance tests read: the directory in $THREAT_INTEL_CORPUS, or else
// ../shared/corpus beside the module root. Only tests import it.
package corpustest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Find returns the corpus directory, or an error when it does not exist.
func Find() (string, error) {
	dir := os.Getenv("THREAT_INTEL_CORPUS")
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", fmt.Errorf("finding the module root: %w", err)
		}
		dir = filepath.Join(root, "..", "shared", "corpus")
	}
	info, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("corpus directory %q is missing (set THREAT_INTEL_CORPUS): %w", dir, err)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("corpus path %q is not a directory (set THREAT_INTEL_CORPUS)", dir)
	}
	return dir, nil
}

// Dir returns the corpus directory. A missing corpus fails the test rather
// than skipping it, because CI always has the corpus.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, err := Find()
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in any parent directory")
		}
		dir = parent
	}
}
