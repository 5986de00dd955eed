package live

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/filterlog"
	"github.com/threat-intel/threat-intel/internal/source"
)

func fileOptions(t *testing.T, paths ...string) Options {
	t.Helper()
	opts := testOptions(t)
	opts.Paths = paths
	return opts
}

func gzipString(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// observePartial observes the last hour and accepts an *InputError whose
// Partial method reports that another input works.
func observePartial(t *testing.T, s *Source) source.Observation {
	t.Helper()
	obs, err := s.Observe(t.Context(), time.Time{}, time.Hour)
	var inputErr *InputError
	if err != nil && !(errors.As(err, &inputErr) && inputErr.Partial()) {
		t.Fatalf("Observe: %v", err)
	}
	return obs
}

func TestFollowStartupReadsLookbackOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "filter.log")
	writeFile(t, path, joinLines(
		blockLine(base.Add(-3*time.Hour), "192.0.2.1"),
		blockLine(base.Add(-61*time.Minute), "192.0.2.1"),
		blockLine(base.Add(-30*time.Minute), "192.0.2.2"),
		blockLine(base.Add(-10*time.Minute), "192.0.2.2"),
	))
	s := start(t, fileOptions(t, path))

	// Ready means the start-up read is done: no waiting needed.
	obs := observe(t, s, time.Time{})
	checkBlocked(t, obs, map[string]uint64{"192.0.2.2": 2})
	if got := obs.Lines[OutcomeParsed]; got != 4 {
		t.Errorf("parsed lines = %d, want 4", got)
	}
	if got := s.Events().TooOld; got != 2 {
		t.Errorf("events too old = %d, want 2", got)
	}
}

func TestFollowAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "filter.log")
	writeFile(t, path, blockLines(2, "192.0.2.3"))
	s := start(t, fileOptions(t, path))
	checkBlocked(t, observe(t, s, time.Time{}), map[string]uint64{"192.0.2.3": 2})

	appendFile(t, path, blockLines(3, "192.0.2.4"))
	waitLines(t, s, 5)
	checkBlocked(t, observe(t, s, time.Time{}), map[string]uint64{"192.0.2.3": 2, "192.0.2.4": 3})

	st := inputStatus(t, s, path)
	if !st.Active || st.Files != 1 || st.Lines != 5 || st.Err != "" {
		t.Errorf("input status = %+v, want active, 1 file, 5 lines, no error", st)
	}
	settle(t, s, 5)
}

func TestFollowPartialLineHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "filter.log")
	line := blockLine(base.Add(-time.Minute), "192.0.2.55")
	cut := strings.Index(line, "192.0.2.5") + len("192.0.2.5")
	writeFile(t, path, line[:cut])
	s := start(t, fileOptions(t, path))

	settle(t, s, 0)
	appendFile(t, path, line[cut:]+"\n")
	waitLines(t, s, 1)
	// Reading the first part as a line would have counted 192.0.2.5.
	checkBlocked(t, observe(t, s, time.Time{}), map[string]uint64{"192.0.2.55": 1})
}

func TestFollowRotateRename(t *testing.T) {
	tests := []struct {
		name    string
		pattern string // relative to the directory
	}{
		{"path", "filter.log"},
		{"glob matching the rotated name", "filter.log*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "filter.log")
			writeFile(t, path, blockLines(2, "192.0.2.5"))
			s := start(t, fileOptions(t, filepath.Join(dir, tt.pattern)))
			waitLines(t, s, 2)

			// The writer still appends to the renamed file before it
			// reopens its log, then writes to the new file.
			rotated := path + ".1"
			if err := os.Rename(path, rotated); err != nil {
				t.Fatal(err)
			}
			appendFile(t, rotated, blockLines(1, "192.0.2.6"))
			time.Sleep(3 * s.opts.PollInterval)
			writeFile(t, path, blockLines(3, "192.0.2.7"))

			waitLines(t, s, 6)
			settle(t, s, 6)
			checkBlocked(t, observe(t, s, time.Time{}), map[string]uint64{"192.0.2.5": 2, "192.0.2.6": 1, "192.0.2.7": 3})

			wantFiles := 2 // the glob still matches the rotated file
			if tt.pattern == "filter.log" {
				wantFiles = 1 // the rotated file is closed after the rotate wait
			}
			waitFor(t, "the rotated file to be closed", func() bool {
				return inputStatus(t, s, filepath.Join(dir, tt.pattern)).Files == wantFiles
			})
		})
	}
}

func TestFollowRotatedTailWithoutNewline(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "filter.log")
	last := blockLine(base.Add(-time.Minute), "192.0.2.8")
	writeFile(t, path, blockLines(1, "192.0.2.9")+last)
	s := start(t, fileOptions(t, path))
	waitLines(t, s, 1)

	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "")

	// The old file's unfinished last line is complete once it is retired.
	waitLines(t, s, 2)
	checkBlocked(t, observe(t, s, time.Time{}), map[string]uint64{"192.0.2.9": 1, "192.0.2.8": 1})
}

func TestFollowCopyTruncate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "filter.log")
	writeFile(t, path, blockLines(5, "192.0.2.10"))
	s := start(t, fileOptions(t, path))
	waitLines(t, s, 5)

	// copytruncate: the content is copied elsewhere and the file emptied
	// in place, then the writer goes on at the start.
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * s.opts.PollInterval)
	appendFile(t, path, blockLines(2, "192.0.2.11"))

	waitLines(t, s, 7)
	settle(t, s, 7)
	checkBlocked(t, observe(t, s, time.Time{}), map[string]uint64{"192.0.2.10": 5, "192.0.2.11": 2})
}

