package live

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Endpoint is one syslog listening socket.
type Endpoint struct {
	Network string // "udp" or "tcp"
	Address string // host:port as given to net.Listen; an empty host means every interface
}

func (e Endpoint) String() string { return e.Network + "://" + e.Address }

// listenHelp is the accepted form of a listen specification, for errors.
const listenHelp = "want a comma-separated list of udp://HOST:PORT, tcp://HOST:PORT, or HOST:PORT (or a bare PORT) for both UDP and TCP, e.g. :5514"

// ParseListen parses a syslog listen specification: a comma-separated list
// of udp://HOST:PORT and tcp://HOST:PORT, where an entry without a scheme,
// such as ":5514" or "0.0.0.0:5514", listens on both UDP and TCP, and a bare
// port such as "5514" means every interface. An empty HOST means every
// interface and port 0 picks a free port. An empty specification returns no
// endpoints and no error.
func ParseListen(spec string) ([]Endpoint, error) {
	var endpoints []Endpoint
	seen := make(map[Endpoint]bool)
	for entry := range strings.SplitSeq(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		parsed, err := parseListenEntry(entry)
		if err != nil {
			return nil, err
		}
		for _, e := range parsed {
			if seen[e] {
				return nil, fmt.Errorf("invalid syslog listen address %q: %s is listed twice", entry, e)
			}
			seen[e] = true
			endpoints = append(endpoints, e)
		}
	}
	return endpoints, nil
}

func parseListenEntry(entry string) ([]Endpoint, error) {
	networks := []string{"udp", "tcp"}
	address := entry
	if scheme, rest, ok := strings.Cut(entry, "://"); ok {
		switch strings.ToLower(scheme) {
		case "udp", "tcp":
			networks = []string{strings.ToLower(scheme)}
		default:
			return nil, fmt.Errorf("invalid syslog listen address %q: unknown scheme %q, %s", entry, scheme, listenHelp)
		}
		address = rest
	}
	if isPort(address) {
		address = ":" + address
	}

	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("invalid syslog listen address %q: %s", entry, listenHelp)
	}
	if !isPort(port) {
		return nil, fmt.Errorf("invalid syslog listen address %q: port %q is not a number from 0 to 65535", entry, port)
	}
	if strings.ContainsAny(host, " /?#@") {
		return nil, fmt.Errorf("invalid syslog listen address %q: host %q is not an IP address or host name", entry, host)
	}

	endpoints := make([]Endpoint, len(networks))
	for i, network := range networks {
		endpoints[i] = Endpoint{Network: network, Address: net.JoinHostPort(host, port)}
	}
	return endpoints, nil
}

// isPort reports whether s is a decimal port number from 0 to 65535.
func isPort(s string) bool {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return false
	}
	n, err := strconv.ParseUint(s, 10, 16)
	return err == nil && n <= 65535
}
