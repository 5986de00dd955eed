package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v4"
)

// grafanaIntervals are concrete values for Grafana's interval variables,
// so that promtool can parse the expressions. Longer names come first
// because a replacer prefers the earlier of two names that match at the
// same place, and $__range is a prefix of $__range_s.
var grafanaIntervals = strings.NewReplacer(
	"${__rate_interval}", "2m", "$__rate_interval", "2m",
	"${__interval_ms}", "60000", "$__interval_ms", "60000",
	"${__interval}", "1m", "$__interval", "1m",
	"${__range_ms}", "86400000", "$__range_ms", "86400000",
	"${__range_s}", "86400", "$__range_s", "86400",
	"${__range}", "1d", "$__range", "1d",
)

// concreteExpr returns a target's PromQL with the dashboard's variables and
// Grafana's interval variables replaced.
func concreteExpr(t *testing.T, q queryRef, vars map[string]string) string {
	t.Helper()
	expr := grafanaIntervals.Replace(resolveVariables(q.target.Expr, vars))
	if strings.Contains(expr, "$") {
		t.Fatalf("%s: expression %q uses a variable the test cannot resolve", q, q.target.Expr)
	}
	return expr
}

func TestDashboardPromQLParses(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install the Debian package prometheus (scripts/test-services.sh does so as root)")
	}

	d := loadDashboard(t)
	vars := dashboardVariables(d)
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for _, q := range queriesOf(t, d, typePrometheus) {
		if strings.TrimSpace(q.target.Expr) == "" {
			t.Errorf("%s: empty expression", q)
			continue
		}
		// One recording rule per expression: promtool parses each one, and
		// the rule name leads back to the panel.
		rules = append(rules, rule{
			Record: fmt.Sprintf("dashboard:panel%d_%s", q.panel.ID, q.target.RefID),
			Expr:   concreteExpr(t, q, vars),
		})
	}

	file := struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []rule `yaml:"rules"`
		} `yaml:"groups"`
	}{}
	file.Groups = append(file.Groups, struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	}{Name: "dashboard", Rules: rules})
	data, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}

	out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules rejected the dashboard's expressions: %v\n%s\nrules file:\n%s", err, out, data)
	}
}

func TestDashboardPromQLUsesExposedSeries(t *testing.T) {
	exposed := exposedSeries(t)
	scrape := scrapeTargetLabels(t)
	d := loadDashboard(t)
	vars := dashboardVariables(d)

	for _, q := range queriesOf(t, d, typePrometheus) {
		refs, err := parsePromQLRefs(concreteExpr(t, q, vars))
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		if len(refs.selectors) == 0 {
			t.Errorf("%s: expression %q selects no metric", q, q.target.Expr)
		}

		metricLabels := map[string]bool{}
		for _, sel := range refs.selectors {
			labels, ok := exposed[sel.metric]
			if !ok {
				t.Errorf("%s: metric %q is not exposed on /metrics", q, sel.metric)
				continue
			}
			for _, l := range sel.labels {
				if _, ok := labels[l]; !ok && !scrape[l] {
					t.Errorf("%s: %s has no label %q (it has %v; the scrape adds %v)", q, sel.metric, l, keys(labels), keys(scrape))
				}
			}
			for l := range labels {
				metricLabels[l] = true
			}
		}
		for _, l := range refs.grouping {
			if !metricLabels[l] && !scrape[l] {
				t.Errorf("%s: groups by label %q, which none of its metrics has", q, l)
			}
		}
	}
}

var legendLabel = regexp.MustCompile(`\{\{\s*([^}\s]+)\s*\}\}`)

