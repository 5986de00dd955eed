package feeds

import (
	"bytes"
	"fmt"
	"path"
	"strings"
)

// Format is the layout of a feed file.
type Format uint8

const (
	// FormatAuto picks the format from the content, then from the file
	// name's extension.
	FormatAuto Format = iota
	// FormatList is one address, CIDR prefix or range per line: FireHOL
	// netsets, Spamhaus DROP/EDROP/DROPv6 text, abuse.ch text lists,
	// Emerging Threats, CINS, blocklist.de, the Tor bulk exit list and the
	// AbuseIPDB plaintext blacklist.
	FormatList
	// FormatSpamhausJSON is newline-delimited JSON with a "cidr" key per
	// record and a closing metadata object, as in Spamhaus drop_v4.json and
	// drop_v6.json.
	FormatSpamhausJSON
	// FormatCSV is comma-separated rows, optionally with a header row that
	// names the address column (abuse.ch Feodo "dst_ip") and optionally
	// quoted (abuse.ch SSLBL is not).
	FormatCSV
	// FormatTorExit is the Tor Project's exit-addresses (TorDNSEL) format,
	// whose "ExitAddress <IP> <time>" lines carry the addresses.
	FormatTorExit
	// FormatDShield is the DShield block.txt layout: tab-separated rows of
	// network start, network end and prefix length.
	FormatDShield
)

var formatNames = [...]string{
	FormatAuto:         "auto",
	FormatList:         "list",
	FormatSpamhausJSON: "spamhaus-json",
	FormatCSV:          "csv",
	FormatTorExit:      "tor-exit",
	FormatDShield:      "dshield",
}

// formatAliases are other names a configuration may use for a format.
var formatAliases = map[string]Format{
	"netset":   FormatList,
	"plain":    FormatList,
	"spamhaus": FormatList,
	"ndjson":   FormatSpamhausJSON,
	"json":     FormatSpamhausJSON,
	"tordnsel": FormatTorExit,
}

func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("format(%d)", f)
}

// MarshalText encodes the format as its name.
func (f Format) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// ParseFormat returns the format named s, case-insensitively. Besides the
// names that String returns it accepts netset, plain and spamhaus for
// FormatList, json and ndjson for FormatSpamhausJSON, and tordnsel for
// FormatTorExit.
func ParseFormat(s string) (Format, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for f, n := range formatNames {
		if n == name {
			return Format(f), nil
		}
	}
	if f, ok := formatAliases[name]; ok {
		return f, nil
	}
	return 0, fmt.Errorf("unknown format %q: want one of %s", s, strings.Join(formatNames[:], ", "))
}

// detectFormat picks a format from the first lines of the content. When
// those are all blank or comments, the extension of name decides, and
// FormatList is the fallback.
func detectFormat(head []byte, name string) Format {
	for line := range bytes.Lines(head) {
		line = bytes.TrimSpace(line)
		switch {
		case len(line) == 0, isComment(line):
			continue
		case line[0] == '{':
			return FormatSpamhausJSON
		case bytes.HasPrefix(line, []byte("ExitNode ")), bytes.HasPrefix(line, []byte("ExitAddress ")),
			bytes.HasPrefix(line, []byte("@type tordnsel")):
			return FormatTorExit
		case isDShieldRow(line), bytes.HasPrefix(line, []byte("Start\tEnd")):
			return FormatDShield
		case line[0] == '"':
			return FormatCSV
		}
		if i := bytes.IndexByte(line, ','); i > 0 {
			if _, err := parseEntry(bytes.TrimSpace(line[:i])); err == nil {
				return FormatCSV
			}
		}
		return FormatList
	}

	switch strings.ToLower(path.Ext(name)) {
	case ".json", ".ndjson":
		return FormatSpamhausJSON
	case ".csv":
		return FormatCSV
	}
	return FormatList
}

// isDShieldRow reports whether line starts with "IPv4 TAB IPv4 TAB".
func isDShieldRow(line []byte) bool {
	fields := bytes.SplitN(line, []byte{'\t'}, 3)
	if len(fields) < 3 {
		return false
	}
	_, ok1 := parseIPv4(fields[0])
	_, ok2 := parseIPv4(fields[1])
	return ok1 && ok2
}

// isComment reports whether a trimmed line is a comment: it starts with
// '#', ';' or "//".
func isComment(line []byte) bool {
	return len(line) > 0 && (line[0] == '#' || line[0] == ';') || bytes.HasPrefix(line, []byte("//"))
}
