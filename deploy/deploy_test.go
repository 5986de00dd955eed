// Package deploy holds the files that run threat-intel outside `go run`: the
// Grafana dashboard and its provisioning, the VictoriaMetrics scrape
// configuration, Docker Compose, the systemd unit, and, at the repository
// root, the Dockerfile and .env.example. The package has only tests. They
// check that every dashboard panel reads data the service really serves,
// and that the deployment files agree with the code and with each other.
package deploy

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v4"

	"github.com/threat-intel/threat-intel/internal/api"
)

// Paths relative to the repository root.
const (
	dashboardFile   = "deploy/grafana/dashboards/threat-intelligence.json"
	datasourcesFile = "deploy/grafana/provisioning/datasources/datasources.yaml"
	providersFile   = "deploy/grafana/provisioning/dashboards/dashboards.yaml"
	scrapeFile      = "deploy/victoriametrics/prometheus.yml"
	composeFile     = "deploy/docker-compose.yml"
	goldenDir       = "internal/api/testdata/golden"
)

// Data source plugin types the dashboard uses.
const (
	typePrometheus = "prometheus"
	typeInfinity   = "yesoreyeram-infinity-datasource"
)

// repoRoot returns the directory that holds go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's working directory")
		}
		dir = parent
	}
}

func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatalf("reading %s: %v", rel, err)
	}
	return data
}

func readYAML(t *testing.T, rel string, v any) {
	t.Helper()
	if err := yaml.Unmarshal(readFile(t, rel), v); err != nil {
		t.Fatalf("%s is not valid YAML: %v", rel, err)
	}
}

// The parts of Grafana's dashboard JSON model that the tests read.
type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []templateVariable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type templateVariable struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Query   string `json:"query"`
	Current struct {
		Value any `json:"value"`
	} `json:"current"`
}

type panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Datasource  *datasourceRef `json:"datasource"`
	Targets     []target       `json:"targets"`
	Panels      []panel        `json:"panels"` // panels of a collapsed row
	FieldConfig struct {
		Overrides []struct {
			Matcher struct {
				ID      string `json:"id"`
				Options any    `json:"options"`
			} `json:"matcher"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
	Options struct {
		ReduceOptions *struct {
			Fields string `json:"fields"`
		} `json:"reduceOptions"`
		SortBy []struct {
			DisplayName string `json:"displayName"`
		} `json:"sortBy"`
	} `json:"options"`
	Transformations []struct {
		ID      string          `json:"id"`
		Options json.RawMessage `json:"options"`
	} `json:"transformations"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// target is a query of either data source: the Infinity fields or the
// Prometheus ones are empty.
type target struct {
	RefID      string         `json:"refId"`
	Datasource *datasourceRef `json:"datasource"`

	Type         string           `json:"type"`
	Source       string           `json:"source"`
	Parser       string           `json:"parser"`
	URL          string           `json:"url"`
	RootSelector *string          `json:"root_selector"`
	Columns      []infinityColumn `json:"columns"`

	Expr         string `json:"expr"`
	LegendFormat string `json:"legendFormat"`
}

type infinityColumn struct {
	Selector string `json:"selector"`
	Text     string `json:"text"`
	Type     string `json:"type"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(readFile(t, dashboardFile), &d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	if len(d.Panels) == 0 {
		t.Fatalf("%s has no panels", dashboardFile)
	}
	return d
}

// allPanels returns every panel that is not a row, including those inside
// collapsed rows.
func allPanels(d dashboard) []panel {
	var out []panel
	for _, p := range d.Panels {
		if p.Type != "row" {
			out = append(out, p)
		}
		out = append(out, p.Panels...)
	}
	return out
}

// datasourceOf returns the data source a target queries: its own, or else
// its panel's.
func datasourceOf(p panel, tg target) *datasourceRef {
	if tg.Datasource != nil {
		return tg.Datasource
	}
	return p.Datasource
}

// queryRef names one target in test output.
type queryRef struct {
	panel  panel
	target target
}

func (q queryRef) String() string {
	return q.panel.Title + "/" + q.target.RefID
}

// queriesOf returns the targets of the dashboard that query the given data
// source type according to the provisioning file.
func queriesOf(t *testing.T, d dashboard, dsType string) []queryRef {
	t.Helper()
	types := provisionedTypes(t)
	var out []queryRef
	for _, p := range allPanels(d) {
		for _, tg := range p.Targets {
			ds := datasourceOf(p, tg)
			if ds != nil && types[ds.UID] == dsType {
				out = append(out, queryRef{panel: p, target: tg})
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("the dashboard has no %s queries", dsType)
	}
	return out
}

// provisionedDatasources is the Grafana data source provisioning file.
type provisionedDatasources struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name           string            `yaml:"name"`
		UID            string            `yaml:"uid"`
		Type           string            `yaml:"type"`
		URL            string            `yaml:"url"`
		JSONData       map[string]any    `yaml:"jsonData"`
		SecureJSONData map[string]string `yaml:"secureJsonData"`
	} `yaml:"datasources"`
}

func loadDatasources(t *testing.T) provisionedDatasources {
	t.Helper()
	var p provisionedDatasources
	readYAML(t, datasourcesFile, &p)
	return p
}

// provisionedTypes maps each provisioned data source UID to its type.
func provisionedTypes(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, ds := range loadDatasources(t).Datasources {
		out[ds.UID] = ds.Type
	}
	return out
}

// dashboardVariables returns the values of the dashboard's constant,
// custom and text box variables.
func dashboardVariables(d dashboard) map[string]string {
	out := map[string]string{}
	for _, v := range d.Templating.List {
		switch v.Type {
		case "constant":
			out[v.Name] = v.Query
		case "custom", "textbox":
			if s, ok := v.Current.Value.(string); ok {
				out[v.Name] = s
			}
		}
	}
	return out
}

// resolveVariables replaces ${name}, $name and [[name]] with the variable's
// value, longest names first so that $url does not eat $url_path.
func resolveVariables(s string, vars map[string]string) string {
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, name := range names {
		v := vars[name]
		s = strings.ReplaceAll(s, "${"+name+"}", v)
		s = strings.ReplaceAll(s, "[["+name+"]]", v)
		s = strings.ReplaceAll(s, "$"+name, v)
	}
	return s
}

func TestDashboardIdentity(t *testing.T) {
	d := loadDashboard(t)
	if d.UID != "threat-intelligence-v1" {
		t.Errorf("uid = %q, want threat-intelligence-v1: links and bookmarks use it", d.UID)
	}
	if d.Title != "Threat Intelligence" {
		t.Errorf("title = %q, want Threat Intelligence", d.Title)
	}

	seen := map[int]string{}
	for _, p := range d.Panels {
		for _, q := range append([]panel{p}, p.Panels...) {
			if other, ok := seen[q.ID]; ok {
				t.Errorf("panels %q and %q share id %d", other, q.Title, q.ID)
			}
			seen[q.ID] = q.Title
		}
	}

	for _, p := range allPanels(d) {
		if p.Type != "text" && len(p.Targets) == 0 {
			t.Errorf("panel %q runs no query, so it can only show No data", p.Title)
		}
	}
}

func TestDashboardTextPanelsHaveNoTargets(t *testing.T) {
	// Grafana never runs the targets of a text panel: dynamic text needs a
	// table panel.
	for _, p := range allPanels(loadDashboard(t)) {
		if p.Type == "text" && len(p.Targets) > 0 {
			t.Errorf("text panel %q has %d targets, which Grafana never runs; use a table panel", p.Title, len(p.Targets))
		}
	}
}

func TestDashboardDatasourcesAreProvisioned(t *testing.T) {
	types := provisionedTypes(t)
	check := func(where string, ds *datasourceRef) {
		t.Helper()
		if ds == nil {
			t.Errorf("%s names no data source, so it would query whichever is the default", where)
			return
		}
		provisioned, ok := types[ds.UID]
		if !ok {
			t.Errorf("%s uses data source UID %q, which %s does not define", where, ds.UID, datasourcesFile)
			return
		}
		if ds.Type != "" && ds.Type != provisioned {
			t.Errorf("%s gives data source %q type %q, but it is provisioned as %q", where, ds.UID, ds.Type, provisioned)
		}
	}

	for _, p := range allPanels(loadDashboard(t)) {
		if p.Datasource != nil {
			check("panel "+p.Title, p.Datasource)
		}
		for _, tg := range p.Targets {
			check("query "+p.Title+"/"+tg.RefID, datasourceOf(p, tg))
		}
	}
}

// goldenRows returns the rows of the golden response of an API path, the
// body the API test pins for that route.
func goldenRows(t *testing.T, path string) []map[string]any {
	t.Helper()
	// The API test names a golden file after the request path with its
	// slashes turned into underscores.
	name := strings.ReplaceAll(strings.TrimPrefix(path, "/"), "/", "_") + ".json"
	data := readFile(t, filepath.Join(goldenDir, name))
	var rows []map[string]any
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatalf("golden response %s is not an array of objects: %v", name, err)
	}
	if len(rows) == 0 {
		t.Fatalf("golden response %s has no rows, so its columns cannot be checked", name)
	}
	return rows
}

// columnTypeFits reports whether a JSON value of a golden row fits the
// Infinity column type.
func columnTypeFits(columnType string, v any) bool {
	switch columnType {
	case "number":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string", "":
		_, ok := v.(string)
		return ok
	case "timestamp":
		_, ok := v.(string)
		return ok
	case "timestamp_epoch", "timestamp_epoch_s":
		_, ok := v.(float64)
		return ok
	}
	return false
}

func TestDashboardInfinityTargets(t *testing.T) {
	d := loadDashboard(t)
	vars := dashboardVariables(d)
	routes := api.New(api.Options{}).Routes()

	for _, q := range queriesOf(t, d, typeInfinity) {
		t.Run(q.String(), func(t *testing.T) {
			tg := q.target
			// The back-end parser is what reads the rows server-side; the
			// reference service's panels relied on it.
			if tg.Type != "json" || tg.Source != "url" || tg.Parser != "backend" {
				t.Errorf("type/source/parser = %q/%q/%q, want json/url/backend", tg.Type, tg.Source, tg.Parser)
			}
			if tg.RootSelector == nil || *tg.RootSelector != "" {
				t.Errorf("root_selector must be present and empty: every route returns a top-level array")
			}

			resolved := resolveVariables(tg.URL, vars)
			if strings.Contains(resolved, "$") || strings.Contains(resolved, "[[") {
				t.Fatalf("url %q still has an unresolved variable after substitution: %q", tg.URL, resolved)
			}
			u, err := url.Parse(resolved)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				t.Fatalf("url %q resolves to %q, which is not absolute; Infinity's back end needs absolute URLs", tg.URL, resolved)
			}
			if !slices.Contains(routes, u.Path) {
				t.Fatalf("url path %q is not a route of the service (%v)", u.Path, routes)
			}
			if !strings.HasPrefix(u.Path, "/api/infinity/") {
				t.Fatalf("url path %q is not an /api/infinity/ route, whose rows are flat", u.Path)
			}

			if len(tg.Columns) == 0 {
				t.Fatal("no columns: Infinity would guess names and types from the first row")
			}
			rows := goldenRows(t, u.Path)
			for _, c := range tg.Columns {
				for i, row := range rows {
					v, ok := row[c.Selector]
					if !ok {
						t.Errorf("column selector %q is not a top-level key of row %d of %s", c.Selector, i, u.Path)
						continue
					}
					if !columnTypeFits(c.Type, v) {
						t.Errorf("column %q has type %q, but %s row %d holds %T %v", c.Selector, c.Type, u.Path, i, v, v)
					}
				}
				if c.Text == "" {
					t.Errorf("column %q has no text; Infinity names the field after the text", c.Selector)
				}
			}
		})
	}
}

func TestDashboardInfinityURLsMatchDatasource(t *testing.T) {
	d := loadDashboard(t)
	vars := dashboardVariables(d)

	var infinityURL string
	var allowed []string
	for _, ds := range loadDatasources(t).Datasources {
		if ds.Type != typeInfinity {
			continue
		}
		infinityURL = ds.URL
		hosts, _ := ds.JSONData["allowedHosts"].([]any)
		for _, h := range hosts {
			if s, ok := h.(string); ok {
				allowed = append(allowed, s)
			}
		}
	}
	if infinityURL == "" {
		t.Fatalf("%s defines no Infinity data source with a URL", datasourcesFile)
	}

	for _, q := range queriesOf(t, d, typeInfinity) {
		resolved := resolveVariables(q.target.URL, vars)
		// Infinity prepends the data source URL to any query URL that does
		// not start with it, which would break an absolute URL.
		if !strings.HasPrefix(resolved, infinityURL+"/") {
			t.Errorf("%s: url %q does not start with the data source URL %q", q, resolved, infinityURL)
		}
		if !slices.ContainsFunc(allowed, func(h string) bool { return strings.HasPrefix(resolved, h) }) {
			t.Errorf("%s: url %q is outside the data source's allowedHosts %v", q, resolved, allowed)
		}
	}
}

// fieldRegexp turns a Grafana field matcher such as "/^max_score$/" into a
// regular expression; a plain name matches itself.
func fieldRegexp(t *testing.T, s string) *regexp.Regexp {
	t.Helper()
	expr := "^" + regexp.QuoteMeta(s) + "$"
	if len(s) >= 2 && strings.HasPrefix(s, "/") && strings.HasSuffix(s, "/") {
		expr = s[1 : len(s)-1]
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		t.Fatalf("field matcher %q is not a valid regular expression: %v", s, err)
	}
	return re
}

func TestDashboardStatPanelsUseSelectorAsText(t *testing.T) {
	// Infinity names a data frame field after the column's text, and a stat
	// panel's field matcher selects by that name: a text that differs from
	// the selector once left every stat panel at No data.
	d := loadDashboard(t)
	checked := 0
	for _, q := range queriesOf(t, d, typeInfinity) {
		switch q.panel.Type {
		case "stat", "gauge", "bargauge":
		default:
			continue
		}
		checked++
		for _, c := range q.target.Columns {
			if c.Text != c.Selector {
				t.Errorf("%s: column text %q differs from selector %q", q, c.Text, c.Selector)
			}
		}
		ro := q.panel.Options.ReduceOptions
		if ro == nil || ro.Fields == "" {
			t.Errorf("%s: reduceOptions.fields is empty, so a stat shows only numeric fields; name the column", q)
			continue
		}
		re := fieldRegexp(t, ro.Fields)
		if !slices.ContainsFunc(q.target.Columns, func(c infinityColumn) bool { return re.MatchString(c.Text) }) {
			t.Errorf("%s: reduceOptions.fields %q matches no column text", q, ro.Fields)
		}
	}
	if checked == 0 {
		t.Fatal("no stat panel reads an Infinity route")
	}
}

func TestDashboardFieldReferencesExist(t *testing.T) {
	// An override, sort or filter that names a field no query returns does
	// nothing, silently. On Infinity panels the field names are the column
	// texts.
	d := loadDashboard(t)
	types := provisionedTypes(t)
	for _, p := range allPanels(d) {
		if p.Datasource == nil || types[p.Datasource.UID] != typeInfinity {
			continue
		}
		fields := map[string]bool{}
		for _, tg := range p.Targets {
			for _, c := range tg.Columns {
				fields[c.Text] = true
			}
		}

		for _, o := range p.FieldConfig.Overrides {
			if o.Matcher.ID != "byName" {
				continue
			}
			name, _ := o.Matcher.Options.(string)
			if !fields[name] {
				t.Errorf("panel %q: override for field %q, which no query returns", p.Title, name)
			}
		}
		for _, s := range p.Options.SortBy {
			if !fields[s.DisplayName] {
				t.Errorf("panel %q: sorted by field %q, which no query returns", p.Title, s.DisplayName)
			}
		}
		for _, tr := range p.Transformations {
			if tr.ID != "filterByValue" {
				continue
			}
			var opts struct {
				Filters []struct {
					FieldName string `json:"fieldName"`
				} `json:"filters"`
			}
			if err := json.Unmarshal(tr.Options, &opts); err != nil {
				t.Fatalf("panel %q: filterByValue options: %v", p.Title, err)
			}
			for _, f := range opts.Filters {
				if !fields[f.FieldName] {
					t.Errorf("panel %q: filter on field %q, which no query returns", p.Title, f.FieldName)
				}
			}
		}
	}
}

func TestDatasourceProvisioning(t *testing.T) {
	p := loadDatasources(t)
	if p.APIVersion != 1 {
		t.Errorf("apiVersion = %d, want 1", p.APIVersion)
	}

	byUID := map[string]int{}
	for i, ds := range p.Datasources {
		if ds.UID == "" {
			t.Errorf("data source %q has no uid; Grafana would generate one the dashboard cannot know", ds.Name)
		}
		if _, dup := byUID[ds.UID]; dup {
			t.Errorf("uid %q is defined twice", ds.UID)
		}
		byUID[ds.UID] = i
	}

	vm, ok := byUID["victoriametrics"]
	if !ok {
		t.Fatal(`no data source with uid "victoriametrics"`)
	}
	if ds := p.Datasources[vm]; ds.Type != typePrometheus || ds.URL != "http://victoriametrics:8428" {
		t.Errorf("victoriametrics: type %q url %q, want %s http://victoriametrics:8428", ds.Type, ds.URL, typePrometheus)
	}

	ti, ok := byUID["threat-intel"]
	if !ok {
		t.Fatal(`no data source with uid "threat-intel"`)
	}
	ds := p.Datasources[ti]
	if ds.Type != typeInfinity {
		t.Errorf("threat-intel: type %q, want %s", ds.Type, typeInfinity)
	}
	u, err := url.Parse(ds.URL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		t.Errorf("threat-intel: url %q is not absolute", ds.URL)
	}
	hosts, _ := ds.JSONData["allowedHosts"].([]any)
	if !slices.Contains(hosts, any(ds.URL)) {
		t.Errorf("threat-intel: allowedHosts %v does not contain the data source URL %q", hosts, ds.URL)
	}
	if ds.JSONData["httpHeaderName1"] != "Authorization" {
		t.Errorf("threat-intel: httpHeaderName1 = %v, want Authorization for API_TOKEN", ds.JSONData["httpHeaderName1"])
	}
	if v := ds.SecureJSONData["httpHeaderValue1"]; !strings.HasPrefix(v, "Bearer ${") {
		t.Errorf("threat-intel: httpHeaderValue1 = %q, want Bearer and an environment variable, never a literal token", v)
	}
}

func TestDashboardProvider(t *testing.T) {
	var p struct {
		Providers []struct {
			Folder  string `yaml:"folder"`
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, providersFile, &p)
	if len(p.Providers) != 1 {
		t.Fatalf("%d dashboard providers, want 1", len(p.Providers))
	}
	prov := p.Providers[0]
	if prov.Folder != "Threat Intelligence" || prov.Type != "file" {
		t.Errorf("provider folder %q type %q, want Threat Intelligence and file", prov.Folder, prov.Type)
	}

	// Compose must mount the dashboards folder where the provider looks.
	grafana := loadCompose(t).Services["grafana"]
	target, ok := mountTarget(grafana.Volumes, "./grafana/dashboards")
	if !ok {
		t.Fatalf("%s does not mount ./grafana/dashboards into grafana", composeFile)
	}
	if target != prov.Options.Path {
		t.Errorf("dashboards are mounted at %q, but the provider reads %q", target, prov.Options.Path)
	}
}
