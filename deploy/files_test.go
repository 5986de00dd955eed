package deploy

import (
	"encoding/json"
	"flag"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/threat-intel/threat-intel/internal/config"
	"github.com/threat-intel/threat-intel/internal/version"
)

// composeService is the part of a Compose service the tests read.
type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	EnvFile     any               `yaml:"env_file"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	Command     []string          `yaml:"command"`
	Profiles    []string          `yaml:"profiles"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

type compose struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

func loadCompose(t *testing.T) compose {
	t.Helper()
	var c compose
	readYAML(t, composeFile, &c)
	return c
}

// mountTarget returns where a volume list mounts source ("./x" or a named
// volume).
func mountTarget(volumes []string, source string) (string, bool) {
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[0] == source {
			return parts[1], true
		}
	}
	return "", false
}

// envFilePaths returns the paths of a service's env_file, in any of the
// three forms Compose accepts.
func envFilePaths(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			switch e := e.(type) {
			case string:
				out = append(out, e)
			case map[string]any:
				if p, ok := e["path"].(string); ok {
					out = append(out, p)
				}
			}
		}
		return out
	}
	return nil
}

// pinnedImage matches an image reference with an explicit tag other than
// latest, or a digest.
var pinnedImage = regexp.MustCompile(`^[a-z0-9./_-]+(:[A-Za-z0-9_.-]+|@sha256:[0-9a-f]{64})$`)

func TestComposeFile(t *testing.T) {
	c := loadCompose(t)
	root := repoRoot(t)
	deployDir := filepath.Join(root, "deploy")

	for _, name := range []string{"threat-intel", "redis", "victoriametrics", "loki", "grafana"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("service %q is missing", name)
		}
	}
	for name, s := range c.Services {
		if s.Build == nil && (!pinnedImage.MatchString(s.Image) || strings.HasSuffix(s.Image, ":latest")) {
			t.Errorf("service %q: image %q has no pinned tag", name, s.Image)
		}
		for _, v := range s.Volumes {
			source := strings.Split(v, ":")[0]
			if strings.HasPrefix(source, ".") {
				if _, err := os.Stat(filepath.Join(deployDir, source)); err != nil {
					t.Errorf("service %q mounts %q, which does not exist: %v", name, source, err)
				}
			} else if _, ok := c.Volumes[source]; !ok {
				t.Errorf("service %q uses volume %q, which the file does not declare", name, source)
			}
		}
	}

	ti := c.Services["threat-intel"]
	t.Run("threat-intel", func(t *testing.T) {
		if ti.Build == nil {
			t.Fatal("threat-intel is not built from the repository")
		}
		if filepath.Join(deployDir, ti.Build.Context) != root {
			t.Errorf("build context %q is not the repository root", ti.Build.Context)
		}
		if _, err := os.Stat(filepath.Join(root, ti.Build.Dockerfile)); err != nil {
			t.Errorf("dockerfile %q: %v", ti.Build.Dockerfile, err)
		}
		if !slices.ContainsFunc(envFilePaths(ti.EnvFile), func(p string) bool { return filepath.Join(deployDir, p) == filepath.Join(root, ".env") }) {
			t.Errorf("env_file %v does not read the .env at the repository root, next to .env.example", ti.EnvFile)
		}

		// The environment must be a valid configuration by itself.
		var environ []string
		for k, v := range ti.Environment {
			environ = append(environ, k+"="+v)
		}
		cfg, err := config.Register(flag.NewFlagSet("compose", flag.ContinueOnError)).Load(environ, "")
		if err != nil {
			t.Fatalf("the environment of threat-intel is not a valid configuration: %v", err)
		}
		if target, ok := mountTarget(ti.Volumes, "threat-intel-data"); !ok || target != cfg.DataDir {
			t.Errorf("DATA_DIR %q is not on the volume threat-intel-data (mounted at %q)", cfg.DataDir, target)
		}
		port := listenPort(t, cfg.ListenAddr)
		for _, want := range []string{port + ":" + port, "5514:5514/udp", "5514:5514/tcp"} {
			if !slices.Contains(ti.Ports, want) {
				t.Errorf("ports %v lack %q", ti.Ports, want)
			}
		}
		for _, want := range []string{"udp://0.0.0.0:5514", "tcp://0.0.0.0:5514"} {
			if !strings.Contains(cfg.SyslogListen, want) {
				t.Errorf("SYSLOG_LISTEN %q lacks %s, the published syslog port", cfg.SyslogListen, want)
			}
		}
		if ti.Healthcheck == nil || len(ti.Healthcheck.Test) < 2 || ti.Healthcheck.Test[0] != "CMD" {
			t.Fatalf("healthcheck %+v is not an exec-form CMD", ti.Healthcheck)
		}
		if want := dockerHealthcheck(t); !slices.Equal(ti.Healthcheck.Test[1:], want) {
			t.Errorf("healthcheck runs %v, the image's HEALTHCHECK runs %v", ti.Healthcheck.Test[1:], want)
		}
	})

	t.Run("victoriametrics", func(t *testing.T) {
		vm := c.Services["victoriametrics"]
		target, ok := mountTarget(vm.Volumes, "./victoriametrics/prometheus.yml")
		if !ok {
			t.Fatal("the scrape configuration is not mounted")
		}
		if !slices.Contains(vm.Command, "-promscrape.config="+target) {
			t.Errorf("command %v does not pass -promscrape.config=%s", vm.Command, target)
		}
	})

	t.Run("grafana", func(t *testing.T) {
		g := c.Services["grafana"]
		if !strings.Contains(g.Environment["GF_INSTALL_PLUGINS"], "yesoreyeram-infinity-datasource") {
			t.Errorf("GF_INSTALL_PLUGINS = %q, want the Infinity plugin", g.Environment["GF_INSTALL_PLUGINS"])
		}
		if target, ok := mountTarget(g.Volumes, "./grafana/provisioning"); !ok || target != "/etc/grafana/provisioning" {
			t.Errorf("provisioning is mounted at %q, want /etc/grafana/provisioning", target)
		}
		// The data source reads the token from Grafana's environment.
		for _, ds := range loadDatasources(t).Datasources {
			for _, v := range ds.SecureJSONData {
				for _, m := range regexp.MustCompile(`\$\{(\w+)\}`).FindAllStringSubmatch(v, -1) {
					if _, ok := g.Environment[m[1]]; !ok {
						t.Errorf("data source %q reads $%s, which the grafana service does not set", ds.Name, m[1])
					}
				}
			}
		}
	})
}

