// Command genlog writes a synthetic pfSense filterlog file for timing the
// log reader, for example:
//
//	go run ./tools/genlog -lines 10000000 -o /tmp/filter.log
//	/usr/bin/time -v threat-intel report --filterlog /tmp/filter.log
//
// Every public address is a documentation address, and the same seed writes
// the same file.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/threat-intel/threat-intel/internal/source/filelog/filelogtest"
)

func main() {
	lines := flag.Int("lines", 1_000_000, "number of lines to write")
	output := flag.String("o", "-", "output file, or - for standard output")
	seed := flag.Uint64("seed", 1, "random seed; the same seed writes the same file")
	end := flag.String("end", "2025-03-14T12:00:00Z", "timestamp of the last line, RFC 3339")
	span := flag.Duration("span", time.Hour, "time the lines cover, ending at -end")
	flag.Parse()

	if err := run(*lines, *output, *seed, *end, *span); err != nil {
		fmt.Fprintln(os.Stderr, "genlog:", err)
		os.Exit(1)
	}
}

func run(lines int, output string, seed uint64, end string, span time.Duration) error {
	endTime, err := time.Parse(time.RFC3339, end)
	if err != nil {
		return fmt.Errorf("invalid -end %q: want RFC 3339, such as 2025-03-14T12:00:00Z", end)
	}

	var w io.Writer = os.Stdout
	if output != "-" {
		f, err := os.Create(output)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}

	opts := filelogtest.Options{Lines: lines, Seed: seed, End: endTime, Span: span}
	if err := filelogtest.Generate(w, opts); err != nil {
		return fmt.Errorf("writing %q: %w", output, err)
	}
	if f, ok := w.(*os.File); ok && f != os.Stdout {
		if err := f.Close(); err != nil {
			return fmt.Errorf("closing %q: %w", output, err)
		}
	}
	return nil
}