func TestDashboardLegendsUseMetricLabels(t *testing.T) {
	// A legend label must come from the metric itself. A label that the
	// scrape adds to every series, such as service, shows the same value on
	// every line: the reference dashboard's port legend {{service}} read
	// "threat-intel" for every port.
	exposed := exposedSeries(t)
	d := loadDashboard(t)
	vars := dashboardVariables(d)

	portLegends := 0
	for _, q := range queriesOf(t, d, typePrometheus) {
		refs, err := parsePromQLRefs(concreteExpr(t, q, vars))
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		metricLabels := map[string]bool{}
		for _, sel := range refs.selectors {
			for l := range exposed[sel.metric] {
				metricLabels[l] = true
			}
		}

		for _, m := range legendLabel.FindAllStringSubmatch(q.target.LegendFormat, -1) {
			label := m[1]
			if !metricLabels[label] {
				t.Errorf("%s: legend %q uses label %q, which its metrics do not have", q, q.target.LegendFormat, label)
			}
			// Aggregation keeps only the labels it groups by.
			for _, by := range refs.byLists {
				if !slices.Contains(by, label) {
					t.Errorf("%s: legend label %q is dropped by an aggregation grouped by %v", q, label, by)
				}
			}
		}

		if slices.ContainsFunc(refs.selectors, func(s promqlSelector) bool { return s.metric == "threat_intel_port_event_count" }) &&
			strings.Contains(q.target.LegendFormat, "{{port}}") {
			portLegends++
			if !strings.Contains(q.target.LegendFormat, "{{port_service}}") {
				t.Errorf("%s: port legend %q does not name the service with {{port_service}}", q, q.target.LegendFormat)
			}
		}
	}
	if portLegends == 0 {
		t.Error("no panel labels ports by {{port}} and {{port_service}}")
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// promqlSelector is a vector selector: a metric name and the label names of
// its matchers.
type promqlSelector struct {
	metric string
	labels []string
}

// promqlRefs are the names an expression refers to.
type promqlRefs struct {
	selectors []promqlSelector
	// grouping holds the labels of every by, without, on, ignoring,
	// group_left and group_right clause.
	grouping []string
	// byLists holds the label list of each by clause.
	byLists [][]string
}

type promqlTokenKind int

const (
	tokenIdent promqlTokenKind = iota
	tokenString
	tokenNumber
	tokenPunct
)

type promqlToken struct {
	kind promqlTokenKind
	text string
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

// lexPromQL splits an expression into identifiers, strings, numbers and
// punctuation. Range and subquery brackets hold only durations, so they are
// dropped whole.
func lexPromQL(s string) ([]promqlToken, error) {
	var toks []promqlToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string at offset %d of %q", i, s)
			}
			toks = append(toks, promqlToken{tokenString, s[i+1 : j]})
			i = j + 1
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unterminated [ at offset %d of %q", i, s)
			}
			i += j + 1
		case isDigit(c) || (c == '.' && i+1 < len(s) && isDigit(s[i+1])):
			j := i
			for j < len(s) && (isIdentChar(s[j]) || s[j] == '.') {
				j++
			}
			toks = append(toks, promqlToken{tokenNumber, s[i:j]})
			i = j
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			toks = append(toks, promqlToken{tokenIdent, s[i:j]})
			i = j
		default:
			toks = append(toks, promqlToken{tokenPunct, string(c)})
			i++
		}
	}
	return toks, nil
}

var (
	groupingKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
	aggregationOps   = map[string]bool{
		"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
		"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
		"limitk": true, "limit_ratio": true,
	}
	promqlKeywords = map[string]bool{
		"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
		"inf": true, "nan": true,
	}
)

// parsePromQLRefs returns the metric names and label names an expression
// uses. It reads names, not meaning: promtool checks the syntax.
func parsePromQLRefs(expr string) (promqlRefs, error) {
	toks, err := lexPromQL(expr)
	if err != nil {
		return promqlRefs{}, err
	}
	next := func(i int) promqlToken {
		if i+1 < len(toks) {
			return toks[i+1]
		}
		return promqlToken{}
	}
	isPunct := func(tk promqlToken, p string) bool { return tk.kind == tokenPunct && tk.text == p }

	var refs promqlRefs
	for i := 0; i < len(toks); i++ {
		tk := toks[i]
		word := strings.ToLower(tk.text)
		switch {
		case tk.kind == tokenIdent && groupingKeywords[word]:
			if !isPunct(next(i), "(") {
				continue // group_left without a label list
			}
			labels, end, err := readLabelList(toks, i+2)
			if err != nil {
				return refs, err
			}
			refs.grouping = append(refs.grouping, labels...)
			if word == "by" {
				refs.byLists = append(refs.byLists, labels)
			}
			i = end

		case tk.kind == tokenIdent && promqlKeywords[word]:
			continue

		case tk.kind == tokenIdent && isPunct(next(i), "("):
			continue // a function or an aggregation

		case tk.kind == tokenIdent && aggregationOps[word] && next(i).kind == tokenIdent &&
			(next(i).text == "by" || next(i).text == "without"):
			continue // sum by (…) (…)

		case tk.kind == tokenIdent:
			sel := promqlSelector{metric: tk.text}
			if isPunct(next(i), "{") {
				labels, _, end, err := readMatchers(toks, i+2)
				if err != nil {
					return refs, err
				}
				sel.labels = labels
				i = end
			}
			refs.selectors = append(refs.selectors, sel)

		case isPunct(tk, "{"):
			labels, name, end, err := readMatchers(toks, i+1)
			if err != nil {
				return refs, err
			}
			if name == "" {
				return refs, fmt.Errorf("selector without a metric name in %q", expr)
			}
			refs.selectors = append(refs.selectors, promqlSelector{metric: name, labels: labels})
			i = end
		}
	}
	return refs, nil
}

