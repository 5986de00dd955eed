// Package filelog is the event source over firewall log files: it reads
// pfSense and OPNsense filterlog files, plain or gzip-compressed, parses
// every line and aggregates the events of a lookback window.
package filelog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/threat-intel/threat-intel/internal/filterlog"
	"github.com/threat-intel/threat-intel/internal/source"
	"github.com/threat-intel/threat-intel/internal/window"
)

// Options configures a Source.
type Options struct {
	// Paths are log files, glob patterns, or "-" for standard input.
	Paths []string
	// Parser sets the zone and the clock for timestamps without a year or
	// zone.
	Parser filterlog.Options
	// Window sets the classifier, the WAN interfaces, the top-N sizes and
	// the memory bound. Observe sets MaxLookback to its lookback and, when
	// until is given, Anchor to until.
	Window window.Config
	// Stdin is read for the path "-". Nil means os.Stdin.
	Stdin io.Reader
	// MaxLineLength is the longest line read, in bytes. Longer lines are
	// skipped and counted with reason too_long. Default:
	// filterlog.MaxLineLength.
	MaxLineLength int
}

// Source reads log files into an Observation. Each call to Observe or Each
// reads the files again, so a Source can be reused after they change.
type Source struct {
	opts Options
}

var _ source.Source = (*Source)(nil)

// New returns a Source, or an error when no path is given or the window
// settings are invalid.
func New(opts Options) (*Source, error) {
	if len(opts.Paths) == 0 {
		return nil, errors.New("no log file given: pass one or more files, glob patterns, or - for standard input")
	}
	if opts.MaxLineLength < 0 {
		return nil, fmt.Errorf("invalid maximum line length %d: must be positive, or 0 for the default", opts.MaxLineLength)
	}
	if opts.MaxLineLength == 0 {
		opts.MaxLineLength = filterlog.MaxLineLength
	}
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}

	// Check the window settings now rather than at the first Observe.
	probe := opts.Window
	probe.MaxLookback = time.Hour
	probe.BucketWidth = 0
	if _, err := window.New(probe); err != nil {
		return nil, fmt.Errorf("invalid window settings: %w", err)
	}
	return &Source{opts: opts}, nil
}

// Observe reads every input and returns the Observation of the window
// (until-lookback, until]. A zero until means the time of the newest event
// read. Observation.Lines counts the lines of all inputs by outcome.
//
// When until is given, events outside the window are not counted, and the
// window's edges are exact. When it is zero, the window's start is rounded
// to a bucket boundary (see window.Window.Snapshot).
//
// NOTE: with a zero until, one line dated far in the future, such as a
// firewall clock set to the wrong year, becomes the window's end and leaves
// the real events outside. Passing until avoids that.
//
// An input that cannot be read, or not to the end, does not stop the others.
// The error is then a *ReadError that lists the failures and counts the
// inputs read, and the Observation holds everything that was read. Any other
// error, such as ctx being cancelled, comes with an empty Observation.
func (s *Source) Observe(ctx context.Context, until time.Time, lookback time.Duration) (source.Observation, error) {
	if lookback <= 0 {
		return source.Observation{}, fmt.Errorf("invalid lookback %v: must be positive", lookback)
	}
	cfg := s.opts.Window
	cfg.MaxLookback = lookback
	if !until.IsZero() {
		cfg.Anchor = until
	}
	w, err := window.New(cfg)
	if err != nil {
		return source.Observation{}, fmt.Errorf("invalid window settings: %w", err)
	}

	start := until.Add(-lookback)
	lines := make(map[string]uint64)
	events := newAdder(w)
	readErr := s.Each(ctx, func(_ string, line Line) error {
		lines[line.Outcome()]++
		if line.Event == nil {
			return nil
		}
		if t := line.Event.Time; !until.IsZero() && !t.IsZero() && (!t.After(start) || t.After(until)) {
			return nil
		}
		events.add(line.Event)
		return nil
	})
	events.close()

	var partial *ReadError
	if readErr != nil && !errors.As(readErr, &partial) {
		return source.Observation{}, readErr
	}

	obs := w.Snapshot(until, lookback)
	obs.Lines = lines
	if partial != nil {
		return obs, partial
	}
	return obs, nil
}

// Each reads every input in order and calls fn for each line with the input's
// path ("-" for standard input). It is the line-by-line view of what Observe
// aggregates, for printing the parser's result for every line.
//
// Inputs that cannot be read are skipped and returned as a *ReadError after
// the others were read. An error from fn or ctx stops Each and is returned
// as it is.
func (s *Source) Each(ctx context.Context, fn func(path string, line Line) error) error {
	files, failures := expand(s.opts.Paths)
	parser := filterlog.NewParser(s.opts.Parser)
	read := 0

	for _, path := range files {
		err := s.eachInFile(ctx, path, parser, fn)
		if err == nil {
			read++
			continue
		}
		var fileErr *FileError
		if !errors.As(err, &fileErr) {
			return err
		}
		failures = append(failures, fileErr)
	}

	if len(failures) > 0 {
		return &ReadError{Failures: failures, Read: read}
	}
	return nil
}

// eachInFile reads one input. A failure to open or read it comes back as a
// *FileError. Errors from fn and ctx come back unchanged.
func (s *Source) eachInFile(ctx context.Context, path string, parser *filterlog.Parser, fn func(string, Line) error) error {
	var r io.Reader
	name := path
	if path == Stdin {
		r = s.opts.Stdin
		name = "standard input"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return &FileError{Path: path, Err: openError(path, err)}
		}
		defer f.Close()
		r = f
	}

	var fnErr error
	err := eachLine(ctx, r, parser, s.opts.MaxLineLength, func(line Line) error {
		fnErr = fn(path, line)
		return fnErr
	})
	switch {
	case err == nil:
		return nil
	case fnErr != nil, ctx.Err() != nil:
		return err
	}
	return &FileError{Path: path, Err: fmt.Errorf("reading %q: %w", name, err)}
}
