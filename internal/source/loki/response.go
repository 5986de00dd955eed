package loki

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/threat-intel/threat-intel/internal/source/promql"
)

// Result types of the query API. Metric queries return vectors (instant
// queries) or matrices (range queries), and log queries return streams.
const (
	TypeVector  = "vector"
	TypeMatrix  = "matrix"
	TypeScalar  = "scalar"
	TypeStreams = "streams"
)

// Response is a decoded body of a successful query request. Only the field
// of Type is set. Sample values may be NaN or ±Inf, which Loki writes as
// "NaN", "+Inf", "-Inf", "+Infinity" or "-Infinity" in any case.
type Response struct {
	Type    string
	Vector  []promql.Sample
	Matrix  []promql.Series
	Scalar  promql.Point
	Streams []Stream
}

// Stream is one log stream of a streams result.
type Stream struct {
	Labels  map[string]string
	Entries []Entry
}

// Entry is one log line.
type Entry struct {
	Time time.Time
	Line string
	// Metadata is the optional third element of an entry: structured
	// metadata and parsed labels, as a JSON object. Nil when absent.
	Metadata json.RawMessage
}

// APIError is a JSON body with status "error". Loki's query API has the
// Prometheus error shape.
type APIError = promql.APIError

type wireResponse struct {
	Status    string    `json:"status"`
	Data      *wireData `json:"data"`
	ErrorType string    `json:"errorType"`
	Error     string    `json:"error"`
	// Message is the error text of some Loki versions.
	Message string `json:"message"`
}

type wireData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

type wireSample struct {
	Metric map[string]string `json:"metric"`
	Value  *promql.Point     `json:"value"`
}

type wireSeries struct {
	Metric map[string]string `json:"metric"`
	Values []promql.Point    `json:"values"`
}

type wireStream struct {
	Stream map[string]string `json:"stream"`
	Values []Entry           `json:"values"`
}

// DecodeResponse decodes a query response body. A body with status "error"
// returns an *APIError.
func DecodeResponse(body []byte) (*Response, error) {
	var w wireResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("decoding response: %w", err)
	}
	switch w.Status {
	case "success":
	case "error":
		msg := w.Error
		if msg == "" {
			msg = w.Message
		}
		if msg == "" {
			msg = "the server reported an error without a message"
		}
		return nil, &APIError{Type: w.ErrorType, Message: msg}
	default:
		return nil, fmt.Errorf("decoding response: unknown status %q, want success or error", w.Status)
	}
	if w.Data == nil {
		return nil, errors.New("decoding response: status success without data")
	}

	resp := &Response{Type: w.Data.ResultType}
	raw := w.Data.Result
	switch resp.Type {
	case TypeVector:
		var samples []wireSample
		if err := unmarshalResult(raw, &samples); err != nil {
			return nil, err
		}
		resp.Vector = make([]promql.Sample, 0, len(samples))
		for i, s := range samples {
			if s.Value == nil {
				return nil, fmt.Errorf("decoding vector result: sample %d has no value", i)
			}
			resp.Vector = append(resp.Vector, promql.Sample{Metric: nonNil(s.Metric), Point: *s.Value})
		}
	case TypeMatrix:
		var series []wireSeries
		if err := unmarshalResult(raw, &series); err != nil {
			return nil, err
		}
		resp.Matrix = make([]promql.Series, 0, len(series))
		for _, s := range series {
			resp.Matrix = append(resp.Matrix, promql.Series{Metric: nonNil(s.Metric), Points: s.Values})
		}
	case TypeScalar:
		if err := unmarshalResult(raw, &resp.Scalar); err != nil {
			return nil, err
		}
	case TypeStreams:
		var streams []wireStream
		if err := unmarshalResult(raw, &streams); err != nil {
			return nil, err
		}
		resp.Streams = make([]Stream, 0, len(streams))
		for _, s := range streams {
			resp.Streams = append(resp.Streams, Stream{Labels: nonNil(s.Stream), Entries: s.Values})
		}
	default:
		return nil, fmt.Errorf("decoding response: unknown result type %q, want vector, matrix, scalar or streams", resp.Type)
	}
	return resp, nil
}

func unmarshalResult(raw json.RawMessage, v any) error {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decoding result: %w", err)
	}
	return nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// UnmarshalJSON decodes ["<nanoseconds>", "line"] or
// ["<nanoseconds>", "line", {metadata}]. The time is a string of
// nanoseconds since the Unix epoch.
func (e *Entry) UnmarshalJSON(data []byte) error {
	var parts []json.RawMessage
	if err := json.Unmarshal(data, &parts); err != nil {
		return fmt.Errorf("decoding log entry: %w", err)
	}
	if len(parts) != 2 && len(parts) != 3 {
		return fmt.Errorf("decoding log entry: want [time, line] or [time, line, metadata], got %d elements", len(parts))
	}

	var stamp string
	if err := json.Unmarshal(parts[0], &stamp); err != nil {
		return fmt.Errorf("decoding log entry time %s: want a string of nanoseconds", parts[0])
	}
	ns, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return fmt.Errorf("decoding log entry time %q: want nanoseconds since the Unix epoch", stamp)
	}
	var line string
	if err := json.Unmarshal(parts[1], &line); err != nil {
		return fmt.Errorf("decoding log entry line: %w", err)
	}

	*e = Entry{Time: time.Unix(0, ns).UTC(), Line: line}
	if len(parts) == 3 {
		var metadata map[string]json.RawMessage
		if err := json.Unmarshal(parts[2], &metadata); err != nil {
			return fmt.Errorf("decoding log entry metadata %s: want a JSON object", parts[2])
		}
		e.Metadata = append(json.RawMessage(nil), parts[2]...)
	}
	return nil
}
