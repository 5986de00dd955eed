package config

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Flags holds the setting flags registered on one command's FlagSet.
type Flags struct {
	set map[string]string // flag values given on the command line, by env name
}

// Register adds a flag for every setting to fs. Each flag's usage names
// its variable and default, so --help documents the whole configuration.
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{set: map[string]string{}}
	for _, s := range settings {
		usage := s.help + " (env " + s.env
		if s.def != "" && !s.secret {
			usage += ", default " + s.def
		}
		usage += ")"
		fs.Func(s.flag, usage, func(v string) error {
			f.set[s.env] = v
			return nil
		})
	}
	return f
}

// Load resolves every setting from its default, the .env file at dotenvPath
// (skipped when empty or missing), environ (os.Environ form) and the flags
// parsed so far, and checks each value. All invalid values are reported
// together, one line each.
func (f *Flags) Load(environ []string, dotenvPath string) (*Config, error) {
	dotenv, err := readDotEnv(dotenvPath)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}

	c := &Config{}
	var errs []error
	for _, s := range settings {
		v, origin := s.def, "default"
		if dv, ok := dotenv[s.env]; ok {
			v, origin = dv, dotenvPath
		}
		if ev, ok := env[s.env]; ok {
			v, origin = ev, "environment"
		}
		if fv, ok := f.set[s.env]; ok {
			v, origin = fv, "flag --"+s.flag
		}
		if err := s.apply(c, v); err != nil {
			shown := fmt.Sprintf("%q", v)
			if s.secret {
				shown = "(value hidden)"
			}
			errs = append(errs, fmt.Errorf("invalid %s %s (from %s): %w", s.env, shown, origin, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// readDotEnv reads KEY=VALUE lines. Blank lines and lines starting with #
// are ignored, an "export " prefix is allowed, and a value may be quoted
// with single or double quotes. An unquoted value ends at " #".
func readDotEnv(path string) (map[string]string, error) {
	out := map[string]string{}
	if path == "" {
		return out, nil
	}
	file, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer file.Close()

	sc := bufio.NewScanner(file)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, val, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("%s line %d: invalid line; want KEY=VALUE", path, n)
		}
		val = strings.TrimSpace(val)
		switch {
		case strings.HasPrefix(val, "\"") || strings.HasPrefix(val, "'"):
			end := strings.IndexByte(val[1:], val[0])
			if end < 0 {
				return nil, fmt.Errorf("%s line %d: unterminated quote in the value of %s", path, n, key)
			}
			rest := strings.TrimSpace(val[end+2:])
			if rest != "" && !strings.HasPrefix(rest, "#") {
				return nil, fmt.Errorf("%s line %d: unexpected text after the quoted value of %s: %q", path, n, key, rest)
			}
			val = val[1 : end+1]
		default:
			if i := strings.Index(val, " #"); i >= 0 {
				val = strings.TrimSpace(val[:i])
			}
		}
		out[key] = val
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return out, nil
}

// Secrets returns the secret values that are set, so callers can check that
// none of them leaks into output.
func (c *Config) Secrets() []string {
	var out []string
	for _, s := range []string{c.AbuseIPDBAPIKey, c.GreyNoiseAPIKey, c.OTXAPIKey, c.IPinfoToken,
		c.AnthropicAPIKey, c.OpenAIAPIKey, c.APIToken} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Variable describes one setting for documentation and checks.
type Variable struct {
	Env     string // environment variable
	Flag    string // command-line flag, without dashes
	Default string // "" when the setting has no default
	Help    string
	Secret  bool
}

// Variables lists every setting in --help order.
func Variables() []Variable {
	out := make([]Variable, len(settings))
	for i, s := range settings {
		out[i] = Variable{Env: s.env, Flag: s.flag, Default: s.def, Help: s.help, Secret: s.secret}
	}
	return out
}
