package promql

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

func TestDecodeResponseCorpus(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, r *Response)
	}{
		{"prometheus-api-v1-query-vector-docs.json", func(t *testing.T, r *Response) {
			wantType(t, r, TypeVector)
			if len(r.Vector) != 2 {
				t.Fatalf("got %d samples, want 2", len(r.Vector))
			}
			s := r.Vector[1]
			if s.Metric["job"] != "node" || s.Metric["instance"] != "localhost:9100" {
				t.Errorf("second sample labels = %v", s.Metric)
			}
			if s.Value != 0 {
				t.Errorf("second sample value = %v, want 0", s.Value)
			}
			if want := time.UnixMilli(1435781451781).UTC(); !s.Time.Equal(want) {
				t.Errorf("time = %v, want %v", s.Time, want)
			}
		}},
		{"prometheus-api-v1-query_range-matrix-docs.json", func(t *testing.T, r *Response) {
			wantType(t, r, TypeMatrix)
			if len(r.Matrix) != 2 || len(r.Matrix[1].Points) != 3 {
				t.Fatalf("matrix = %+v, want 2 series of 3 points", r.Matrix)
			}
			if last := r.Matrix[1].Points[2]; last.Value != 1 || !last.Time.Equal(time.UnixMilli(1435781460781)) {
				t.Errorf("last point = %+v", last)
			}
		}},
		{"victoriametrics-api-v1-query-vector-docs-keyconcepts.json", func(t *testing.T, r *Response) {
			wantType(t, r, TypeVector)
			if len(r.Vector) != 1 || r.Vector[0].Value != 3 || r.Vector[0].Metric["__name__"] != "foo_bar" {
				t.Errorf("vector = %+v", r.Vector)
			}
		}},
		{"victoriametrics-api-v1-query-vector-vmalert-test.json", func(t *testing.T, r *Response) {
			wantType(t, r, TypeVector)
			if len(r.Vector) != 2 || r.Vector[0].Value != 13763 || r.Vector[1].Value != 2000 {
				t.Errorf("vector = %+v", r.Vector)
			}
		}},
		{"victoriametrics-api-v1-query_range-matrix-vmalert-test.json", func(t *testing.T, r *Response) {
			wantType(t, r, TypeMatrix)
			if len(r.Matrix) != 1 || r.Matrix[0].Points[0].Value != 13763 {
				t.Errorf("matrix = %+v", r.Matrix)
			}
		}},
		{"victoriametrics-api-v1-query-scalar-stats-int-vmalert-test.json", func(t *testing.T, r *Response) {
			wantType(t, r, TypeScalar)
			if r.Scalar.Value != 1 || r.Stats.SeriesFetched != 1 {
				t.Errorf("scalar = %+v, stats = %+v", r.Scalar, r.Stats)
			}
		}},
		{"victoriametrics-api-v1-query-scalar-stats-string-vmalert-test-older.json", func(t *testing.T, r *Response) {
			wantType(t, r, TypeScalar)
			if r.Stats.SeriesFetched != 42 {
				t.Errorf("seriesFetched = %d, want 42 from the string \"42\"", r.Stats.SeriesFetched)
			}
		}},
		{"victoriametrics-api-v1-query-empty-vector-ispartial-issue9872.json", func(t *testing.T, r *Response) {
			wantType(t, r, TypeVector)
			if len(r.Vector) != 0 || r.Partial {
				t.Errorf("vector = %+v, partial = %v", r.Vector, r.Partial)
			}
			if r.Stats.SeriesFetched != 146 || r.Stats.ExecutionTime != 4*time.Millisecond {
				t.Errorf("stats = %+v, want 146 series in 4ms", r.Stats)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r, err := DecodeResponse(backendFile(t, tt.file))
			if err != nil {
				t.Fatalf("DecodeResponse: %v", err)
			}
			tt.check(t, r)
		})
	}
}

func wantType(t *testing.T, r *Response, want string) {
	t.Helper()
	if r.Type != want {
		t.Fatalf("result type = %q, want %q", r.Type, want)
	}
}

func TestDecodeResponseErrorBody(t *testing.T) {
	_, err := DecodeResponse(backendFile(t, "victoriametrics-api-v1-query-error-vmalert-test.json"))
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want an *APIError", err)
	}
	if apiErr.Type != "type:" || apiErr.Message != "some error msg" {
		t.Errorf("APIError = %+v", apiErr)
	}
}

func TestDecodeResponseSpecialValues(t *testing.T) {
	body := `{"status":"success","data":{"resultType":"vector","result":[
		{"metric":{"a":"nan"},"value":[1700000000.5,"NaN"]},
		{"metric":{"a":"inf"},"value":[1700000000,"+Inf"]},
		{"metric":{"a":"ninf"},"value":[1700000000,"-Inf"]},
		{"metric":{"a":"infinity"},"value":[1700000000,"-INFINITY"]}]}}`
	r, err := DecodeResponse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(r.Vector[0].Value) {
		t.Errorf("NaN decoded as %v", r.Vector[0].Value)
	}
	if !math.IsInf(r.Vector[1].Value, 1) || !math.IsInf(r.Vector[2].Value, -1) || !math.IsInf(r.Vector[3].Value, -1) {
		t.Errorf("infinities decoded as %v, %v, %v", r.Vector[1].Value, r.Vector[2].Value, r.Vector[3].Value)
	}
	if want := time.UnixMilli(1700000000500); !r.Vector[0].Time.Equal(want) {
		t.Errorf("fractional time = %v, want %v", r.Vector[0].Time, want)
	}
}

func TestDecodeResponseRejects(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"not json", `<html>bad gateway</html>`, "decoding response"},
		{"unknown status", `{"status":"ok","data":{"resultType":"vector","result":[]}}`, "unknown status"},
		{"no data", `{"status":"success"}`, "without data"},
		{"unknown type", `{"status":"success","data":{"resultType":"table","result":[]}}`, "unknown result type"},
		{"value not a string", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,2]}]}}`, "want a string"},
		{"bad value", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"many"]}]}}`, "invalid sample value"},
		{"short pair", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1]}]}}`, "got 1 elements"},
		{"bad time", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["x","1"]}]}}`, "invalid timestamp"},
		{"huge time", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1e300,"1"]}]}}`, "invalid timestamp"},
		{"no value", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}}`, "has no value"},
		{"bad stats", `{"status":"success","data":{"resultType":"vector","result":[]},"stats":{"seriesFetched":"many"}}`, "decoding stats"},
		{"error without message", `{"status":"error"}`, "without a message"},
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

func TestDecodeResponsePartialFlag(t *testing.T) {
	r, err := DecodeResponse([]byte(`{"status":"success","isPartial":true,"data":{"resultType":"vector","result":[]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Partial {
		t.Error("Partial = false, want true")
	}
}

func FuzzDecodeResponse(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join(corpustest.Dir(f), "backends"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "prometheus-") || strings.HasPrefix(e.Name(), "victoriametrics-") {
			f.Add(backendFile(f, e.Name()))
		}
	}
	f.Add([]byte(`{"status":"success","data":{"resultType":"string","result":[1,"x"]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeResponse(body)
		if err != nil {
			if r != nil {
				t.Fatal("DecodeResponse returned a response with an error")
			}
			return
		}
		switch r.Type {
		case TypeVector, TypeMatrix, TypeScalar, TypeString:
		default:
			t.Fatalf("decoded an unknown result type %q", r.Type)
		}
		for _, s := range r.Vector {
			if s.Metric == nil {
				t.Fatal("a sample has nil labels")
			}
		}
	})
}