func TestScrapeConfig(t *testing.T) {
	var cfg scrapeConfig
	readYAML(t, scrapeFile, &cfg)

	var found bool
	for _, job := range cfg.ScrapeConfigs {
		if job.JobName != "threat-intel" {
			continue
		}
		found = true
		interval := job.ScrapeInterval
		if interval == "" {
			interval = cfg.Global.ScrapeInterval
		}
		if interval != "30s" {
			t.Errorf("scrape interval %q, want 30s", interval)
		}
		if job.MetricsPath != "" && job.MetricsPath != "/metrics" {
			t.Errorf("metrics_path %q, want /metrics", job.MetricsPath)
		}

		// The target is the compose service on the port it listens on.
		ti := loadCompose(t).Services["threat-intel"]
		want := "threat-intel:" + listenPort(t, ti.Environment["LISTEN_ADDR"])
		var targets []string
		for _, sc := range job.StaticConfigs {
			targets = append(targets, sc.Targets...)
			if sc.Labels["service"] != "threat-intel" {
				t.Errorf("static labels %v, want service: threat-intel", sc.Labels)
			}
		}
		if !slices.Contains(targets, want) {
			t.Errorf("targets %v lack %s", targets, want)
		}
	}
	if !found {
		t.Fatal("no scrape job named threat-intel")
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install the Debian package prometheus (scripts/test-services.sh does so as root)")
	}
	if out, err := exec.Command(promtool, "check", "config", filepath.Join(repoRoot(t), scrapeFile)).CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}

