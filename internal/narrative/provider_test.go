package narrative

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// providerCase is one scripted server behaviour and what Generate must make
// of it.
type providerCase struct {
	name         string
	replies      []reply
	timeout      time.Duration
	wantRequests int
	// wantError is a substring of the narrative's error; empty means the
	// model's narrative is expected.
	wantError string
	// wantOutcomes counts the requests by outcome label.
	wantOutcomes map[string]float64
}

func runProviderCase(t *testing.T, provider string, tt providerCase) {
	t.Helper()
	m := newFakeModel(t, tt.replies...)
	g, reg, rec := testGenerator(t, provider, m, func(o *Options) {
		if tt.timeout > 0 {
			o.Timeout = tt.timeout
		}
	})
	r, c := loadFixture(t, "storm")

	n := g.Generate(context.Background(), r, c)

	if got := m.count(); got != tt.wantRequests {
		t.Errorf("%d requests, want %d", got, tt.wantRequests)
	}
	checkComplete(t, n)
	if tt.wantError == "" {
		if n.Error != "" || n.Provider != provider || n.Model != g.Model() {
			t.Errorf("provider %q, model %q, error %q; want the model's narrative", n.Provider, n.Model, n.Error)
		}
		if n.ExecutiveSummary != goodAnswer().ExecutiveSummary.(string) {
			t.Errorf("executive summary %q is not the model's", n.ExecutiveSummary)
		}
	} else {
		if n.Provider != ProviderRules || n.Model != "" {
			t.Errorf("provider %q, model %q; want the rules fallback", n.Provider, n.Model)
		}
		if !strings.Contains(n.Error, tt.wantError) {
			t.Errorf("error %q lacks %q", n.Error, tt.wantError)
		}
		if !strings.HasPrefix(n.Error, provider+": ") {
			t.Errorf("error %q does not start with the provider name", n.Error)
		}
		if len(rec.records(t, "narrative model failed")) != 1 {
			t.Error("fallback not logged")
		}
	}
	for outcome, want := range tt.wantOutcomes {
		got := counterValue(t, reg, "threat_intel_narrative_requests_total", map[string]string{"provider": provider, "outcome": outcome})
		if got != want {
			t.Errorf("requests with outcome %s: %v, want %v", outcome, got, want)
		}
	}
	if strings.Contains(rec.text(), "sk-test-key-0123456789") || strings.Contains(n.Error, "sk-test-key-0123456789") {
		t.Error("the API key leaked into a log line or the error")
	}
}

