package promql

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGoldenQueriesParseInPrometheus checks the golden queries with
// Prometheus' own parser, through promtool, so that they work against
// Prometheus as well as VictoriaMetrics.
func TestGoldenQueriesParseInPrometheus(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (%v): install the Debian package prometheus, which provides /usr/bin/promtool", err)
	}
	paths, err := filepath.Glob(filepath.Join("testdata", "queries", "*", "*.promql"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden queries found: %v", err)
	}

	type rule struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var rules []rule
	for _, path := range paths {
		expr, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, rule{Record: "threat_intel:golden_query", Expr: string(expr)})
	}
	// A rules file is YAML, and JSON is YAML.
	file := map[string]any{"groups": []any{map[string]any{"name": "golden", "rules": rules}}}
	data, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	rulesPath := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(rulesPath, data, 0o644); err != nil {
		t.Fatal(err)
	}

	out, err := exec.CommandContext(t.Context(), promtool, "check", "rules", rulesPath).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}
