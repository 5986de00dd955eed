package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// load parses args as flags of a fresh FlagSet, then resolves the settings.
func load(t *testing.T, args, environ []string, dotenv string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := Register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	path := ""
	if dotenv != "" {
		path = filepath.Join(t.TempDir(), ".env")
		if err := os.WriteFile(path, []byte(dotenv), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f.Load(environ, path)
}

func TestLoadDefaults(t *testing.T) {
	c, err := load(t, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"LOOKBACK_HOURS", c.LookbackHours, 1},
		{"TOP_BLOCKED_IPS", c.TopBlockedIPs, 50},
		{"TOP_OUTBOUND_IPS", c.TopOutboundIPs, 20},
		{"CACHE_TTL_SECONDS", c.CacheTTL, 24 * time.Hour},
		{"ABUSEIPDB_DAILY_BUDGET", c.AbuseIPDBDailyBudget, 900},
		{"BAD_ACTOR_MIN_SCORE", c.BadActorMinScore, 25.0},
		{"LOG_FORMAT", c.LogFormat, "text"},
		{"ABUSEIPDB_BASE_URL", c.AbuseIPDBBaseURL, "https://api.abuseipdb.com"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	if c.DataDir == "" {
		t.Error("DATA_DIR default is empty")
	}
}

func TestLoadPrecedence(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		environ []string
		dotenv  string
		want    int
	}{
		{name: "dotenv over default", dotenv: "LOOKBACK_HOURS=2\n", want: 2},
		{name: "environment over dotenv", dotenv: "LOOKBACK_HOURS=2\n", environ: []string{"LOOKBACK_HOURS=3"}, want: 3},
		{name: "flag over environment", args: []string{"--lookback-hours", "4"}, environ: []string{"LOOKBACK_HOURS=3"}, want: 4},
		{name: "quoted dotenv value", dotenv: "export LOOKBACK_HOURS=\"5\"\n", want: 5},
		{name: "dotenv inline comment", dotenv: "# window\nLOOKBACK_HOURS=6 # hours\n", want: 6},
		{name: "quoted value then comment", dotenv: "LOOKBACK_HOURS=\"7\" # hours\n", want: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.args, tt.environ, tt.dotenv)
			if err != nil {
				t.Fatal(err)
			}
			if c.LookbackHours != tt.want {
				t.Errorf("LookbackHours = %d, want %d", c.LookbackHours, tt.want)
			}
		})
	}
}

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		dotenv  string
		want    []string // substrings of the error
	}{
		{name: "lookback zero", environ: []string{"LOOKBACK_HOURS=0"}, want: []string{`invalid LOOKBACK_HOURS "0"`, "from 1 to 720"}},
		{name: "lookback not a number", environ: []string{"LOOKBACK_HOURS=one"}, want: []string{`"one"`, "whole number"}},
		{name: "bad base URL", environ: []string{"OTX_BASE_URL=otx.example"}, want: []string{"OTX_BASE_URL", "absolute http or https URL"}},
		{name: "bad log format", environ: []string{"LOG_FORMAT=xml"}, want: []string{"LOG_FORMAT", "text, json"}},
		{name: "bad time zone", environ: []string{"TZ=Mars/Olympus"}, want: []string{"TZ", "IANA time zone"}},
		{name: "bad own prefix", environ: []string{"OWN_PREFIXES=203.0.113.0/33"}, want: []string{"OWN_PREFIXES", "CIDR"}},
		{name: "bad rate", environ: []string{"GREYNOISE_RATE_PER_MINUTE=0"}, want: []string{"GREYNOISE_RATE_PER_MINUTE", "per minute"}},
		{name: "two errors at once", environ: []string{"TOP_BLOCKED_IPS=-1", "LOG_LEVEL=loud"}, want: []string{"TOP_BLOCKED_IPS", "LOG_LEVEL"}},
		{name: "origin named", dotenv: "TOP_PORTS=x\n", want: []string{"TOP_PORTS", ".env"}},
		{name: "malformed dotenv line", dotenv: "LOOKBACK_HOURS\n", want: []string{"line 1", "KEY=VALUE"}},
		{name: "unterminated quote", dotenv: "LOOKBACK_HOURS=\"2\n", want: []string{"line 1", "unterminated quote"}},
		{name: "text after quoted value", dotenv: "LOOKBACK_HOURS=\"2\" 3\n", want: []string{"line 1", "after the quoted value"}},
		{name: "zero top ports", environ: []string{"TOP_PORTS=0"}, want: []string{"TOP_PORTS", "from 1 to 1000"}},
		{name: "bad redis url", environ: []string{"REDIS_URL=http://user:hunter2@redis:6379"}, want: []string{"REDIS_URL", "(value hidden)", "redis://"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, nil, tt.environ, tt.dotenv)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows a secret", err)
			}
		})
	}
}

func TestHelpHidesNothingButSecrets(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	Register(fs)
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	for _, s := range settings {
		if !strings.Contains(b.String(), "env "+s.env) {
			t.Errorf("help does not name %s", s.env)
		}
	}
}

func TestSecretsCollected(t *testing.T) {
	c, err := load(t, []string{"--otx-api-key", "otx-secret"}, []string{"IPINFO_TOKEN=tok"}, "")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(c.Secrets(), ",")
	if got != "otx-secret,tok" {
		t.Errorf("Secrets() = %q", got)
	}
}
