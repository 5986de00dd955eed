package narrative

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// reply is one response of a fake model server.
type reply struct {
	status int
	header map[string]string
	body   string
	hang   bool // wait for the client to give up
}

// fakeModel is an Anthropic Messages or OpenAI Chat Completions server on
// 127.0.0.1 that responds to request n with replies[n], repeating the last.
type fakeModel struct {
	srv *httptest.Server

	mu       sync.Mutex
	replies  []reply
	requests []map[string]any
	headers  []http.Header
	paths    []string
}

func newFakeModel(t *testing.T, replies ...reply) *fakeModel {
	t.Helper()
	m := &fakeModel{replies: replies}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *fakeModel) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var decoded map[string]any
	_ = json.Unmarshal(body, &decoded)

	m.mu.Lock()
	m.requests = append(m.requests, decoded)
	m.headers = append(m.headers, r.Header.Clone())
	m.paths = append(m.paths, r.URL.Path)
	rep := m.replies[min(len(m.requests), len(m.replies))-1]
	m.mu.Unlock()

	if rep.hang {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	status := rep.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, rep.body)
}

func (m *fakeModel) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.requests)
}

func (m *fakeModel) request(i int) map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests[i]
}

func (m *fakeModel) header(i int) http.Header {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.headers[i]
}

// Anthropic Messages API responses.

func anthropicToolReply(input, stop string) reply {
	return reply{body: fmt.Sprintf(`{"id":"msg_01","type":"message","role":"assistant","model":"claude-haiku-5-5",
"content":[{"type":"tool_use","id":"toolu_01","name":"submit_narrative","input":%s}],
"stop_reason":%q,"stop_sequence":null,"usage":{"input_tokens":1200,"output_tokens":300}}`, input, stop)}
}

func anthropicTextReply(text, stop string) reply {
	quoted, _ := json.Marshal(text)
	return reply{body: fmt.Sprintf(`{"id":"msg_01","type":"message","role":"assistant","model":"claude-haiku-5-5",
"content":[{"type":"text","text":%s}],
"stop_reason":%q,"stop_sequence":null,"usage":{"input_tokens":1200,"output_tokens":300}}`, quoted, stop)}
}

func anthropicError(status int, kind, message string) reply {
	return reply{status: status, body: fmt.Sprintf(`{"type":"error","error":{"type":%q,"message":%q}}`, kind, message)}
}

// OpenAI Chat Completions responses.

func openaiReply(content, finish string) reply {
	quoted, _ := json.Marshal(content)
	return reply{body: fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion","created":1771754405,"model":"llama3.1:8b",
"choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":%q}],
"usage":{"prompt_tokens":1000,"completion_tokens":250,"total_tokens":1250}}`, quoted, finish)}
}

func openaiRefusal(text string) reply {
	quoted, _ := json.Marshal(text)
	return reply{body: fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion","created":1771754405,"model":"gpt",
"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":%s},"finish_reason":"stop"}],
"usage":{"prompt_tokens":1000,"completion_tokens":5,"total_tokens":1005}}`, quoted)}
}

func openaiError(status int, message string) reply {
	return reply{status: status, body: fmt.Sprintf(`{"error":{"message":%q,"type":"server_error","param":null,"code":null}}`, message)}
}

// testGenerator returns a Generator for provider that sends to m, with a
// short retry delay and its own registry and log recorder.
func testGenerator(t *testing.T, provider string, m *fakeModel, edit func(*Options)) (*Generator, *prometheus.Registry, *logRecorder) {
	t.Helper()
	rec, logger := newLogRecorder()
	reg := prometheus.NewRegistry()
	opts := Options{
		Provider:   provider,
		APIKey:     "sk-test-key-0123456789",
		Timeout:    2 * time.Second,
		RetryDelay: time.Millisecond,
		Logger:     logger,
		Registerer: reg,
	}
	switch provider {
	case ProviderAnthropic:
		opts.BaseURL = m.srv.URL
	default:
		opts.BaseURL = m.srv.URL + "/v1"
		opts.Model = "llama3.1:8b"
	}
	if edit != nil {
		edit(&opts)
	}
	g, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return g, reg, rec
}

// counterValue returns the value of the counter name with the given
// labels, or 0.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() != name {
			continue
		}
	metrics:
		for _, m := range fam.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
