package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/threat-intel/threat-intel/internal/filterlog"
	"github.com/threat-intel/threat-intel/internal/source/filelog"
)

// maxFollowedFiles caps the files open at once, so that a pattern such as
// /var/log/* cannot exhaust the file descriptors. Files beyond it are not
// read, and their input reports the problem.
const maxFollowedFiles = 256

// readChunk is the size of one read from a followed file.
const readChunk = 64 << 10

// compression is a compressed format that rotation tools write.
type compression struct {
	name   string
	suffix string
	magic  []byte
}

// compressions lists the formats that FreeBSD's newsyslog and logrotate
// can write. Only gzip is read. The others are recognised so that their
// bytes are never read as log lines.
var compressions = []compression{
	{"gzip", ".gz", []byte{0x1f, 0x8b}},
	{"bzip2", ".bz2", []byte("BZh")},
	{"xz", ".xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0}},
	{"zstd", ".zst", []byte{0x28, 0xb5, 0x2f, 0xfd}},
}

// follower polls the file inputs. It runs on one goroutine, which owns all
// its fields.
type follower struct {
	s   *Source
	lp  *lineParser
	buf []byte

	files []*tailFile     // plain files open for reading
	done  []*doneFile     // compressed files read at start-up or passed over
	warns map[string]bool // compressed files already reported as unreadable
}

// tailFile is a plain file being followed. It is known by its identity
// (device and inode), not its path, so a file renamed by rotation is still
// the same file.
type tailFile struct {
	path   string // the path it was last seen under
	in     *input
	f      *os.File
	info   fs.FileInfo // from the open descriptor
	offset int64
	lines  lineSplitter

	matched bool // a pattern matched it in the current poll
	grew    bool // it grew in the current poll
	// retiredAt is when it last stopped matching or last grew since then.
	// It is zero while a pattern matches it.
	retiredAt time.Time
}

// doneFile is a compressed file that is not read again.
type doneFile struct {
	info    fs.FileInfo
	matched bool
}

// match is a file a pattern matches.
type match struct {
	path string
	info fs.FileInfo
	in   *input
}

func newFollower(s *Source) *follower {
	return &follower{
		s:     s,
		lp:    s.newLineParser(),
		buf:   make([]byte, readChunk),
		warns: make(map[string]bool),
	}
}

// run reads the files' content, calls ready, and then polls until ctx ends.
func (f *follower) run(ctx context.Context, ready func()) {
	defer f.closeAll()
	defer ready()

	f.poll(ctx, true)
	ready()

	ticker := time.NewTicker(f.s.opts.PollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			f.poll(ctx, false)
		}
	}
}

func (f *follower) closeAll() {
	for _, t := range f.files {
		t.f.Close()
	}
	f.files = nil
}

// poll does one round: it finds the files the patterns match, reads the
// growth of the open files, retires the files no pattern matches any more,
// and opens the new ones. At start-up, compressed files are read too.
func (f *follower) poll(ctx context.Context, startup bool) {
	matches, missing := f.expand()
	problems := make(map[*input]string)

	for _, t := range f.files {
		t.matched = false
	}
	for _, d := range f.done {
		d.matched = false
	}
	var fresh []match
	for _, m := range matches {
		if t := f.tracked(m.info); t != nil {
			if !t.matched {
				t.matched, t.path, t.in = true, m.path, m.in
			}
			continue
		}
		if d := f.finished(m.info); d != nil {
			d.matched = true
			continue
		}
		fresh = append(fresh, m)
	}

	// The open files are read before the new ones are opened, so a rotated
	// file is read to its end before its successor is read from the start.
	for _, t := range f.files {
		if err := f.readFile(ctx, t); err != nil {
			problems[t.in] = err.Error()
		}
	}
	f.retire(time.Now())
	f.done = keepMatched(f.done)

	for _, m := range fresh {
		if ctx.Err() != nil {
			return
		}
		if err := f.open(ctx, m, startup); err != nil {
			problems[m.in] = err.Error()
		}
	}
	f.report(problems, missing)
}

