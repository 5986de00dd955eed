package promql

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Result types of the query API.
const (
	TypeVector = "vector"
	TypeMatrix = "matrix"
	TypeScalar = "scalar"
	TypeString = "string"
)

// Response is a decoded body of a successful /api/v1/query request.
type Response struct {
	// Type is one of the Type constants. Only the field of that type is set.
	Type   string
	Vector []Sample
	Matrix []Series
	Scalar Point
	// Text and TextTime are a string result's value and time.
	Text     string
	TextTime time.Time

	// Partial is VictoriaMetrics' isPartial, set when some storage nodes
	// did not respond. Client.Query returns ErrPartial for such a response.
	Partial bool
	// Warnings are the warnings Prometheus attaches to a result.
	Warnings []string
	// Stats are VictoriaMetrics' query statistics, zero when absent.
	Stats Stats
}

// Stats are the query statistics VictoriaMetrics adds to a response.
type Stats struct {
	// SeriesFetched is the number of series read. VictoriaMetrics writes
	// it as a string in some versions and as a number in others.
	SeriesFetched int64
	// ExecutionTime is the query's execution time, at millisecond resolution.
	ExecutionTime time.Duration
}

// Sample is one series of a vector result: its labels and one value.
type Sample struct {
	Metric map[string]string
	Point
}

// Series is one series of a matrix result: its labels and its values.
type Series struct {
	Metric map[string]string
	Points []Point
}

// Point is a value at a time. Value may be NaN or ±Inf.
type Point struct {
	Time  time.Time
	Value float64
}

// APIError is a body with status "error": the server rejected or could not
// run the query.
type APIError struct {
	// Type is the errorType: "bad_data", "timeout", "execution", or the HTTP
	// status as a string, which VictoriaMetrics writes ("422").
	Type    string
	Message string
}

func (e *APIError) Error() string {
	if e.Type == "" {
		return e.Message
	}
	return e.Message + " (" + e.Type + ")"
}

