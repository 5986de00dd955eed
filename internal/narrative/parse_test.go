package narrative

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseNarrative(t *testing.T) {
	good := goodAnswer()
	goodJSON := good.json(t)

	wrong := func(edit func(*answer)) string {
		a := goodAnswer()
		edit(&a)
		return a.json(t)
	}

	tests := []struct {
		name    string
		input   string
		wantErr error  // nil for success
		wantMsg string // substring of the error
	}{
		{name: "plain object", input: goodJSON},
		{name: "json fence", input: "```json\n" + goodJSON + "\n```"},
		{name: "bare fence", input: "```\n" + goodJSON + "\n```\n"},
		{name: "prose around", input: "Here is the analysis:\n" + goodJSON + "\nLet me know if you need more."},
		{name: "prose with braces first", input: "Format {like this}: " + goodJSON},
		{name: "fence inside prose", input: "Sure.\n```json\n" + goodJSON + "\n```\nDone."},
		{name: "wrapper object", input: `{"narrative": ` + goodJSON + `}`},
		{name: "byte order mark", input: "\ufeff" + goodJSON},
		{name: "upper-case level", input: wrong(func(a *answer) { a.RiskLevel = "HIGH" })},
		{name: "empty", input: "", wantErr: errEmptyAnswer},
		{name: "white space", input: " \n\t ", wantErr: errEmptyAnswer},
		{name: "empty fence", input: "```json\n```", wantErr: errEmptyAnswer},
		{name: "prose only", input: "I cannot help with that.", wantErr: errInvalidAnswer, wantMsg: "no JSON object"},
		{name: "truncated object", input: goodJSON[:len(goodJSON)/2], wantErr: errInvalidAnswer, wantMsg: "no JSON object"},
		{name: "object inside an array", input: "[" + goodJSON + "]"},
		{name: "missing fields", input: `{"risk_level": "low", "executive_summary": "Quiet."}`, wantErr: errInvalidAnswer,
			wantMsg: "missing top_threats, missing inbound_analysis, missing outbound_analysis, missing port_analysis, missing recommended_actions"},
		{name: "threats as string", input: wrong(func(a *answer) { a.TopThreats = "203.0.113.7 is bad" }), wantErr: errInvalidAnswer,
			wantMsg: "top_threats is not a list of strings"},
		{name: "actions with numbers", input: wrong(func(a *answer) { a.RecommendedActions = []any{"block", 7} }), wantErr: errInvalidAnswer,
			wantMsg: "recommended_actions is not a list of strings"},
		{name: "actions null", input: wrong(func(a *answer) { a.RecommendedActions = nil }), wantErr: errInvalidAnswer,
			wantMsg: "recommended_actions is not a list of strings"},
		{name: "summary number", input: wrong(func(a *answer) { a.ExecutiveSummary = 3 }), wantErr: errInvalidAnswer,
			wantMsg: "executive_summary is not a string"},
		{name: "summary empty", input: wrong(func(a *answer) { a.ExecutiveSummary = "  " }), wantErr: errInvalidAnswer,
			wantMsg: "executive_summary is empty"},
		{name: "unknown level", input: wrong(func(a *answer) { a.RiskLevel = "severe" }), wantErr: errInvalidAnswer,
			wantMsg: `risk_level "severe" is not one of none, low, medium, high, critical`},
		{name: "too long", input: `{"executive_summary": "` + strings.Repeat("a", maxAnswerBytes) + `"}`, wantErr: errInvalidAnswer,
			wantMsg: "more than the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := parseNarrative([]byte(tt.input))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("parseNarrative: %v", err)
				}
				if n.ExecutiveSummary != good.ExecutiveSummary {
					t.Errorf("executive summary %q, want %q", n.ExecutiveSummary, good.ExecutiveSummary)
				}
				if levelRank(n.RiskLevel) < 0 {
					t.Errorf("risk level %q is not a level", n.RiskLevel)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q lacks %q", err, tt.wantMsg)
			}
		})
	}
}

// Risk levels are lower-cased, and list items are cleaned, with empty ones
// dropped.
func TestParseNarrativeNormalizes(t *testing.T) {
	a := goodAnswer()
	a.RiskLevel = " High "
	a.TopThreats = []string{"  one\n\ttwo ", "", "\u202eevil"}
	n, err := parseNarrative([]byte(a.json(t)))
	if err != nil {
		t.Fatal(err)
	}
	if n.RiskLevel != "high" {
		t.Errorf("risk level %q, want high", n.RiskLevel)
	}
	if len(n.TopThreats) != 2 || n.TopThreats[0] != "one two" || n.TopThreats[1] != "evil" {
		t.Errorf("top threats %q, want [one two, evil]", n.TopThreats)
	}
}

func TestParseNarrativeCapsLists(t *testing.T) {
	a := goodAnswer()
	items := make([]string, 60)
	for i := range items {
		items[i] = strings.Repeat("x", 3000)
	}
	a.RecommendedActions = items
	n, err := parseNarrative([]byte(a.json(t)))
	if err != nil {
		t.Fatal(err)
	}
	if len(n.RecommendedActions) != maxListItems {
		t.Errorf("%d actions, want %d", len(n.RecommendedActions), maxListItems)
	}
	if got := utf8.RuneCountInString(n.RecommendedActions[0]); got != maxFieldRunes {
		t.Errorf("action of %d runes, want %d", got, maxFieldRunes)
	}
}

func FuzzParseNarrative(f *testing.F) {
	good := `{"risk_level":"low","executive_summary":"Quiet.","top_threats":[],"inbound_analysis":"","outbound_analysis":"","port_analysis":"","recommended_actions":["None."]}`
	for _, seed := range []string{
		good,
		"```json\n" + good + "\n```",
		"Here: " + good + " thanks",
		`{"narrative":` + good + `}`,
		`{"risk_level":1}`,
		"{{{{",
		"",
		"```",
		`{"top_threats":null}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := parseNarrative(data)
		if err != nil {
			if !errors.Is(err, errEmptyAnswer) && !errors.Is(err, errInvalidAnswer) {
				t.Fatalf("error %v wraps neither errEmptyAnswer nor errInvalidAnswer", err)
			}
			return
		}
		if levelRank(n.RiskLevel) < 0 {
			t.Fatalf("accepted risk level %q", n.RiskLevel)
		}
		if n.ExecutiveSummary == "" {
			t.Fatal("accepted an empty executive summary")
		}
		if n.TopThreats == nil || n.RecommendedActions == nil {
			t.Fatal("accepted nil lists")
		}
		for _, s := range append(append([]string{n.ExecutiveSummary}, n.TopThreats...), n.RecommendedActions...) {
			if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxFieldRunes {
				t.Fatalf("accepted text %q", s)
			}
		}
		if len(n.TopThreats) > maxListItems || len(n.RecommendedActions) > maxListItems {
			t.Fatal("accepted too many list items")
		}
	})
}