func TestFollowFileCreatedLater(t *testing.T) {
	dir := t.TempDir()
	pattern := filepath.Join(dir, "*.log")
	opts := fileOptions(t, pattern)
	s := start(t, opts)

	st := inputStatus(t, s, pattern)
	if st.Active || !strings.Contains(st.Err, "no file matches") {
		t.Errorf("status before the file exists = %+v, want inactive with \"no file matches\"", st)
	}
	_, err := s.Observe(t.Context(), time.Time{}, time.Hour)
	var inputErr *InputError
	if !errors.As(err, &inputErr) || inputErr.Partial() {
		t.Errorf("Observe error = %v, want a non-partial *InputError", err)
	}

	writeFile(t, filepath.Join(dir, "filter.log"), blockLines(2, "192.0.2.12"))
	waitFor(t, "the input problem to clear", func() bool {
		st := inputStatus(t, s, pattern)
		return st.Active && st.Err == ""
	})
	waitLines(t, s, 2)
	checkBlocked(t, observe(t, s, time.Time{}), map[string]uint64{"192.0.2.12": 2})
}

func TestFollowDeletedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "filter.log")
	writeFile(t, path, blockLines(2, "192.0.2.13"))
	s := start(t, fileOptions(t, path))

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deleted file to be closed", func() bool {
		st := inputStatus(t, s, path)
		return st.Files == 0 && strings.Contains(st.Err, "file not found")
	})
	// The lines read before the file went still count, but with no input
	// working the Observation comes with a failure.
	obs, err := s.Observe(t.Context(), time.Time{}, time.Hour)
	var inputErr *InputError
	if !errors.As(err, &inputErr) || inputErr.Partial() {
		t.Errorf("Observe error = %v, want a non-partial *InputError", err)
	}
	checkBlocked(t, obs, map[string]uint64{"192.0.2.13": 2})
}

func TestFollowGzipReadOnceAtStartup(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "filter.log"), blockLines(2, "192.0.2.14"))
	writeFile(t, filepath.Join(dir, "filter.log.0.gz"), string(gzipString(t, blockLines(3, "192.0.2.15"))))
	s := start(t, fileOptions(t, filepath.Join(dir, "filter.log*")))

	checkBlocked(t, observe(t, s, time.Time{}), map[string]uint64{"192.0.2.14": 2, "192.0.2.15": 3})

	// A compressed file that appears later holds rotated lines already
	// read, so it is not read again.
	writeFile(t, filepath.Join(dir, "filter.log.1.gz"), string(gzipString(t, blockLines(4, "192.0.2.16"))))
	settle(t, s, 5)
	if st := inputStatus(t, s, filepath.Join(dir, "filter.log*")); st.Files != 1 {
		t.Errorf("files followed = %d, want 1 (the plain file)", st.Files)
	}
}

func TestFollowUnsupportedCompressionNotRead(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "filter.log"), blockLines(1, "192.0.2.17"))
	writeFile(t, filepath.Join(dir, "filter.log.0.bz2"), "BZh91AY&SY"+blockLines(1, "192.0.2.18"))
	writeFile(t, filepath.Join(dir, "filter.log.1.xz"), "\xfd7zXZ\x00"+blockLines(1, "192.0.2.19"))
	s := start(t, fileOptions(t, filepath.Join(dir, "filter.log*")))

	settle(t, s, 1)
	checkBlocked(t, observe(t, s, time.Time{}), map[string]uint64{"192.0.2.17": 1})
}

func TestFollowTooLongLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "filter.log")
	long := blockLine(base.Add(-time.Minute), "192.0.2.20") + strings.Repeat(",x", filterlog.MaxLineLength/2)
	writeFile(t, path, long[:40000])
	s := start(t, fileOptions(t, path))

	// The line grows over the maximum in pieces; it is counted once and
	// the rest of it, up to its LF, is dropped.
	appendFile(t, path, long[40000:])
	time.Sleep(3 * s.opts.PollInterval)
	appendFile(t, path, "\n"+blockLines(1, "192.0.2.21"))

	waitLines(t, s, 2)
	settle(t, s, 2)
	if got := s.Lines()[filterlog.ReasonTooLong]; got != 1 {
		t.Errorf("too_long lines = %d, want 1", got)
	}
	checkBlocked(t, observe(t, s, time.Time{}), map[string]uint64{"192.0.2.21": 1})
}

func TestFollowDirectoryPath(t *testing.T) {
	dir := t.TempDir()
	s := start(t, fileOptions(t, dir))
	if st := inputStatus(t, s, dir); !strings.Contains(st.Err, "is a directory") {
		t.Errorf("status error = %q, want it to say the path is a directory", st.Err)
	}
}

func TestFollowSkipsNamedPipe(t *testing.T) {
	dir := t.TempDir()
	pipe := filepath.Join(dir, "pipe.log")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatalf("creating a named pipe: %v", err)
	}
	writeFile(t, filepath.Join(dir, "filter.log"), blockLines(1, "192.0.2.22"))

	// Opening a pipe for reading waits for a writer, so a pipe that were
	// opened would keep the source from ever becoming ready.
	s := start(t, fileOptions(t, filepath.Join(dir, "*.log"), pipe))
	checkBlocked(t, observePartial(t, s), map[string]uint64{"192.0.2.22": 1})
	if st := inputStatus(t, s, pipe); !strings.Contains(st.Err, "is not a regular file") {
		t.Errorf("status error = %q, want it to say the path is not a regular file", st.Err)
	}
}