// wireResponse is the JSON of a query response of Prometheus or
// VictoriaMetrics.
type wireResponse struct {
	Status    string          `json:"status"`
	Data      *wireData       `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	IsPartial bool            `json:"isPartial"`
	Stats     json.RawMessage `json:"stats"`
}

type wireData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

type wireSample struct {
	Metric map[string]string `json:"metric"`
	Value  *Point            `json:"value"`
}

type wireSeries struct {
	Metric map[string]string `json:"metric"`
	Values []Point           `json:"values"`
}

type wireStats struct {
	SeriesFetched     flexNumber `json:"seriesFetched"`
	ExecutionTimeMsec flexNumber `json:"executionTimeMsec"`
}

// DecodeResponse decodes a query response body. A body with status "error"
// returns an *APIError. It does not treat a partial response as an error;
// Client.Query does.
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
			msg = "the server reported an error without a message"
		}
		return nil, &APIError{Type: w.ErrorType, Message: msg}
	default:
		return nil, fmt.Errorf("decoding response: unknown status %q, want success or error", w.Status)
	}
	if w.Data == nil {
		return nil, errors.New("decoding response: status success without data")
	}

	resp := &Response{Partial: w.IsPartial, Warnings: w.Warnings}
	if err := decodeStats(w.Stats, &resp.Stats); err != nil {
		return nil, err
	}
	if err := decodeResult(w.Data.ResultType, w.Data.Result, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// decodeResult fills the field of resp for the result type.
func decodeResult(resultType string, raw json.RawMessage, resp *Response) error {
	resp.Type = resultType
	switch resultType {
	case TypeVector:
		var samples []wireSample
		if err := unmarshalResult(raw, &samples); err != nil {
			return err
		}
		resp.Vector = make([]Sample, 0, len(samples))
		for i, s := range samples {
			if s.Value == nil {
				return fmt.Errorf("decoding vector result: sample %d has no value", i)
			}
			resp.Vector = append(resp.Vector, Sample{Metric: nonNilLabels(s.Metric), Point: *s.Value})
		}
	case TypeMatrix:
		var series []wireSeries
		if err := unmarshalResult(raw, &series); err != nil {
			return err
		}
		resp.Matrix = make([]Series, 0, len(series))
		for _, s := range series {
			resp.Matrix = append(resp.Matrix, Series{Metric: nonNilLabels(s.Metric), Points: s.Values})
		}
	case TypeScalar:
		if err := unmarshalResult(raw, &resp.Scalar); err != nil {
			return err
		}
	case TypeString:
		var pair []json.RawMessage
		if err := unmarshalResult(raw, &pair); err != nil {
			return err
		}
		if len(pair) != 2 {
			return fmt.Errorf("decoding string result: want [time, \"text\"], got %d elements", len(pair))
		}
		t, err := parseTimestamp(pair[0])
		if err != nil {
			return fmt.Errorf("decoding string result: %w", err)
		}
		if err := json.Unmarshal(pair[1], &resp.Text); err != nil {
			return fmt.Errorf("decoding string result: %w", err)
		}
		resp.TextTime = t
	default:
		return fmt.Errorf("decoding response: unknown result type %q, want vector, matrix, scalar or string", resultType)
	}
	return nil
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

func decodeStats(raw json.RawMessage, stats *Stats) error {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	var w wireStats
	if err := json.Unmarshal(raw, &w); err != nil {
		return fmt.Errorf("decoding stats: %w", err)
	}
	stats.SeriesFetched = int64(w.SeriesFetched)
	stats.ExecutionTime = time.Duration(float64(w.ExecutionTimeMsec) * float64(time.Millisecond))
	return nil
}

func nonNilLabels(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// UnmarshalJSON decodes a [time, "value"] pair: the time in seconds since
// the Unix epoch as a JSON number, the value as a string that may be "NaN",
// "+Inf", "-Inf", "+Infinity" or "-Infinity" in any case.
func (p *Point) UnmarshalJSON(data []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(data, &pair); err != nil {
		return fmt.Errorf("decoding sample: %w", err)
	}
	if len(pair) != 2 {
		return fmt.Errorf("decoding sample: want [time, \"value\"], got %d elements", len(pair))
	}
	t, err := parseTimestamp(pair[0])
	if err != nil {
		return fmt.Errorf("decoding sample: %w", err)
	}
	var text string
	if err := json.Unmarshal(pair[1], &text); err != nil {
		return fmt.Errorf("decoding sample value %s: want a string such as \"42\" or \"NaN\"", pair[1])
	}
	v, err := ParseValue(text)
	if err != nil {
		return fmt.Errorf("decoding sample: %w", err)
	}
	p.Time, p.Value = t, v
	return nil
}

// ParseValue parses a sample value as Prometheus, VictoriaMetrics and Loki
// write it: a decimal number, or "NaN", "Inf" or "Infinity" with an optional
// sign, in any case.
func ParseValue(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid sample value %q: want a number, NaN or ±Inf", s)
	}
	return v, nil
}

// parseTimestamp reads seconds since the Unix epoch, a JSON number with an
// optional fraction, and rounds it to the millisecond, the resolution of
// Prometheus timestamps, because a float64 of about 1.7e9 seconds holds no
// more than that.
func parseTimestamp(raw json.RawMessage) (time.Time, error) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return time.Time{}, fmt.Errorf("invalid timestamp %s: want seconds since the Unix epoch", raw)
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.Abs(f) > maxTimestampSeconds {
		return time.Time{}, fmt.Errorf("invalid timestamp %s: want seconds since the Unix epoch", raw)
	}
	return time.UnixMilli(int64(math.Round(f * 1000))).UTC(), nil
}

// maxTimestampSeconds bounds timestamps to the years before 5000, so that
// the conversion to milliseconds cannot overflow.
const maxTimestampSeconds = 95_000_000_000

// flexNumber is a JSON number that may also be written as a string.
type flexNumber float64

func (n *flexNumber) UnmarshalJSON(data []byte) error {
	if bytes.Equal(data, []byte("null")) {
		return nil
	}
	text := string(data)
	if len(data) > 0 && data[0] == '"' {
		if err := json.Unmarshal(data, &text); err != nil {
			return err
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return fmt.Errorf("invalid number %s", data)
	}
	*n = flexNumber(f)
	return nil
}