// readLabelList reads "a, b)" from toks[i] and returns the labels and the
// index of the closing parenthesis.
func readLabelList(toks []promqlToken, i int) ([]string, int, error) {
	var labels []string
	for ; i < len(toks); i++ {
		tk := toks[i]
		switch {
		case tk.kind == tokenPunct && tk.text == ")":
			return labels, i, nil
		case tk.kind == tokenPunct && tk.text == ",":
		case tk.kind == tokenIdent || tk.kind == tokenString:
			labels = append(labels, tk.text)
		default:
			return nil, 0, fmt.Errorf("unexpected %q in a label list", tk.text)
		}
	}
	return nil, 0, fmt.Errorf("label list without a closing parenthesis")
}

// readMatchers reads `label="value", …}` from toks[i]. It returns the label
// names, the metric name given by __name__ or a quoted name, and the index
// of the closing brace.
func readMatchers(toks []promqlToken, i int) (labels []string, name string, end int, err error) {
	for i < len(toks) {
		tk := toks[i]
		switch {
		case tk.kind == tokenPunct && tk.text == "}":
			return labels, name, i, nil
		case tk.kind == tokenPunct && tk.text == ",":
			i++
		case tk.kind == tokenString && (i+1 >= len(toks) || toks[i+1].kind != tokenPunct || toks[i+1].text == "," || toks[i+1].text == "}"):
			name = tk.text // {"metric.name", …}
			i++
		case tk.kind == tokenIdent || tk.kind == tokenString:
			label := tk.text
			op := ""
			i++
			for i < len(toks) && toks[i].kind == tokenPunct && strings.Contains("=!~", toks[i].text) {
				op += toks[i].text
				i++
			}
			if op == "" || i >= len(toks) || toks[i].kind != tokenString {
				return nil, "", 0, fmt.Errorf("label matcher on %q has no operator and quoted value", label)
			}
			if label == "__name__" {
				if op == "=" {
					name = toks[i].text
				}
			} else {
				labels = append(labels, label)
			}
			i++
		default:
			return nil, "", 0, fmt.Errorf("unexpected %q in label matchers", tk.text)
		}
	}
	return nil, "", 0, fmt.Errorf("label matchers without a closing brace")
}

