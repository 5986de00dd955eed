package loki

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/corpustest"
)

// backendFile returns corpus file backends/name.
func backendFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpustest.Dir(t), "backends", name))
	if err != nil {
		t.Fatalf("reading corpus file: %v", err)
	}
	return data
}

func decodeFile(t *testing.T, name string) *Response {
	t.Helper()
	r, err := DecodeResponse(backendFile(t, name))
	if err != nil {
		t.Fatalf("DecodeResponse(%s): %v", name, err)
	}
	return r
}

func TestDecodeVectorDocs(t *testing.T) {
	r := decodeFile(t, "loki-query-vector-docs.json")
	if r.Type != TypeVector || len(r.Vector) != 3 {
		t.Fatalf("got %s with %d samples, want a vector of 3", r.Type, len(r.Vector))
	}
	if len(r.Vector[0].Metric) != 0 || r.Vector[0].Value != 1267.1266666666666 {
		t.Errorf("first sample = %+v", r.Vector[0])
	}
	if r.Vector[1].Metric["level"] != "warn" || r.Vector[1].Value != 37.77166666666667 {
		t.Errorf("second sample = %+v", r.Vector[1])
	}
	if !r.Vector[2].Time.Equal(time.Unix(1588889221, 0)) {
		t.Errorf("time = %v", r.Vector[2].Time)
	}
}

func TestDecodeMatrixDocs(t *testing.T) {
	r := decodeFile(t, "loki-query_range-matrix-docs.json")
	if r.Type != TypeMatrix || len(r.Matrix) != 2 {
		t.Fatalf("got %s with %d series, want a matrix of 2", r.Type, len(r.Matrix))
	}
	// The docs' example repeats one timestamp; every point is kept.
	if got := r.Matrix[1].Points; len(got) != 3 || got[2].Value != 660.6933333333334 {
		t.Errorf("second series = %+v", got)
	}
}

func TestDecodeMatrixNaN(t *testing.T) {
	r := decodeFile(t, "loki-query_range-matrix-nan-grafana-testdata.json")
	points := r.Matrix[0].Points
	if len(points) != 2 || !math.IsNaN(points[0].Value) || !math.IsNaN(points[1].Value) {
		t.Fatalf("points = %+v, want two NaN", points)
	}
	if want := time.UnixMilli(1643014450417); !points[0].Time.Equal(want) {
		t.Errorf("time = %v, want %v", points[0].Time, want)
	}
}

func TestDecodeMatrixInfinitySpellings(t *testing.T) {
	r := decodeFile(t, "loki-query_range-matrix-inf-grafana-testdata.json")
	points := r.Matrix[0].Points
	// +Inf, -Inf, +Infinity, -Infinity, +inf, -infinity, +iNf, -INfInItY
	wantSigns := []int{1, -1, 1, -1, 1, -1, 1, -1}
	if len(points) != len(wantSigns) {
		t.Fatalf("got %d points, want %d", len(points), len(wantSigns))
	}
	for i, sign := range wantSigns {
		if !math.IsInf(points[i].Value, sign) {
			t.Errorf("point %d = %v, want infinity of sign %d", i, points[i].Value, sign)
		}
	}
	if want := time.UnixMilli(1643021611100); !points[0].Time.Equal(want) {
		t.Errorf("fractional time = %v, want %v", points[0].Time, want)
	}
	if r.Matrix[0].Metric["location"] != "moon" {
		t.Errorf("labels = %v", r.Matrix[0].Metric)
	}
}

func TestDecodeStreamsDocs(t *testing.T) {
	r := decodeFile(t, "loki-query_range-streams-docs.json")
	if r.Type != TypeStreams || len(r.Streams) != 1 {
		t.Fatalf("got %s with %d streams", r.Type, len(r.Streams))
	}
	s := r.Streams[0]
	if s.Labels["filename"] != "/var/log/myproject.log" || len(s.Entries) != 2 {
		t.Fatalf("stream = %+v", s)
	}
	if e := s.Entries[1]; e.Line != "bar" || !e.Time.Equal(time.Unix(0, 1569266492548155000)) || e.Metadata != nil {
		t.Errorf("entry = %+v", e)
	}
}

func TestDecodeStreamsQuotedLabels(t *testing.T) {
	r := decodeFile(t, "loki-query_range-streams-grafana-testdata-streams_simple.json")
	if len(r.Streams) != 2 {
		t.Fatalf("got %d streams, want 2", len(r.Streams))
	}
	if got := r.Streams[0].Labels["code"]; got != `one",` {
		t.Errorf("code label = %q, want one\",", got)
	}
	if got := r.Streams[1].Labels["location"]; got != "moon🌙" {
		t.Errorf("location label = %q", got)
	}
	if n := len(r.Streams[1].Entries); n != 5 {
		t.Errorf("second stream has %d entries, want 5 with the duplicate kept", n)
	}
}

func TestDecodeStreamsStructuredMetadata(t *testing.T) {
	r := decodeFile(t, "loki-query_range-streams-structured-metadata-grafana-testdata.json")
	if len(r.Streams) != 2 || len(r.Streams[1].Entries) != 5 {
		t.Fatalf("streams = %+v", r.Streams)
	}
	e := r.Streams[0].Entries[0]
	if e.Line != "log line error 1" || string(e.Metadata) != "{}" {
		t.Errorf("entry = %+v, want the line and an empty metadata object", e)
	}
	if !e.Time.Equal(time.Unix(0, 1645030244810757120)) {
		t.Errorf("time = %v", e.Time)
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"not json", `parse error at line 1`, "decoding response"},
		{"error body", `{"status":"error","errorType":"bad_data","error":"parse error"}`, "parse error (bad_data)"},
		{"error with message", `{"status":"error","message":"too many series"}`, "too many series"},
		{"unknown type", `{"status":"success","data":{"resultType":"table","result":[]}}`, "unknown result type"},
		{"entry of four", `{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[["1","a",{},1]]}]}}`, "got 4 elements"},
		{"entry time number", `{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[[1,"a"]]}]}}`, "want a string of nanoseconds"},
		{"entry time text", `{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[["soon","a"]]}]}}`, "want nanoseconds"},
		{"entry metadata list", `{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[["1","a",[1]]]}]}}`, "want a JSON object"},
		{"sample value", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"lots"]}]}}`, "invalid sample value"},
		{"no data", `{"status":"success"}`, "without data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeResponse([]byte(tt.body))
			if err == nil {
				t.Fatal("DecodeResponse succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestDecodeErrorBodyIsAPIError(t *testing.T) {
	_, err := DecodeResponse([]byte(`{"status":"error","errorType":"bad_data","error":"parse error"}`))
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Message != "parse error" {
		t.Fatalf("error = %v, want an *APIError", err)
	}
}

func FuzzDecodeResponse(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join(corpustest.Dir(f), "backends"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "loki-") {
			f.Add(backendFile(f, e.Name()))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeResponse(body)
		if err != nil {
			return
		}
		switch r.Type {
		case TypeVector, TypeMatrix, TypeScalar, TypeStreams:
		default:
			t.Fatalf("decoded an unknown result type %q", r.Type)
		}
		for _, s := range r.Streams {
			if s.Labels == nil {
				t.Fatal("a stream has nil labels")
			}
		}
	})
}
