package filelog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Stdin is the path that stands for standard input.
const Stdin = "-"

// ErrNoMatch marks a glob pattern that matches no file.
var ErrNoMatch = errors.New("matches no files")

// ErrIsDirectory marks a path that names a directory.
var ErrIsDirectory = errors.New("is a directory; pass log files or a glob")

// FileError is the failure to read one input.
type FileError struct {
	Path string // the file, the glob pattern, or "-"
	Err  error  // names Path
}

func (e *FileError) Error() string { return e.Err.Error() }

func (e *FileError) Unwrap() error { return e.Err }

// ReadError reports the inputs that could not be read, or not to the end,
// while the others were. A caller that reports what was read and exits
// non-zero only when nothing was, tests Read.
type ReadError struct {
	Failures []*FileError
	// Read is the number of inputs read to the end.
	Read int
}

func (e *ReadError) Error() string {
	msgs := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		msgs[i] = f.Error()
	}
	total := e.Read + len(e.Failures)
	return fmt.Sprintf("%d of %d log inputs failed: %s", len(e.Failures), total, strings.Join(msgs, "; "))
}

// Unwrap returns the per-input errors, so that errors.Is finds, for example,
// fs.ErrNotExist or ErrCorruptGzip.
func (e *ReadError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f
	}
	return errs
}

// expand resolves paths into the files to read, in the order given, with
// glob patterns expanded in lexical order and duplicates removed. Paths that
// name nothing readable come back as failures.
func expand(paths []string) (files []string, failures []*FileError) {
	seen := make(map[string]bool)
	add := func(path string) {
		key := path
		if path != Stdin {
			key = filepath.Clean(path)
		}
		if !seen[key] {
			seen[key] = true
			files = append(files, path)
		}
	}

	for _, path := range paths {
		if path == Stdin {
			add(path)
			continue
		}
		if !hasGlobMeta(path) {
			if err := checkFile(path); err != nil {
				failures = append(failures, &FileError{Path: path, Err: err})
				continue
			}
			add(path)
			continue
		}

		matches, err := filepath.Glob(path)
		if err != nil {
			failures = append(failures, &FileError{Path: path, Err: fmt.Errorf("invalid glob pattern %q: %w", path, err)})
			continue
		}
		found := false
		for _, m := range matches {
			// A pattern such as /var/log/* also matches directories, which
			// are no log files; only an explicit path to one is an error.
			if info, err := os.Stat(m); err == nil && info.IsDir() {
				continue
			}
			add(m)
			found = true
		}
		if !found {
			failures = append(failures, &FileError{Path: path, Err: fmt.Errorf("glob pattern %q %w", path, ErrNoMatch)})
		}
	}
	return files, failures
}

// checkFile returns an error naming path when it does not exist or is a
// directory.
func checkFile(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return openError(path, err)
	}
	if info.IsDir() {
		return fmt.Errorf("%q %w", path, ErrIsDirectory)
	}
	return nil
}

// openError rewrites an *fs.PathError, whose message repeats the operation
// and path, as "opening PATH: REASON", keeping the cause for errors.Is.
func openError(path string, err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		err = pathErr.Err
	}
	return fmt.Errorf("opening %q: %w", path, err)
}

func hasGlobMeta(path string) bool {
	return strings.ContainsAny(path, "*?[")
}