func TestParsePromQLRefs(t *testing.T) {
	tests := []struct {
		name     string
		expr     string
		want     []promqlSelector
		grouping []string
		byLists  [][]string
	}{
		{
			name: "topk with matcher",
			expr: `topk(10, threat_intel_ip_score{direction="in"})`,
			want: []promqlSelector{{"threat_intel_ip_score", []string{"direction"}}},
		},
		{
			name:     "aggregation by before body",
			expr:     `topk(10, sum by (port, port_service) (threat_intel_port_event_count))`,
			want:     []promqlSelector{{"threat_intel_port_event_count", nil}},
			grouping: []string{"port", "port_service"},
			byLists:  [][]string{{"port", "port_service"}},
		},
		{
			name:     "aggregation by after body",
			expr:     `sum(rate(a_total[5m])) by (job)`,
			want:     []promqlSelector{{"a_total", nil}},
			grouping: []string{"job"},
			byLists:  [][]string{{"job"}},
		},
		{
			name:     "vector matching",
			expr:     `a{x=~"y|z", w!="v"} / on (x) group_left (k) b`,
			want:     []promqlSelector{{"a", []string{"x", "w"}}, {"b", nil}},
			grouping: []string{"x", "k"},
		},
		{
			name: "set operator and function",
			expr: `count(m == 2) or vector(0)`,
			want: []promqlSelector{{"m", nil}},
		},
		{
			name: "name matcher",
			expr: `{__name__="m", job="j"}`,
			want: []promqlSelector{{"m", []string{"job"}}},
		},
		{
			name: "offset and range",
			expr: `max(increase(m_total[1h] offset 1d)) * 1000`,
			want: []promqlSelector{{"m_total", nil}},
		},
		{
			name: "label value that looks like PromQL",
			expr: `m{org="sum by (x) {y} z"}`,
			want: []promqlSelector{{"m", []string{"org"}}},
		},
		{
			name:     "histogram quantile",
			expr:     `histogram_quantile(0.9, sum by (le) (rate(m_bucket[5m])))`,
			want:     []promqlSelector{{"m_bucket", nil}},
			grouping: []string{"le"},
			byLists:  [][]string{{"le"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePromQLRefs(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.selectors, tc.want) {
				t.Errorf("selectors = %v, want %v", got.selectors, tc.want)
			}
			if !reflect.DeepEqual(got.grouping, tc.grouping) {
				t.Errorf("grouping = %v, want %v", got.grouping, tc.grouping)
			}
			if !reflect.DeepEqual(got.byLists, tc.byLists) {
				t.Errorf("byLists = %v, want %v", got.byLists, tc.byLists)
			}
		})
	}
}

func TestParsePromQLRefsRejects(t *testing.T) {
	for name, expr := range map[string]string{
		"unterminated string":   `m{a="b}`,
		"unterminated matchers": `m{a="b"`,
		"matcher without value": `m{a}`,
		"unterminated range":    `rate(m[5m)`,
		"label list unclosed":   `sum by (a m`,
		"selector without name": `{job="j"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if refs, err := parsePromQLRefs(expr); err == nil {
				t.Errorf("parsePromQLRefs(%q) = %+v, want an error", expr, refs)
			}
		})
	}
}

// singleLegendLabel matches a legend that is one label and nothing else.
var singleLegendLabel = regexp.MustCompile(`^\{\{\s*([^}\s]+)\s*\}\}$`)

func TestDashboardSeriesOverridesExist(t *testing.T) {
	// On a Prometheus panel, an override by name matches a series name:
	// a literal legend, or the values of the one label a legend shows. An
	// override for a name no series has does nothing, silently.
	exposed := exposedSeries(t)
	d := loadDashboard(t)
	vars := dashboardVariables(d)

	byPanel := map[int][]queryRef{}
	for _, q := range queriesOf(t, d, typePrometheus) {
		byPanel[q.panel.ID] = append(byPanel[q.panel.ID], q)
	}
	for _, queries := range byPanel {
		p := queries[0].panel
		var overrides []string
		for _, o := range p.FieldConfig.Overrides {
			if name, ok := o.Matcher.Options.(string); ok && o.Matcher.ID == "byName" {
				overrides = append(overrides, name)
			}
		}
		if len(overrides) == 0 {
			continue
		}

		names := map[string]bool{}
		for _, q := range queries {
			legend := q.target.LegendFormat
			if !strings.Contains(legend, "{{") {
				names[legend] = true
				continue
			}
			m := singleLegendLabel.FindStringSubmatch(legend)
			if m == nil {
				t.Fatalf("panel %q: cannot tell which series names legend %q yields, so its overrides cannot be checked", p.Title, legend)
			}
			refs, err := parsePromQLRefs(concreteExpr(t, q, vars))
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			for _, sel := range refs.selectors {
				for v := range exposed[sel.metric][m[1]] {
					names[v] = true
				}
			}
		}
		for _, name := range overrides {
			if !names[name] {
				t.Errorf("panel %q: override for series %q, which no query yields (it yields %v)", p.Title, name, keys(names))
			}
		}
	}
}