func TestDashboardURLHostIsComposeService(t *testing.T) {
	d := loadDashboard(t)
	c := loadCompose(t)
	vars := dashboardVariables(d)
	for _, q := range queriesOf(t, d, typeInfinity) {
		u, err := url.Parse(resolveVariables(q.target.URL, vars))
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		svc, ok := c.Services[u.Hostname()]
		if !ok {
			t.Errorf("%s: host %q is not a compose service", q, u.Hostname())
			continue
		}
		if port := listenPort(t, svc.Environment["LISTEN_ADDR"]); u.Port() != port {
			t.Errorf("%s: port %q, but %s listens on %s", q, u.Port(), u.Hostname(), port)
		}
	}
}

// dockerInstruction is one instruction of a Dockerfile with its
// continuation lines joined.
type dockerInstruction struct {
	keyword string // upper case
	args    string
}

// dockerStages splits the Dockerfile into stages, each starting with FROM.
func dockerStages(t *testing.T) [][]dockerInstruction {
	t.Helper()
	var stages [][]dockerInstruction
	var logical strings.Builder
	flush := func() {
		line := strings.TrimSpace(logical.String())
		logical.Reset()
		if line == "" {
			return
		}
		keyword, args, _ := strings.Cut(line, " ")
		in := dockerInstruction{keyword: strings.ToUpper(keyword), args: strings.TrimSpace(args)}
		if in.keyword == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], in)
		}
	}
	for _, line := range strings.Split(string(readFile(t, "Dockerfile")), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if body, more := strings.CutSuffix(trimmed, `\`); more {
			logical.WriteString(body + " ")
			continue
		}
		logical.WriteString(trimmed)
		flush()
	}
	flush()
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a final stage", len(stages))
	}
	return stages
}

func instructions(stage []dockerInstruction, keyword string) []string {
	var out []string
	for _, in := range stage {
		if in.keyword == keyword {
			out = append(out, in.args)
		}
	}
	return out
}

// execForm decodes a JSON-array instruction argument.
func execForm(t *testing.T, instruction, args string) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal([]byte(args), &out); err != nil || len(out) == 0 {
		t.Fatalf("%s %q is not in exec form (a JSON array): the final image has no shell", instruction, args)
	}
	return out
}

// dockerHealthcheck returns the command of the final stage's HEALTHCHECK.
func dockerHealthcheck(t *testing.T) []string {
	t.Helper()
	stages := dockerStages(t)
	checks := instructions(stages[len(stages)-1], "HEALTHCHECK")
	if len(checks) != 1 {
		t.Fatalf("final stage has %d HEALTHCHECK instructions, want 1", len(checks))
	}
	_, cmd, ok := strings.Cut(checks[0], "CMD ")
	if !ok {
		t.Fatalf("HEALTHCHECK %q has no CMD", checks[0])
	}
	return execForm(t, "HEALTHCHECK CMD", strings.TrimSpace(cmd))
}

func TestDockerfile(t *testing.T) {
	stages := dockerStages(t)
	final := stages[len(stages)-1]
	build := slices.Concat(stages[:len(stages)-1]...)

	from := instructions(final, "FROM")[0]
	if !strings.HasPrefix(from, "gcr.io/distroless/static") && from != "scratch" {
		t.Errorf("final stage FROM %q, want distroless/static or scratch", from)
	}

	users := instructions(final, "USER")
	if len(users) == 0 {
		t.Fatal("final stage has no USER, so the service would run as root")
	}
	user, _, _ := strings.Cut(users[len(users)-1], ":")
	if user == "" || user == "root" || user == "0" {
		t.Errorf("final USER %q is root", users[len(users)-1])
	}

	entry := execForm(t, "ENTRYPOINT", strings.Join(instructions(final, "ENTRYPOINT"), ""))
	if check := dockerHealthcheck(t); check[0] != entry[0] {
		t.Errorf("HEALTHCHECK runs %q, but the binary is %q", check[0], entry[0])
	}

	exposed := strings.Fields(strings.Join(instructions(final, "EXPOSE"), " "))
	for _, want := range []string{"8000/tcp", "5514/udp", "5514/tcp"} {
		if !slices.Contains(exposed, want) {
			t.Errorf("EXPOSE %v lacks %s", exposed, want)
		}
	}
	if !strings.Contains(strings.Join(instructions(final, "VOLUME"), " "), `"/data"`) {
		t.Error(`final stage declares no VOLUME ["/data"]`)
	}
	if !strings.Contains(strings.Join(instructions(final, "ENV"), " "), "DATA_DIR=/data") {
		t.Error("final stage does not set DATA_DIR=/data")
	}

	// The build flags, and the version variable they set: a renamed
	// variable would leave every image reporting "dev".
	_ = version.Version
	run := strings.Join(instructions(build, "RUN"), "\n")
	module := modulePath(t)
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-s -w", "-X " + module + "/internal/version.Version="} {
		if !strings.Contains(run, want) {
			t.Errorf("build stage RUN lacks %q", want)
		}
	}
}

func modulePath(t *testing.T) string {
	t.Helper()
	for _, line := range strings.Split(string(readFile(t, "go.mod")), "\n") {
		if m, ok := strings.CutPrefix(line, "module "); ok {
			return strings.TrimSpace(m)
		}
	}
	t.Fatal("go.mod has no module line")
	return ""
}

// binarySourceDirs returns the top-level directories of the repository
// that hold a package the binary is built from.
func binarySourceDirs(t *testing.T) []string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the go command is not on PATH")
	}
	root := repoRoot(t)
	module := modulePath(t)
	cmd := exec.Command(goCmd, "list", "-deps", "-f", "{{.ImportPath}}", "./cmd/threat-intel")
	cmd.Dir = root
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/threat-intel failed: %v\n%s", err, stderr.String())
	}
	var dirs []string
	for _, pkg := range strings.Fields(string(out)) {
		rel, ok := strings.CutPrefix(pkg, module+"/")
		if !ok {
			continue
		}
		top, _, _ := strings.Cut(rel, "/")
		if !slices.Contains(dirs, top) {
			dirs = append(dirs, top)
		}
	}
	slices.Sort(dirs)
	return dirs
}

func TestDockerfileCopiesEverySourceDir(t *testing.T) {
	stages := dockerStages(t)
	var copied []string
	for _, args := range instructions(slices.Concat(stages[:len(stages)-1]...), "COPY") {
		fields := strings.Fields(args)
		copied = append(copied, fields[:len(fields)-1]...)
	}
	for _, dir := range binarySourceDirs(t) {
		if !slices.Contains(copied, dir) && !slices.Contains(copied, ".") {
			t.Errorf("the binary needs %s/, which the build stage does not COPY (it copies %v)", dir, copied)
		}
	}
}

// dockerIgnored reports whether .dockerignore excludes rel, with Docker's
// rules: patterns are relative to the context root, match a directory and
// everything under it, and the last matching pattern wins, "!" re-including.
func dockerIgnored(patterns []string, rel string) bool {
	ignored := false
	for _, p := range patterns {
		include := strings.HasPrefix(p, "!")
		p = path.Clean(strings.TrimPrefix(strings.TrimPrefix(p, "!"), "/"))
		parts := strings.Split(rel, "/")
		for i := range parts {
			if ok, _ := path.Match(p, strings.Join(parts[:i+1], "/")); ok {
				ignored = !include
				break
			}
		}
	}
	return ignored
}

func TestDockerignore(t *testing.T) {
	var patterns []string
	for _, line := range strings.Split(string(readFile(t, ".dockerignore")), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}

	// Secrets and history never enter the build context.
	for _, secret := range []string{".env", ".env.local", ".git/config"} {
		if !dockerIgnored(patterns, secret) {
			t.Errorf("%s is sent to the Docker build context", secret)
		}
	}
	needed := append([]string{"go.mod", "go.sum"}, binarySourceDirs(t)...)
	needed = append(needed, "internal/ports/catalog.json", "internal/api/openapi.json")
	for _, rel := range needed {
		if dockerIgnored(patterns, rel) {
			t.Errorf("%s is excluded from the build context, but the build needs it", rel)
		}
	}
}

func TestEnvExample(t *testing.T) {
	const file = ".env.example"
	set := regexp.MustCompile(`^([A-Z][A-Z0-9_]*)=(.*)$`)
	commented := regexp.MustCompile(`^#\s?([A-Z][A-Z0-9_]*)=(.*)$`)

	type entry struct {
		value     string
		commented bool
	}
	entries := map[string]entry{}
	for n, line := range strings.Split(string(readFile(t, file)), "\n") {
		var e entry
		m := set.FindStringSubmatch(line)
		if m == nil {
			m = commented.FindStringSubmatch(line)
			e.commented = true
		}
		if m == nil {
			continue
		}
		if _, dup := entries[m[1]]; dup {
			t.Errorf("%s line %d: %s appears twice", file, n+1, m[1])
		}
		e.value = m[2]
		entries[m[1]] = e
	}

	known := map[string]bool{}
	for _, v := range config.Variables() {
		known[v.Env] = true
		e, ok := entries[v.Env]
		switch {
		case !ok:
			t.Errorf("%s lacks %s", file, v.Env)
		case v.Secret && !e.commented:
			t.Errorf("%s sets the secret %s; leave it commented out", file, v.Env)
		case v.Default == "" && !e.commented:
			t.Errorf("%s sets %s, which has no default; comment it out", file, v.Env)
		case v.Default != "" && !v.Secret && e.commented:
			t.Errorf("%s comments out %s; set it to its default %q", file, v.Env, v.Default)
		case v.Default != "" && !v.Secret && unquote(e.value) != v.Default:
			t.Errorf("%s sets %s=%s, but its default is %q", file, v.Env, e.value, v.Default)
		}
	}
	for name := range entries {
		if !known[name] {
			t.Errorf("%s names %s, which is not a setting", file, name)
		}
	}

	// threat-intel accepts the file, unchanged, as its .env.
	if _, err := config.Register(flag.NewFlagSet("env", flag.ContinueOnError)).Load(nil, filepath.Join(repoRoot(t), file)); err != nil {
		t.Errorf("threat-intel rejects %s: %v", file, err)
	}
}

// unquote removes one pair of matching single or double quotes.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

func TestSystemdUnit(t *testing.T) {
	const file = "deploy/systemd/threat-intel.service"
	sections := map[string]map[string][]string{}
	var current string
	for _, line := range strings.Split(string(readFile(t, file)), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			current = strings.Trim(line, "[]")
			sections[current] = map[string][]string{}
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok || current == "" {
				t.Fatalf("%s: invalid line %q", file, line)
			}
			sections[current][key] = append(sections[current][key], value)
		}
	}
	svc := sections["Service"]
	last := func(key string) string {
		v := svc[key]
		if len(v) == 0 {
			return ""
		}
		return v[len(v)-1]
	}

	if !strings.HasSuffix(last("ExecStart"), "/threat-intel serve") {
		t.Errorf("ExecStart = %q, want the serve command", last("ExecStart"))
	}
	if !slices.Contains(svc["EnvironmentFile"], "/etc/threat-intel/env") {
		t.Errorf("EnvironmentFile = %v, want /etc/threat-intel/env", svc["EnvironmentFile"])
	}
	if last("DynamicUser") != "yes" && (last("User") == "" || last("User") == "root") {
		t.Error("the unit runs as root: set DynamicUser=yes or a dedicated User")
	}
	for key, want := range map[string]string{
		"StateDirectory":        "threat-intel",
		"ProtectSystem":         "strict",
		"NoNewPrivileges":       "yes",
		"Restart":               "on-failure",
		"CapabilityBoundingSet": "",
		"AmbientCapabilities":   "",
	} {
		if got := last(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if len(sections["Install"]["WantedBy"]) == 0 {
		t.Error("no WantedBy: systemctl enable would do nothing")
	}

	// The environment lines must be a valid configuration that keeps state
	// in the state directory and listens on an unprivileged port, which
	// needs no capability.
	var environ []string
	for _, e := range svc["Environment"] {
		environ = append(environ, strings.Fields(e)...)
	}
	cfg, err := config.Register(flag.NewFlagSet("systemd", flag.ContinueOnError)).Load(environ, "")
	if err != nil {
		t.Fatalf("Environment= lines are not a valid configuration: %v", err)
	}
	if want := "/var/lib/" + last("StateDirectory"); cfg.DataDir != want {
		t.Errorf("DATA_DIR = %q, want the state directory %s", cfg.DataDir, want)
	}
	port, err := strconv.Atoi(listenPort(t, cfg.ListenAddr))
	if err != nil || port < 1024 {
		t.Errorf("LISTEN_ADDR %q is not an unprivileged port, but the unit grants no capability", cfg.ListenAddr)
	}
}
