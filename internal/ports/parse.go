package ports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on the text of an entry. The service name becomes a metric label
// value and a table cell, so it stays short and printable.
const (
	maxServiceLen     = 64
	maxDescriptionLen = 256
)

// rawEntry is one value of the catalog's JSON object as written.
type rawEntry struct {
	Service     *string `json:"service"`
	RiskLevel   *string `json:"risk_level"`
	Risk        *string `json:"risk"`
	Description string  `json:"description"`
}

// parseOverride parses a catalog in the port_services.json format: a JSON
// object keyed by "PORT" or "PORT/PROTOCOL". It returns the entries in file
// order and rejects a key that repeats another after normalisation
// ("22/TCP" and "22/tcp").
func parseOverride(data []byte) ([]Entry, error) {
	if isBlank(data) {
		return nil, errors.New("file is empty: expected a JSON object keyed by port, such as {\"22\": {\"service\": \"SSH\", \"risk_level\": \"high\"}}")
	}

	// A first pass over the whole document reports syntax errors with their
	// position, so the second pass only meets well-formed JSON.
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		return nil, describeJSONError(data, err)
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, describeJSONError(data, err)
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("expected a JSON object keyed by port, got %s", jsonKind(tok))
	}

	var entries []Entry
	seen := make(map[key]string)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, describeJSONError(data, err)
		}
		name := tok.(string) // object keys are always strings in well-formed JSON

		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, describeJSONError(data, err)
		}

		e, err := parseEntry(name, raw)
		if err != nil {
			return nil, err
		}

		k := key{e.Port, e.Protocol}
		if first, ok := seen[k]; ok {
			return nil, fmt.Errorf("key %q repeats key %q: list each port and protocol once", name, first)
		}
		seen[k] = name
		entries = append(entries, e)
	}
	return entries, nil
}

// parseEntry validates one key and its value.
func parseEntry(name string, raw json.RawMessage) (Entry, error) {
	port, protocol, err := parseKey(name)
	if err != nil {
		return Entry{}, err
	}

	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Entry{}, fmt.Errorf("port %q: expected an object with service, risk_level and description, got %s", name, rawKind(trimmed))
	}

	var r rawEntry
	if err := json.Unmarshal(raw, &r); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return Entry{}, fmt.Errorf("port %q: field %q is a JSON %s: expected a string", name, typeErr.Field, typeErr.Value)
		}
		return Entry{}, fmt.Errorf("port %q: %w", name, err)
	}

	service, err := parseService(name, r.Service)
	if err != nil {
		return Entry{}, err
	}
	risk, err := parseEntryRisk(name, r.RiskLevel, r.Risk)
	if err != nil {
		return Entry{}, err
	}
	description := strings.TrimSpace(r.Description)
	if err := checkText(name, "description", description, maxDescriptionLen); err != nil {
		return Entry{}, err
	}

	return Entry{Port: port, Protocol: protocol, Service: service, Risk: risk, Description: description}, nil
}

// parseKey splits "22" or "22/tcp" into a port and a lower-case protocol.
func parseKey(name string) (uint16, string, error) {
	portText, protocol, hasProtocol := strings.Cut(strings.TrimSpace(name), "/")

	n, err := strconv.ParseUint(portText, 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("invalid key %q: expected a port number such as \"22\" or a port and protocol such as \"22/tcp\"", name)
	}
	if n < 1 || n > 65535 {
		return 0, "", fmt.Errorf("invalid key %q: port %d is out of range: expected 1 to 65535", name, n)
	}

	if !hasProtocol {
		return uint16(n), "", nil
	}
	protocol = strings.ToLower(protocol)
	switch protocol {
	case "tcp", "udp", "sctp":
		return uint16(n), protocol, nil
	}
	return 0, "", fmt.Errorf("invalid key %q: unknown protocol %q: expected tcp, udp or sctp", name, protocol)
}

func parseService(name string, service *string) (string, error) {
	if service == nil || strings.TrimSpace(*service) == "" {
		return "", fmt.Errorf("port %q: missing service: expected a service name such as \"SSH\"", name)
	}
	s := strings.TrimSpace(*service)
	if err := checkText(name, "service", s, maxServiceLen); err != nil {
		return "", err
	}
	return s, nil
}

// parseEntryRisk reads risk_level, or risk when risk_level is absent. When
// both are given they must agree.
func parseEntryRisk(name string, riskLevel, risk *string) (Risk, error) {
	field, value := "risk_level", riskLevel
	if value == nil {
		field, value = "risk", risk
	}
	if value == nil {
		return "", fmt.Errorf("port %q: missing risk_level: expected one of %s", name, riskList())
	}

	r, ok := parseRisk(*value)
	if !ok {
		return "", fmt.Errorf("port %q: invalid %s %q: expected one of %s", name, field, *value, riskList())
	}
	if riskLevel != nil && risk != nil {
		if other, ok := parseRisk(*risk); !ok || other != r {
			return "", fmt.Errorf("port %q: risk_level %q and risk %q disagree: set only risk_level", name, *riskLevel, *risk)
		}
	}
	return r, nil
}

// parseRisk accepts a risk level in any letter case, with surrounding spaces.
func parseRisk(s string) (Risk, bool) {
	r := Risk(strings.ToLower(strings.TrimSpace(s)))
	for _, valid := range Risks {
		if r == valid {
			return r, true
		}
	}
	return "", false
}

func riskList() string {
	names := make([]string, len(Risks))
	for i, r := range Risks {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// checkText rejects text that is too long or contains control characters,
// which would break table output and metric labels.
func checkText(name, field, s string, maxLen int) error {
	if n := utf8.RuneCountInString(s); n > maxLen {
		return fmt.Errorf("port %q: %s is %d characters long: the maximum is %d", name, field, n, maxLen)
	}
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		return fmt.Errorf("port %q: %s contains a control character at byte %d: remove it", name, field, i)
	}
	return nil
}

// describeJSONError adds the line and column of a syntax error.
func describeJSONError(data []byte, err error) error {
	var syntaxErr *json.SyntaxError
	if !errors.As(err, &syntaxErr) {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	line, column := position(data, syntaxErr.Offset)
	return fmt.Errorf("invalid JSON at line %d, column %d: %w", line, column, err)
}

// position returns the 1-based line and column of the byte a syntax error
// names. json.SyntaxError.Offset counts the bytes read up to and including
// that byte. The column counts bytes, not characters.
func position(data []byte, offset int64) (line, column int) {
	index := min(max(offset-1, 0), int64(len(data)))
	before := data[:index]
	line = 1 + bytes.Count(before, []byte{'\n'})
	column = int(index) - bytes.LastIndexByte(before, '\n')
	return line, column
}

// jsonKind names the JSON type that tok starts.
func jsonKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

// rawKind names the JSON type of a trimmed raw value.
func rawKind(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
