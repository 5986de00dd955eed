package feeds

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Kind is the meaning of an address being on a feed's list.
type Kind uint8

const (
	// Malicious feeds list attackers: an address on one is a bad actor and
	// gains points in the composite score.
	Malicious Kind = iota
	// Info feeds only tag an address, for example as a Tor exit.
	Info
)

func (k Kind) String() string {
	switch k {
	case Malicious:
		return "malicious"
	case Info:
		return "info"
	}
	return fmt.Sprintf("kind(%d)", k)
}

// MarshalText encodes the kind as its name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// ParseKind returns the kind named s: "malicious" or "info".
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "malicious":
		return Malicious, nil
	case "info":
		return Info, nil
	}
	return 0, fmt.Errorf("unknown kind %q: want malicious or info", s)
}

const (
	// MaxFeeds is the number of feeds a Manager holds: one bit each in a
	// 64-bit set.
	MaxFeeds = 64
	// DefaultURLRefresh and DefaultFileRefresh are the refresh intervals
	// when an entry sets none.
	DefaultURLRefresh  = 6 * time.Hour
	DefaultFileRefresh = 5 * time.Minute
	// MinURLRefresh keeps downloads polite. The Spamhaus DROP FAQ
	// (https://www.spamhaus.com/faqs/drop) requires automated downloads to
	// be at least one hour apart, so set refresh=1h or more for Spamhaus.
	MinURLRefresh = 15 * time.Minute
	// MinFileRefresh bounds how often a file's size and time are checked.
	MinFileRefresh = 10 * time.Second
	maxNameLen     = 64
)

// Config is one configured feed.
type Config struct {
	// Name identifies the feed in reports, metrics and logs: letters,
	// digits, '.', '_' and '-', at most 64 characters.
	Name string
	// Location is an http or https URL, or a file path.
	Location string
	Kind     Kind
	// Refresh is how often the feed is fetched again.
	Refresh time.Duration
	Format  Format
}

// IsURL reports whether the feed is fetched over HTTP.
func (c Config) IsURL() bool { return strings.Contains(c.Location, "://") }

// ParseConfig parses a FEEDS value: feeds separated by newlines or commas,
// each written as
//
//	name=location;option=value;...
//
// Blank lines and lines that start with '#' are ignored. The package
// documentation describes the options. Errors name the feed by position
// and name, and the field at fault.
func ParseConfig(s string) ([]Config, error) {
	var configs []Config
	seen := map[string]int{}
	position := 0
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for item := range strings.SplitSeq(line, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			position++
			c, err := parseEntryConfig(item)
			if err != nil && c.Name != "" {
				return nil, fmt.Errorf("feed %d (%s): %w", position, c.Name, err)
			}
			if err != nil {
				return nil, fmt.Errorf("feed %d: %w", position, err)
			}
			if first, dup := seen[c.Name]; dup {
				return nil, fmt.Errorf("feed %d (%s): name is already used by feed %d: give each feed its own name", position, c.Name, first)
			}
			seen[c.Name] = position
			configs = append(configs, c)
		}
	}
	if len(configs) > MaxFeeds {
		return nil, fmt.Errorf("%d feeds configured: at most %d are supported", len(configs), MaxFeeds)
	}
	return configs, nil
}

// parseEntryConfig parses one "name=location;option=value" entry. On error
// the returned Config holds the name when it is valid, for the message.
func parseEntryConfig(item string) (Config, error) {
	fields := strings.Split(item, ";")
	name, location, found := strings.Cut(fields[0], "=")
	name, location = strings.TrimSpace(name), strings.TrimSpace(location)
	if !found {
		return Config{}, fmt.Errorf("%q: want name=URL or name=path, such as drop=https://www.spamhaus.org/drop/drop_v4.json", redactLocation(fields[0]))
	}
	if err := validateName(name); err != nil {
		return Config{}, err
	}
	c := Config{Name: name, Location: location, Kind: Malicious}

	set := map[string]bool{}
	for _, field := range fields[1:] {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		key, value, found := strings.Cut(field, "=")
		key, value = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(value)
		if !found {
			return Config{Name: name}, fmt.Errorf("option %q: want key=value, such as kind=info", field)
		}
		if set[key] {
			return Config{Name: name}, fmt.Errorf("option %s is set twice", key)
		}
		set[key] = true
		if err := c.setOption(key, value); err != nil {
			return Config{Name: name}, err
		}
	}
	if !set["refresh"] {
		c.Refresh = DefaultFileRefresh
		if c.IsURL() {
			c.Refresh = DefaultURLRefresh
		}
	}
	if err := c.Validate(); err != nil {
		return Config{Name: name}, err
	}
	return c, nil
}

func (c *Config) setOption(key, value string) error {
	var err error
	switch key {
	case "kind":
		c.Kind, err = ParseKind(value)
	case "format":
		c.Format, err = ParseFormat(value)
	case "refresh":
		c.Refresh, err = time.ParseDuration(value)
		if err != nil {
			return fmt.Errorf("refresh %q: want a duration such as 6h or 30m", value)
		}
	default:
		return fmt.Errorf("unknown option %q: want kind, refresh or format", key)
	}
	return err
}

func validateName(name string) error {
	if name == "" {
		return errors.New("name is empty: want name=location")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("name %q is longer than %d characters", name, maxNameLen)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("name %q: use only letters, digits, '.', '_' and '-'", name)
		}
	}
	return nil
}

// Validate checks a Config built in code the way ParseConfig checks a
// parsed one.
func (c Config) Validate() error {
	if err := validateName(c.Name); err != nil {
		return err
	}
	if c.Location == "" {
		return errors.New("location is empty: want an http(s) URL or a file path")
	}
	if c.Kind != Malicious && c.Kind != Info {
		return fmt.Errorf("invalid kind %v: want malicious or info", c.Kind)
	}
	if int(c.Format) >= len(formatNames) {
		return fmt.Errorf("invalid format %v", c.Format)
	}
	if c.IsURL() {
		u, err := url.Parse(c.Location)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("location %q: want an http:// or https:// URL with a host, or a file path", redactLocation(c.Location))
		}
		if c.Refresh < MinURLRefresh {
			return fmt.Errorf("refresh %v is below the minimum of %v for URLs, which keeps downloads polite", c.Refresh, MinURLRefresh)
		}
		return nil
	}
	if c.Refresh < MinFileRefresh {
		return fmt.Errorf("refresh %v is below the minimum of %v for files", c.Refresh, MinFileRefresh)
	}
	return nil
}

// redactLocation returns a feed location fit for logs and status: a URL
// loses its password and its query values, which may hold an API key.
func redactLocation(location string) string {
	if !strings.Contains(location, "://") {
		return location
	}
	u, err := url.Parse(location)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.RawQuery != "" {
		q := u.Query()
		for key := range q {
			q.Set(key, "REDACTED")
		}
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
