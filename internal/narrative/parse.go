package narrative

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/threat-intel/threat-intel/internal/report"
)

// Threat levels from least to most serious.
var levels = []string{"none", "low", "medium", "high", "critical"}

// levelRank returns the position of level in levels, or -1.
func levelRank(level string) int { return slices.Index(levels, level) }

// narrativeKeys are the fields the model must return, in schema order.
var narrativeKeys = []string{
	"risk_level", "executive_summary", "top_threats",
	"inbound_analysis", "outbound_analysis", "port_analysis", "recommended_actions",
}

// Bounds on a model's response.
const (
	// maxAnswerBytes bounds the text that is parsed. 8192 tokens, the most
	// a retry requests, are about 32 KiB of English.
	maxAnswerBytes = 256 << 10
	// maxObjectTries bounds the '{' positions tried when prose surrounds
	// the JSON object.
	maxObjectTries = 64
	// maxFieldRunes caps each text field and list item.
	maxFieldRunes = 2000
	// maxListItems caps top_threats and recommended_actions.
	maxListItems = 25
)

var (
	errEmptyAnswer   = errors.New("empty response")
	errInvalidAnswer = errors.New("invalid response")
)

// narrativeSchema is the JSON schema of the response, for the provider's
// structured-output mechanism. Every property is required and no other is
// allowed, as OpenAI's strict mode demands.
func narrativeSchema() map[string]any {
	return map[string]any{
		"type":                 "object",
		"properties":           schemaProperties(),
		"required":             slices.Clone(narrativeKeys),
		"additionalProperties": false,
	}
}

func schemaProperties() map[string]any {
	text := func(description string) map[string]any {
		return map[string]any{"type": "string", "description": description}
	}
	list := func(description string) map[string]any {
		return map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": description}
	}
	return map[string]any{
		"risk_level": map[string]any{
			"type": "string", "enum": slices.Clone(levels),
			"description": "Overall risk of the window.",
		},
		"executive_summary":   text("2 to 4 sentences for the operator."),
		"top_threats":         list("One line per threat, worst first; flag likely false positives explicitly."),
		"inbound_analysis":    text("One paragraph on blocked inbound traffic."),
		"outbound_analysis":   text("One paragraph on outbound destinations and the internal hosts behind them."),
		"port_analysis":       text("One paragraph on the targeted ports."),
		"recommended_actions": list("Concrete steps with exact pfSense UI paths and real interface names."),
	}
}

// parseNarrative reads a model's response: it strips code fences, finds the
// JSON object when prose surrounds it, and checks every required field and
// its type. The result has Available, Provider and Model unset. The error
// wraps errEmptyAnswer or errInvalidAnswer.
func parseNarrative(response []byte) (report.Narrative, error) {
	text := bytes.TrimSpace(bytes.TrimPrefix(response, []byte("\xef\xbb\xbf")))
	if len(text) == 0 {
		return report.Narrative{}, errEmptyAnswer
	}
	if len(text) > maxAnswerBytes {
		return report.Narrative{}, fmt.Errorf("%w: %d bytes, more than the %d accepted", errInvalidAnswer, len(text), maxAnswerBytes)
	}
	text = stripFences(text)
	if len(text) == 0 {
		return report.Narrative{}, errEmptyAnswer
	}

	fields, err := findObject(text)
	if err != nil {
		return report.Narrative{}, err
	}
	return checkFields(fields)
}

// stripFences removes a Markdown code fence around the whole response:
// "```json" on the first line and "```" at the end.
func stripFences(text []byte) []byte {
	if !bytes.HasPrefix(text, []byte("```")) {
		return text
	}
	nl := bytes.IndexByte(text, '\n')
	if nl < 0 {
		return bytes.TrimSpace(bytes.Trim(text, "`"))
	}
	body := text[nl+1:]
	if end := bytes.LastIndex(body, []byte("```")); end >= 0 {
		body = body[:end]
	}
	return bytes.TrimSpace(body)
}

// findObject decodes the JSON object of the response. When it is not
// one object, it tries each '{' in turn and takes the first object that has
// an executive_summary, or else the first object found, so prose around
// the object and a wrapper such as {"narrative": {...}} are both accepted.
func findObject(text []byte) (map[string]json.RawMessage, error) {
	var first map[string]json.RawMessage
	offset := 0
	for tries := 0; tries < maxObjectTries; tries++ {
		i := bytes.IndexByte(text[offset:], '{')
		if i < 0 {
			break
		}
		start := offset + i
		offset = start + 1

		var obj map[string]json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(text[start:]))
		if err := dec.Decode(&obj); err != nil || obj == nil {
			continue
		}
		if _, ok := obj["executive_summary"]; ok {
			return obj, nil
		}
		if first == nil {
			first = obj
		}
	}
	if first == nil {
		return nil, fmt.Errorf("%w: no JSON object in the response", errInvalidAnswer)
	}
	return first, nil
}

// checkFields turns the decoded fields into a narrative, or names every
// missing or mistyped field.
func checkFields(fields map[string]json.RawMessage) (report.Narrative, error) {
	var problems []string
	var n report.Narrative

	text := func(key string, required bool) string {
		raw, ok := fields[key]
		if !ok {
			problems = append(problems, "missing "+key)
			return ""
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || isNull(raw) {
			problems = append(problems, key+" is not a string")
			return ""
		}
		s = cleanModelText(s)
		if required && s == "" {
			problems = append(problems, key+" is empty")
		}
		return s
	}
	list := func(key string) []string {
		raw, ok := fields[key]
		if !ok {
			problems = append(problems, "missing "+key)
			return nil
		}
		var items []string
		if err := json.Unmarshal(raw, &items); err != nil || isNull(raw) {
			problems = append(problems, key+" is not a list of strings")
			return nil
		}
		out := []string{}
		for _, item := range items {
			if item = cleanModelText(item); item != "" && len(out) < maxListItems {
				out = append(out, item)
			}
		}
		return out
	}

	level := strings.ToLower(text("risk_level", true))
	if level != "" && levelRank(level) < 0 {
		problems = append(problems, fmt.Sprintf("risk_level %q is not one of %s", cleanText(level, 20), strings.Join(levels, ", ")))
	}
	n.RiskLevel = level
	n.ExecutiveSummary = text("executive_summary", true)
	n.TopThreats = list("top_threats")
	n.InboundAnalysis = text("inbound_analysis", false)
	n.OutboundAnalysis = text("outbound_analysis", false)
	n.PortAnalysis = text("port_analysis", false)
	n.RecommendedActions = list("recommended_actions")

	if len(problems) > 0 {
		return report.Narrative{}, fmt.Errorf("%w: %s", errInvalidAnswer, strings.Join(problems, ", "))
	}
	return n, nil
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// cleanModelText removes control characters and collapses white space in a
// model's text, and caps it at maxFieldRunes.
func cleanModelText(s string) string {
	return cleanText(s, maxFieldRunes)
}