// expand returns the files the patterns match, in the order of the
// patterns, and for the patterns that match none, why.
func (f *follower) expand() (matches []match, missing map[*input]string) {
	missing = make(map[*input]string)
	for _, in := range f.s.files {
		pattern := in.name
		if !hasGlobMeta(pattern) {
			info, err := os.Stat(pattern)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				missing[in] = "file not found; waiting for it to appear"
			case err != nil:
				missing[in] = err.Error()
			case info.IsDir():
				missing[in] = "is a directory; pass log files or a glob pattern"
			case !info.Mode().IsRegular():
				missing[in] = "is not a regular file; pass log files or a glob pattern"
			default:
				matches = append(matches, match{path: pattern, info: info, in: in})
			}
			continue
		}

		// New rejected malformed patterns, so Glob returns no error here.
		paths, _ := filepath.Glob(pattern)
		found := false
		for _, path := range paths {
			// A file may vanish between Glob and Stat, and a pattern such
			// as /var/log/* matches directories and sockets too.
			info, err := os.Stat(path)
			if err != nil || !info.Mode().IsRegular() {
				continue
			}
			matches = append(matches, match{path: path, info: info, in: in})
			found = true
		}
		if !found {
			missing[in] = "no file matches the pattern; waiting for one to appear"
		}
	}
	return matches, missing
}

func (f *follower) tracked(info fs.FileInfo) *tailFile {
	for _, t := range f.files {
		if os.SameFile(t.info, info) {
			return t
		}
	}
	return nil
}

func (f *follower) finished(info fs.FileInfo) *doneFile {
	for _, d := range f.done {
		if os.SameFile(d.info, info) {
			return d
		}
	}
	return nil
}

func keepMatched(done []*doneFile) []*doneFile {
	matched := done[:0]
	for _, d := range done {
		if d.matched {
			matched = append(matched, d)
		}
	}
	clear(done[len(matched):])
	return matched
}

// readFile reads what was appended to t since the last poll. A file that is
// now shorter than what was read was truncated, so it is read again from
// the start.
func (f *follower) readFile(ctx context.Context, t *tailFile) error {
	t.grew = false
	info, err := t.f.Stat()
	if err != nil {
		return fmt.Errorf("checking %q: %w", t.path, err)
	}
	// NOTE: a copytruncate that the writer refills past the old offset
	// before the next poll goes unnoticed: the lines written before that
	// offset are lost and reading resumes in the middle of the new content.
	// Renaming rotation has no such gap.
	if info.Size() < t.offset {
		f.s.log.Info("log file truncated; reading it again from the start", "path", t.path, "size", info.Size(), "offset", t.offset)
		t.offset = 0
		t.lines.reset()
	}

	emit := f.emitter(t.in)
	for ctx.Err() == nil {
		n, err := t.f.ReadAt(f.buf, t.offset)
		if n > 0 {
			t.offset += int64(n)
			t.grew = true
			t.lines.write(f.buf[:n], emit)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %q: %w", t.path, err)
		}
	}
	return nil
}

// emitter returns the callback that handles the lines of a file of in.
func (f *follower) emitter(in *input) func([]byte, bool) {
	return func(line []byte, tooLong bool) {
		if tooLong {
			f.s.record(in, nil, errTooLong)
			return
		}
		f.s.handle(f.lp, in, line)
	}
}

// retire closes the files that no pattern has matched, and that have not
// grown, for the rotate wait. Until then they are read like the others,
// because a writer keeps writing to its old file until it reopens its log.
func (f *follower) retire(now time.Time) {
	remaining := f.files[:0]
	for _, t := range f.files {
		switch {
		case t.matched:
			t.retiredAt = time.Time{}
		case t.retiredAt.IsZero() || t.grew:
			t.retiredAt = now
		}
		if t.matched || now.Sub(t.retiredAt) < f.s.opts.RotateWait {
			remaining = append(remaining, t)
			continue
		}

		// The writer has moved on, so an unfinished last line is complete.
		t.lines.flush(f.emitter(t.in))
		t.f.Close()
		f.s.log.Info("stopped following a rotated or deleted log file", "path", t.path, "bytes_read", t.offset)
	}
	clear(f.files[len(remaining):])
	f.files = remaining
}