func TestAnthropic(t *testing.T) {
	good := goodAnswer().json(t)
	wrong := goodAnswer()
	wrong.TopThreats = "203.0.113.7 is the worst source"
	wrongTypes := wrong.json(t)

	tests := []providerCase{
		{name: "tool answer", replies: []reply{anthropicToolReply(good, "tool_use")},
			wantRequests: 1, wantOutcomes: map[string]float64{outcomeOK: 1}},
		{name: "fenced text", replies: []reply{anthropicTextReply("```json\n"+good+"\n```", "end_turn")},
			wantRequests: 1},
		{name: "prose around the object", replies: []reply{anthropicTextReply("Here is the narrative:\n"+good+"\nStay safe.", "end_turn")},
			wantRequests: 1},
		{name: "empty then good", replies: []reply{anthropicTextReply("", "end_turn"), anthropicToolReply(good, "tool_use")},
			wantRequests: 2, wantOutcomes: map[string]float64{outcomeEmpty: 1, outcomeOK: 1}},
		{name: "empty twice", replies: []reply{anthropicTextReply("", "end_turn")},
			wantRequests: 2, wantError: "anthropic: empty response (stop reason end_turn)", wantOutcomes: map[string]float64{outcomeEmpty: 2}},
		{name: "no content blocks", replies: []reply{{body: `{"id":"m","type":"message","role":"assistant","model":"x","content":[],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":0}}`}},
			wantRequests: 2, wantError: "anthropic: empty response"},
		{name: "empty http body", replies: []reply{{body: ""}},
			wantRequests: 2, wantError: "anthropic: request failed: error parsing response json"},
		{name: "truncated twice", replies: []reply{anthropicToolReply(`{"risk_level":"high"}`, "max_tokens")},
			wantRequests: 2, wantError: "anthropic: truncated response (max_tokens)", wantOutcomes: map[string]float64{outcomeTruncated: 2}},
		{name: "truncated then good", replies: []reply{anthropicToolReply(`{"risk_level":"high"}`, "max_tokens"), anthropicToolReply(good, "tool_use")},
			wantRequests: 2},
		{name: "wrong types", replies: []reply{anthropicToolReply(wrongTypes, "tool_use")},
			wantRequests: 2, wantError: "anthropic: invalid response: top_threats is not a list of strings", wantOutcomes: map[string]float64{outcomeInvalid: 2}},
		{name: "refusal", replies: []reply{anthropicTextReply("I can't help with that.", "refusal")},
			wantRequests: 2, wantError: "anthropic: the model refused", wantOutcomes: map[string]float64{outcomeRefused: 2}},
		{name: "timeout", replies: []reply{{hang: true}}, timeout: 100 * time.Millisecond,
			wantRequests: 2, wantError: "anthropic: timed out after 100ms", wantOutcomes: map[string]float64{outcomeTimeout: 2}},
		{name: "rate limited then good", replies: []reply{withHeader(anthropicError(429, "rate_limit_error", "slow down"), "Retry-After", "0"), anthropicToolReply(good, "tool_use")},
			wantRequests: 2, wantOutcomes: map[string]float64{outcomeRateLimited: 1, outcomeOK: 1}},
		{name: "rate limited twice", replies: []reply{anthropicError(429, "rate_limit_error", "slow down")},
			wantRequests: 2, wantError: "anthropic: HTTP 429 Too Many Requests: slow down"},
		{name: "rate limited for long", replies: []reply{withHeader(anthropicError(429, "rate_limit_error", "slow down"), "Retry-After", "120")},
			wantRequests: 1, wantError: "anthropic: HTTP 429"},
		{name: "server error", replies: []reply{anthropicError(500, "api_error", "internal")},
			wantRequests: 2, wantError: "anthropic: HTTP 500 Internal Server Error: internal", wantOutcomes: map[string]float64{outcomeError: 2}},
		{name: "overloaded then good", replies: []reply{anthropicError(529, "overloaded_error", "overloaded"), anthropicToolReply(good, "tool_use")},
			wantRequests: 2},
		{name: "unauthorized is not retried", replies: []reply{anthropicError(401, "authentication_error", "invalid x-api-key sk-test-key-0123456789")},
			wantRequests: 1, wantError: "anthropic: HTTP 401 Unauthorized: invalid x-api-key REDACTED", wantOutcomes: map[string]float64{outcomeUnauthorized: 1}},
		{name: "bad request is not retried", replies: []reply{anthropicError(400, "invalid_request_error", "model: not found")},
			wantRequests: 1, wantError: "anthropic: HTTP 400 Bad Request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runProviderCase(t, ProviderAnthropic, tt) })
	}
}

func withHeader(r reply, key, value string) reply {
	r.header = map[string]string{key: value}
	return r
}

func TestAnthropicRequest(t *testing.T) {
	m := newFakeModel(t, anthropicToolReply(`{"risk_level":"high"}`, "max_tokens"))
	g, reg, _ := testGenerator(t, ProviderAnthropic, m, nil)
	r, c := loadFixture(t, "storm")
	g.Generate(context.Background(), r, c)

	if m.count() != 2 {
		t.Fatalf("%d requests, want 2", m.count())
	}
	if m.paths[0] != "/v1/messages" {
		t.Errorf("path %q, want /v1/messages", m.paths[0])
	}
	first, second := m.request(0), m.request(1)
	if first["model"] != DefaultAnthropicModel {
		t.Errorf("model %v, want %s", first["model"], DefaultAnthropicModel)
	}
	if first["max_tokens"] != float64(DefaultMaxTokens) || second["max_tokens"] != float64(2*DefaultMaxTokens) {
		t.Errorf("max_tokens %v then %v, want %d then %d after truncation", first["max_tokens"], second["max_tokens"], DefaultMaxTokens, 2*DefaultMaxTokens)
	}
	choice, _ := first["tool_choice"].(map[string]any)
	if choice["type"] != "tool" || choice["name"] != anthropicTool {
		t.Errorf("tool_choice %v, want the forced tool %s", choice, anthropicTool)
	}
	tools, _ := first["tools"].([]any)
	if len(tools) != 1 {
		t.Fatalf("tools %v, want one", tools)
	}
	schema, _ := tools[0].(map[string]any)["input_schema"].(map[string]any)
	required, _ := json.Marshal(schema["required"])
	if string(required) != `["risk_level","executive_summary","top_threats","inbound_analysis","outbound_analysis","port_analysis","recommended_actions"]` {
		t.Errorf("input_schema.required %s", required)
	}
	if schema["additionalProperties"] != false {
		t.Errorf("input_schema.additionalProperties %v, want false", schema["additionalProperties"])
	}
	h := m.header(0)
	if !strings.Contains(h.Get("Authorization")+h.Get("X-Api-Key"), "sk-test-key-0123456789") {
		t.Error("the API key was not sent")
	}

	if got := counterValue(t, reg, "threat_intel_narrative_tokens_total", map[string]string{"provider": "anthropic", "direction": "input"}); got != 2400 {
		t.Errorf("input tokens %v, want 2400 (two answers of 1200)", got)
	}
	if got := counterValue(t, reg, "threat_intel_narrative_tokens_total", map[string]string{"provider": "anthropic", "direction": "output"}); got != 600 {
		t.Errorf("output tokens %v, want 600", got)
	}
}

func TestOpenAI(t *testing.T) {
	good := goodAnswer().json(t)
	wrong := goodAnswer()
	wrong.RiskLevel = "severe"

	tests := []providerCase{
		{name: "json answer", replies: []reply{openaiReply(good, "stop")},
			wantRequests: 1, wantOutcomes: map[string]float64{outcomeOK: 1}},
		{name: "fenced", replies: []reply{openaiReply("```json\n"+good+"\n```", "stop")}, wantRequests: 1},
		{name: "prose around the object", replies: []reply{openaiReply("Sure! "+good+" Anything else?", "stop")}, wantRequests: 1},
		{name: "empty twice", replies: []reply{openaiReply("", "stop")},
			wantRequests: 2, wantError: "openai: empty response (stop reason stop)"},
		{name: "no choices", replies: []reply{{body: `{"id":"x","object":"chat.completion","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":0}}`}},
			wantRequests: 2, wantError: "openai: empty response"},
		{name: "length twice", replies: []reply{openaiReply(good[:100], "length")},
			wantRequests: 2, wantError: "openai: truncated response (length)", wantOutcomes: map[string]float64{outcomeTruncated: 2}},
		{name: "length then good", replies: []reply{openaiReply(good[:100], "length"), openaiReply(good, "stop")}, wantRequests: 2},
		{name: "wrong level", replies: []reply{openaiReply(wrong.json(t), "stop")},
			wantRequests: 2, wantError: `openai: invalid response: risk_level "severe" is not one of`},
		{name: "refusal", replies: []reply{openaiRefusal("I cannot do that.")},
			wantRequests: 2, wantError: "openai: the model refused: I cannot do that."},
		{name: "timeout", replies: []reply{{hang: true}}, timeout: 100 * time.Millisecond,
			wantRequests: 2, wantError: "openai: timed out after 100ms"},
		{name: "rate limited then good", replies: []reply{withHeader(openaiError(429, "slow down"), "Retry-After", "0"), openaiReply(good, "stop")},
			wantRequests: 2},
		{name: "rate limited twice", replies: []reply{openaiError(429, "slow down")},
			wantRequests: 2, wantError: "openai: HTTP 429 Too Many Requests: slow down", wantOutcomes: map[string]float64{outcomeRateLimited: 2}},
		{name: "server error", replies: []reply{openaiError(500, "boom")},
			wantRequests: 2, wantError: "openai: HTTP 500 Internal Server Error: boom"},
		{name: "not found is not retried", replies: []reply{openaiError(404, "model not found")},
			wantRequests: 1, wantError: "openai: HTTP 404 Not Found: model not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runProviderCase(t, ProviderOpenAI, tt) })
	}
}

func TestOpenAIRequest(t *testing.T) {
	tests := []struct {
		name     string
		key      string
		wantAuth string
	}{
		{name: "local server without key", key: "", wantAuth: ""},
		{name: "server with key", key: "sk-local", wantAuth: "Bearer sk-local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OPENAI_API_KEY", "sk-from-environment")
			t.Setenv("OPENAI_BASE_URL", "http://192.0.2.1/v1")
			m := newFakeModel(t, openaiReply(goodAnswer().json(t), "stop"))
			g, reg, _ := testGenerator(t, ProviderOllama, m, func(o *Options) { o.APIKey = tt.key })
			r, c := loadFixture(t, "storm")
			n := g.Generate(context.Background(), r, c)

			if m.count() != 1 {
				t.Fatalf("%d requests, want 1 (the environment's base URL must not be used)", m.count())
			}
			if n.Provider != ProviderOllama || n.Model != "llama3.1:8b" {
				t.Errorf("provider %q, model %q; want ollama, llama3.1:8b", n.Provider, n.Model)
			}
			if m.paths[0] != "/v1/chat/completions" {
				t.Errorf("path %q, want /v1/chat/completions", m.paths[0])
			}
			if got := m.header(0).Get("Authorization"); got != tt.wantAuth {
				t.Errorf("Authorization %q, want %q", got, tt.wantAuth)
			}

			body := m.request(0)
			if body["max_tokens"] != float64(DefaultMaxTokens) || body["max_completion_tokens"] != nil {
				t.Errorf("max_tokens %v, max_completion_tokens %v; a compatible server gets max_tokens", body["max_tokens"], body["max_completion_tokens"])
			}
			format, _ := body["response_format"].(map[string]any)
			schema, _ := format["json_schema"].(map[string]any)
			if format["type"] != "json_schema" || schema["strict"] != true || schema["schema"] == nil {
				t.Errorf("response_format %v, want a strict json_schema", format)
			}
			messages, _ := body["messages"].([]any)
			if len(messages) != 2 {
				t.Fatalf("messages %v, want system and user", messages)
			}
			if got := counterValue(t, reg, "threat_intel_narrative_tokens_total", map[string]string{"provider": "ollama", "direction": "output"}); got != 250 {
				t.Errorf("output tokens %v, want 250", got)
			}
		})
	}
}
