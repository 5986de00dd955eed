package promql

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestMatcherStringEscapes(t *testing.T) {
	tests := []struct {
		name string
		m    Matcher
		want string
	}{
		{"plain", Matcher{Name: "instance", Type: MatchEqual, Value: "fw1"}, `instance="fw1"`},
		{"double quote", Matcher{Name: "a", Type: MatchNotEqual, Value: `x"y`}, `a!="x\"y"`},
		{"backslash", Matcher{Name: "a", Type: MatchRegexp, Value: `10\.0`}, `a=~"10\\.0"`},
		{"newline", Matcher{Name: "a", Type: MatchNotRegexp, Value: "x\ny"}, `a!~"x\ny"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.String(); got != tt.want {
				t.Errorf("String() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseMatchers(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []Matcher
	}{
		{"empty", "  ", nil},
		{"empty braces", "{}", nil},
		{"one", `instance="fw1"`, []Matcher{{Name: "instance", Type: MatchEqual, Value: "fw1"}}},
		{"braces and spaces", ` { job = "syslog" , host!~"a|b" } `, []Matcher{
			{Name: "job", Type: MatchEqual, Value: "syslog"},
			{Name: "host", Type: MatchNotRegexp, Value: "a|b"},
		}},
		{"every operator", `a="1",b!="2",c=~"3",d!~"4"`, []Matcher{
			{Name: "a", Type: MatchEqual, Value: "1"},
			{Name: "b", Type: MatchNotEqual, Value: "2"},
			{Name: "c", Type: MatchRegexp, Value: "3"},
			{Name: "d", Type: MatchNotRegexp, Value: "4"},
		}},
		{"escapes", `a="x\"y\\z\n"`, []Matcher{{Name: "a", Type: MatchEqual, Value: "x\"y\\z\n"}}},
		{"backquotes", "a=~`10\\.0\\..*`", []Matcher{{Name: "a", Type: MatchRegexp, Value: `10\.0\..*`}}},
		{"trailing comma", `{a="b",}`, []Matcher{{Name: "a", Type: MatchEqual, Value: "b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMatchers(tt.input)
			if err != nil {
				t.Fatalf("ParseMatchers(%q): %v", tt.input, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseMatchers(%q) = %#v, want %#v", tt.input, got, tt.want)
			}
		})
	}
}

func TestParseMatchersRejects(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string // part of the error
	}{
		{"no value", `a=`, "quoted value"},
		{"unquoted", `a=b`, "quoted value"},
		{"single quotes", `a='b'`, "quoted value"},
		{"no operator", `a"b"`, "want =, !=, =~ or !~"},
		{"bad name", `1a="b"`, "label name"},
		{"missing comma", `a="b" c="d"`, "comma"},
		{"unterminated", `a="b`, "unterminated"},
		{"bad regex", `a=~"("`, "invalid regex"},
		{"unclosed brace", `{a="b"`, "closing brace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMatchers(tt.input)
			if err == nil {
				t.Fatalf("ParseMatchers(%q) = %v, want an error", tt.input, got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), strconv.Quote(tt.input)) {
				t.Errorf("error %q does not name the input", err)
			}
		})
	}
}

func FuzzParseMatchers(f *testing.F) {
	for _, seed := range []string{`instance="fw1"`, `{a="1", b!~"x|y"}`, "a=~`b`", `a="\u00e9\n"`, `{`, `a=`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		matchers, err := ParseMatchers(input)
		if err != nil {
			return
		}
		// What parses renders to a form that parses to the same matchers.
		parts := make([]string, len(matchers))
		for i, m := range matchers {
			parts[i] = m.String()
		}
		again, err := ParseMatchers("{" + strings.Join(parts, ",") + "}")
		if err != nil {
			t.Fatalf("reparsing %q: %v", parts, err)
		}
		if len(again) != len(matchers) || (len(matchers) > 0 && !reflect.DeepEqual(again, matchers)) {
			t.Fatalf("round trip changed %#v into %#v", matchers, again)
		}
	})
}