// open starts on a file that a pattern matches for the first time. A plain
// file is read from the start and followed. A gzip file is read whole at
// start-up and passed over later, because its lines were read before it was
// compressed.
func (f *follower) open(ctx context.Context, m match, startup bool) error {
	if len(f.files) >= maxFollowedFiles {
		return fmt.Errorf("more than %d files match; %q and others are not read, narrow the pattern", maxFollowedFiles, m.path)
	}
	// O_NONBLOCK keeps the open from waiting for a writer when the path
	// was replaced by a named pipe since the glob. It does not change how
	// a regular file is read.
	file, err := os.OpenFile(m.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// The file was rotated away between the glob and the open, so
			// the next poll opens what replaced it.
			return nil
		}
		return fmt.Errorf("opening %q: %w", m.path, err)
	}
	info, err := file.Stat()
	if err != nil {
		file.Close()
		return fmt.Errorf("checking %q: %w", m.path, err)
	}
	// The path may name another file than the one Glob saw.
	if !info.Mode().IsRegular() || f.tracked(info) != nil || f.finished(info) != nil {
		file.Close()
		return nil
	}

	kind, known := detectCompression(file, m.path)
	switch {
	case !known:
		// An empty file with a compression suffix is still being written
		// by the compressor; the next poll looks again.
		file.Close()
		return nil
	case kind != "":
		defer file.Close()
		f.done = append(f.done, &doneFile{info: info, matched: true})
		return f.readCompressed(ctx, file, m, kind, startup)
	}

	t := &tailFile{
		path:    m.path,
		in:      m.in,
		f:       file,
		info:    info,
		lines:   lineSplitter{maxLen: filterlog.MaxLineLength},
		matched: true,
	}
	f.files = append(f.files, t)
	f.s.log.Info("following log file", "path", m.path, "size", info.Size())
	return f.readFile(ctx, t)
}

// readCompressed reads a gzip file once, at start-up. Later it is a rotated
// copy of lines already read, and other formats are not supported.
func (f *follower) readCompressed(ctx context.Context, file *os.File, m match, kind string, startup bool) error {
	switch {
	case kind != "gzip":
		if !f.warns[m.path] {
			f.warns[m.path] = true
			f.s.log.Warn("compressed log file not read: only gzip is supported", "path", m.path, "compression", kind)
		}
		return nil
	case !startup:
		f.s.log.Debug("compressed log file appeared after start-up; its lines were read before rotation", "path", m.path)
		return nil
	}

	f.s.log.Info("reading compressed log file", "path", m.path)
	err := filelog.Each(ctx, file, f.lp.parser, func(line filelog.Line) error {
		f.s.record(m.in, line.Event, line.Err)
		return nil
	})
	if err != nil && ctx.Err() == nil {
		// A damaged archive is logged, not reported as the input's state:
		// it will never change, and the other files are fine.
		f.s.log.Warn("reading a compressed log file failed; its lines up to the damage were counted", "path", m.path, "err", err)
	}
	return nil
}

// detectCompression returns the compression of file by its first bytes,
// or else by its name, and "" for a plain file. known is false for an empty
// file named as compressed, whose content is not written yet.
func detectCompression(file *os.File, path string) (kind string, known bool) {
	head := make([]byte, 8)
	n, _ := file.ReadAt(head, 0)
	for _, c := range compressions {
		if bytes.HasPrefix(head[:n], c.magic) {
			return c.name, true
		}
	}
	// A rotated file keeps its compression suffix even when it holds
	// plain text, and it does not grow, so it is never followed.
	for _, c := range compressions {
		if strings.HasSuffix(path, c.suffix) {
			return c.name, n > 0
		}
	}
	return "", true
}

// report updates the status of every file input and logs its problems when
// they change.
func (f *follower) report(problems, missing map[*input]string) {
	counts := make(map[*input]int)
	for _, t := range f.files {
		counts[t.in]++
	}
	for _, in := range f.s.files {
		problem := problems[in]
		// A missing path is no problem while the file it named is still
		// read, which is the normal state between a rotation and the
		// creation of the new file.
		if problem == "" && counts[in] == 0 {
			problem = missing[in]
		}
		previous := in.setFiles(counts[in], problem)
		switch {
		case problem == previous:
		case problem != "":
			f.s.log.Warn("log file input has a problem", "path", in.name, "err", problem)
		default:
			f.s.log.Info("log file input recovered", "path", in.name, "files", counts[in])
		}
	}
}

// hasGlobMeta reports whether path is a glob pattern, with the same rule as
// the file reader of the report command.
func hasGlobMeta(path string) bool {
	return strings.ContainsAny(path, "*?[")
}
