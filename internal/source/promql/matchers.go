package promql

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MatchType is the operator of a label matcher.
type MatchType uint8

const (
	MatchEqual     MatchType = iota // =
	MatchNotEqual                   // !=
	MatchRegexp                     // =~
	MatchNotRegexp                  // !~
)

func (t MatchType) String() string {
	switch t {
	case MatchEqual:
		return "="
	case MatchNotEqual:
		return "!="
	case MatchRegexp:
		return "=~"
	case MatchNotRegexp:
		return "!~"
	}
	return fmt.Sprintf("MatchType(%d)", uint8(t))
}

// Matcher is one label matcher of a series selector, such as
// instance="fw1" or src_ip!~"10\\..*".
type Matcher struct {
	Name  string
	Type  MatchType
	Value string
}

// String returns the matcher in PromQL syntax, its value quoted so that
// backslashes, double quotes, newlines and other control characters are
// escaped. LogQL stream selectors use the same syntax.
func (m Matcher) String() string {
	return m.Name + m.Type.String() + Quote(m.Value)
}

// Quote returns s as a double-quoted PromQL or LogQL string literal. Both
// languages read string escapes as Go does, so this is strconv.Quote.
func Quote(s string) string { return strconv.Quote(s) }

var labelNamePattern = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Validate returns an error when the name is not a valid label name, the
// operator is unknown, or a regex value does not compile.
func (m Matcher) Validate() error {
	if !labelNamePattern.MatchString(m.Name) {
		return fmt.Errorf("invalid label name %q: want letters, digits and underscores, not starting with a digit", m.Name)
	}
	switch m.Type {
	case MatchEqual, MatchNotEqual:
	case MatchRegexp, MatchNotRegexp:
		if _, err := regexp.Compile("^(?:" + m.Value + ")$"); err != nil {
			return fmt.Errorf("invalid regex in matcher %s: %w", m, err)
		}
	default:
		return fmt.Errorf("invalid match operator %d in matcher for label %q", m.Type, m.Name)
	}
	return nil
}

// ParseMatchers parses a comma-separated list of label matchers in PromQL
// syntax, with or without the surrounding braces: `instance="fw1",
// job=~"pf.*"`. Values are double-quoted with Go escapes, or in backquotes.
// An empty or blank s returns no matchers.
func ParseMatchers(s string) ([]Matcher, error) {
	rest := strings.TrimSpace(s)
	if strings.HasPrefix(rest, "{") {
		if !strings.HasSuffix(rest, "}") {
			return nil, fmt.Errorf("invalid matchers %q: the opening brace has no closing brace", s)
		}
		rest = strings.TrimSpace(rest[1 : len(rest)-1])
	}

	var out []Matcher
	for rest != "" {
		m, tail, err := parseMatcher(rest)
		if err != nil {
			return nil, fmt.Errorf("invalid matchers %q: %w", s, err)
		}
		out = append(out, m)
		tail = strings.TrimSpace(tail)
		if tail == "" {
			break
		}
		if tail[0] != ',' {
			return nil, fmt.Errorf("invalid matchers %q: want a comma before %q", s, tail)
		}
		rest = strings.TrimSpace(tail[1:])
	}
	return out, nil
}

// parseMatcher parses one matcher at the start of s and returns the rest.
func parseMatcher(s string) (Matcher, string, error) {
	end := 0
	for end < len(s) && (s[end] == '_' || s[end] >= 'a' && s[end] <= 'z' || s[end] >= 'A' && s[end] <= 'Z' || end > 0 && s[end] >= '0' && s[end] <= '9') {
		end++
	}
	if end == 0 {
		return Matcher{}, "", fmt.Errorf("want a label name at %q", s)
	}
	m := Matcher{Name: s[:end]}
	s = strings.TrimSpace(s[end:])

	switch {
	case strings.HasPrefix(s, "=~"):
		m.Type, s = MatchRegexp, s[2:]
	case strings.HasPrefix(s, "!~"):
		m.Type, s = MatchNotRegexp, s[2:]
	case strings.HasPrefix(s, "!="):
		m.Type, s = MatchNotEqual, s[2:]
	case strings.HasPrefix(s, "="):
		m.Type, s = MatchEqual, s[1:]
	default:
		return Matcher{}, "", fmt.Errorf("want =, !=, =~ or !~ after label %q", m.Name)
	}
	s = strings.TrimSpace(s)

	if s == "" || s[0] != '"' && s[0] != '`' {
		return Matcher{}, "", fmt.Errorf("want a quoted value after %s%s", m.Name, m.Type)
	}
	quoted, err := strconv.QuotedPrefix(s)
	if err != nil {
		return Matcher{}, "", fmt.Errorf("unterminated or invalid quoted value after %s%s", m.Name, m.Type)
	}
	m.Value, err = strconv.Unquote(quoted)
	if err != nil {
		return Matcher{}, "", fmt.Errorf("invalid quoted value %s: %w", quoted, err)
	}
	if err := m.Validate(); err != nil {
		return Matcher{}, "", err
	}
	return m, s[len(quoted):], nil
}

// selector returns the series selector of metric with the matchers.
func selector(metric string, matchers []Matcher) string {
	if len(matchers) == 0 {
		return metric
	}
	parts := make([]string, len(matchers))
	for i, m := range matchers {
		parts[i] = m.String()
	}
	return metric + "{" + strings.Join(parts, ",") + "}"
}
