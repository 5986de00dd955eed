package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// golden is what a golden file holds for one route: the status, the media
// type and the normalised body. A JSON body is kept as JSON; any other body
// is kept as its list of lines.
type golden struct {
	Status      int             `json:"status"`
	ContentType string          `json:"content_type"`
	Body        json.RawMessage `json:"body"`
}

// goldenName returns the golden file of a request path: the path without
// its leading slash, slashes replaced by underscores, plus ".json".
func goldenName(path string) string {
	return strings.ReplaceAll(strings.TrimPrefix(path, "/"), "/", "_") + ".json"
}

// checkGolden compares the response to path with
// testdata/golden/<goldenName(path)>, after normalise, and rewrites the
// file instead when the test runs with -update.
func checkGolden(t *testing.T, path string, r response) {
	t.Helper()
	mediaType, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	got := golden{Status: r.status, ContentType: mediaType, Body: normalise(t, path, mediaType, r.body)}
	data, err := marshalIndent(got, "")
	if err != nil {
		t.Fatalf("%s: encoding the golden record: %v", path, err)
	}
	data = append(data, '\n')

	file := filepath.Join("testdata", "golden", goldenName(path))
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatalf("rewriting %s: %v", file, err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%s: reading the golden file (run go test -update to create it): %v", path, err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("GET %s differs from %s (rerun with -update if the change is intended):\n%s",
			path, file, lineDiff(string(want), string(data)))
	}
}

// volatileKeys are JSON object keys whose string values change from run to
// run: the clock (report time, last success, window bounds, a provider's
// rate-limit end) and the build's version.
var volatileKeys = map[string]bool{
	"generated_at":  true,
	"last_success":  true,
	"start":         true,
	"end":           true,
	"window_start":  true,
	"window_end":    true,
	"blocked_until": true,
	"version":       true,
}

// Patterns of volatile text inside other strings: timestamps, the ports of
// the replayed providers, and durations.
var (
	timestampPattern = regexp.MustCompile(`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?`)
	loopbackPattern  = regexp.MustCompile(`127\.0\.0\.1:\d+`)
)

// volatileMetric matches the names of metrics whose sample values depend
// on the clock: timestamps and duration histograms.
var volatileMetric = regexp.MustCompile(`timestamp|duration`)

// normalise returns the body with its volatile values replaced by
// placeholders, so it can be compared with a golden file:
//   - JSON: the non-empty string value of every key in volatileKeys
//     becomes "<key>" (null and "" stay as they are), and in every other
//     string a timestamp becomes "<time>" and 127.0.0.1:PORT becomes
//     127.0.0.1:<port>.
//   - /api/openapi.json: only its version and the sorted list of its paths
//     are kept, because the document itself is the API package's to test.
//   - /metrics: only the samples of threat_intel_* metrics are kept, one
//     per line, and the values of timestamp and duration metrics become
//     <value>. Runtime and process metrics change with every scrape.
//   - any other text: its lines, with timestamps replaced as in JSON.
func normalise(t *testing.T, path, mediaType string, body []byte) json.RawMessage {
	t.Helper()
	var out any
	switch {
	case path == "/metrics":
		out = metricSamples(body)
	case path == "/api/openapi.json":
		out = openAPIOutline(t, body)
	case mediaType == "application/json":
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("%s: body is not JSON: %v\n%s", path, err, body)
		}
		out = normaliseJSON("", out)
	default:
		var lines []string
		for _, line := range strings.Split(strings.TrimRight(string(body), "\n"), "\n") {
			lines = append(lines, normaliseText(line))
		}
		out = lines
	}
	data, err := marshalIndent(out, "  ")
	if err != nil {
		t.Fatalf("%s: encoding the normalised body: %v", path, err)
	}
	return data
}

func normaliseJSON(key string, v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, inner := range v {
			v[k] = normaliseJSON(k, inner)
		}
		return v
	case []any:
		for i, inner := range v {
			v[i] = normaliseJSON("", inner)
		}
		return v
	case string:
		if volatileKeys[key] && v != "" {
			return "<" + key + ">"
		}
		return normaliseText(v)
	default:
		return v
	}
}

func normaliseText(s string) string {
	s = timestampPattern.ReplaceAllString(s, "<time>")
	return loopbackPattern.ReplaceAllString(s, "127.0.0.1:<port>")
}

// openAPIOutline returns the OpenAPI version and the sorted paths of an
// OpenAPI document.
func openAPIOutline(t *testing.T, body []byte) any {
	t.Helper()
	var doc struct {
		OpenAPI string                     `json:"openapi"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("/api/openapi.json is not JSON: %v", err)
	}
	paths := slices.Sorted(maps.Keys(doc.Paths))
	return map[string]any{"openapi": doc.OpenAPI, "paths": paths}
}

// metricSamples returns the threat_intel_* sample lines of a text
// exposition, with the values of clock-dependent metrics replaced.
func metricSamples(body []byte) []string {
	var out []string
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "threat_intel_") {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		if volatileMetric.MatchString(name) {
			line = line[:strings.LastIndexByte(line, ' ')] + " <value>"
		}
		out = append(out, line)
	}
	return out
}

// lineDiff returns a line diff of want and got: lines only in want start
// with "-", lines only in got with "+". It shows at most maxDiffLines
// lines, for a readable failure message.
func lineDiff(want, got string) string {
	const maxDiffLines = 40
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")

	// common[i][j] is the length of the longest common subsequence of
	// w[i:] and g[j:].
	common := make([][]int, len(w)+1)
	for i := range common {
		common[i] = make([]int, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				common[i][j] = common[i+1][j+1] + 1
			} else {
				common[i][j] = max(common[i+1][j], common[i][j+1])
			}
		}
	}

	var b strings.Builder
	emitted := 0
	emit := func(sign string, line string, number int) {
		if emitted < maxDiffLines {
			fmt.Fprintf(&b, "%s %4d %s\n", sign, number, line)
		} else if emitted == maxDiffLines {
			b.WriteString("...\n")
		}
		emitted++
	}
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			i, j = i+1, j+1
		case i < len(w) && (j == len(g) || common[i+1][j] >= common[i][j+1]):
			emit("-", w[i], i+1)
			i++
		default:
			emit("+", g[j], j+1)
			j++
		}
	}
	return b.String()
}

// marshalIndent encodes v as indented JSON without escaping <, > and &, so
// placeholders and text stay readable in golden files.
func marshalIndent(v any, prefix string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
