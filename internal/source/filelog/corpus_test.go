package filelog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/corpustest"
)

// TestCorpusEveryLineCounted reads the real filterlog files of other
// projects and checks that every line is counted once, as parsed or under a
// skip reason, and that the files together yield blocked sources.
func TestCorpusEveryLineCounted(t *testing.T) {
	pattern := filepath.Join(corpustest.Dir(t), "filterlog", "*.log")
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no corpus files match %s; set THREAT_INTEL_CORPUS to the corpus directory", pattern)
	}

	total := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		want := bytes.Count(data, []byte{'\n'})
		if len(data) > 0 && data[len(data)-1] != '\n' {
			want++
		}
		total += want

		obs, err := observe(t, Options{Paths: []string{file}}, time.Time{})
		if err != nil {
			t.Errorf("%s: Observe: %v", filepath.Base(file), err)
			continue
		}
		var got uint64
		for _, n := range obs.Lines {
			got += n
		}
		if got != uint64(want) {
			t.Errorf("%s: %d lines counted %v, want %d", filepath.Base(file), got, obs.Lines, want)
		}
	}

	// All files at once, with a window long enough for their years apart.
	s := newSource(t, Options{Paths: []string{pattern}})
	obs, err := s.Observe(t.Context(), time.Time{}, 10*365*24*time.Hour)
	if err != nil {
		t.Fatalf("Observe of the whole corpus: %v", err)
	}
	var got uint64
	for _, n := range obs.Lines {
		got += n
	}
	if got != uint64(total) {
		t.Errorf("whole corpus: %d lines counted, want %d", got, total)
	}
	if len(obs.Blocked) == 0 || len(obs.Interfaces) == 0 {
		t.Errorf("whole corpus: Blocked = %v, Interfaces = %v, want both non-empty", obs.Blocked, obs.Interfaces)
	}
	t.Logf("corpus: %d files, lines %v, %d blocked sources, %d outbound, interfaces %v", len(files), obs.Lines, obs.DistinctBlocked, len(obs.Outbound), obs.Interfaces)
}
