package api

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/report"
)

// Values of IPResponse.Source.
const (
	IPSourceReport   = "report"
	IPSourceCache    = "cache"
	IPSourceInternal = "internal"
)

// IPResponse is the body of /api/ip/{ip}.
type IPResponse struct {
	IP string `json:"ip"`
	// Source names where the intel comes from: "report" (the address is
	// listed in the current report), "cache" (a cached record) or
	// "internal" (an address that is never looked up).
	Source string `json:"source"`
	// Class is the address class: "public", "private", "loopback", "own"
	// and so on.
	Class string `json:"class"`
	// Directions lists "in" when the report lists the address as a blocked
	// source and "out" when it lists it as an outbound destination.
	Directions []string `json:"directions"`
	// Count is the number of events of the address over all its rows in
	// the report, 0 when it is not listed.
	Count uint64 `json:"count"`
	// GeneratedAt is the generation time of the report the rows come from,
	// "" unless Source is "report".
	GeneratedAt string `json:"generated_at"`
	// Intel is the record that marks the address a known bad actor when
	// either direction's record does, otherwise the inbound one. The two
	// can differ because the bad-actor rule depends on the direction.
	Intel intel.Intel `json:"intel"`
	// Blocked and Outbound are the address's rows of the report, null when
	// it has none in that direction.
	Blocked  *report.AddressRow  `json:"blocked"`
	Outbound *report.OutboundRow `json:"outbound"`
}

// addressBodies encodes the /api/ip/{ip} body of every address listed in r.
func addressBodies(r report.Report, classifier *netclass.Classifier) (map[netip.Addr]*body, error) {
	responses := make(map[netip.Addr]*IPResponse, len(r.BlockedIPs)+len(r.OutboundIPs))
	var order []netip.Addr
	entry := func(ip string) (*IPResponse, bool) {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			// Report rows are built from parsed addresses, so this is a
			// report built by hand. Such a row has no /api/ip/{ip} body.
			return nil, false
		}
		resp, ok := responses[addr]
		if !ok {
			resp = &IPResponse{
				IP:          addr.String(),
				Source:      IPSourceReport,
				Class:       classifier.Classify(addr).String(),
				Directions:  []string{},
				GeneratedAt: r.GeneratedAt,
			}
			responses[addr] = resp
			order = append(order, addr)
		}
		return resp, true
	}

	for i := range r.BlockedIPs {
		row := &r.BlockedIPs[i]
		if resp, ok := entry(row.IP); ok && resp.Blocked == nil {
			resp.Blocked = row
			resp.Directions = append(resp.Directions, report.DirectionIn)
			resp.Count += row.Count
			resp.Intel = row.Intel
		}
	}
	for i := range r.OutboundIPs {
		row := &r.OutboundIPs[i]
		resp, ok := entry(row.IP)
		if !ok || resp.Outbound != nil {
			continue
		}
		resp.Outbound = row
		resp.Directions = append(resp.Directions, report.DirectionOut)
		resp.Count += row.Count
		if resp.Blocked == nil || (row.Intel.IsKnownBadActor && !resp.Blocked.Intel.IsKnownBadActor) {
			resp.Intel = row.Intel
		}
	}

	bodies := make(map[netip.Addr]*body, len(responses))
	for _, addr := range order {
		b, err := jsonBody(http.StatusOK, responses[addr])
		if err != nil {
			return nil, fmt.Errorf("encoding the report for /api/ip/%s: %w", addr, err)
		}
		bodies[addr] = b
	}
	return bodies, nil
}

// handleIP serves /api/ip/{ip}: the address's rows of the current report,
// otherwise a fixed record for an internal address, otherwise its cached
// record. It never contacts a provider.
func (a *API) handleIP(w http.ResponseWriter, r *http.Request) error {
	addr, err := parseAddress(r.PathValue("ip"))
	if err != nil {
		return err
	}

	if b, ok := a.snap.Load().addrs[addr]; ok {
		b.write(w, r)
		return nil
	}

	class := a.opts.Classifier.Classify(addr)
	if class != netclass.Public {
		return a.writeJSON(w, r, &IPResponse{
			IP:         addr.String(),
			Source:     IPSourceInternal,
			Class:      class.String(),
			Directions: []string{},
			Intel:      internalIntel(addr),
		})
	}

	if a.opts.LookupCached == nil {
		return notFound(addr)
	}
	rec, found, err := a.opts.LookupCached(r.Context(), addr)
	if err != nil {
		return &statusError{
			status: http.StatusServiceUnavailable,
			msg:    fmt.Sprintf("cache lookup for %s failed: the store is unavailable, retry later", addr),
			err:    fmt.Errorf("looking up %s in the cache: %w", addr, err),
		}
	}
	if !found {
		return notFound(addr)
	}
	if rec.IP == "" {
		rec.IP = addr.String()
	}
	return a.writeJSON(w, r, &IPResponse{
		IP:         addr.String(),
		Source:     IPSourceCache,
		Class:      class.String(),
		Directions: []string{},
		Intel:      rec.WithEmptyLists(),
	})
}

// parseAddress parses the {ip} path value. An IPv4-mapped IPv6 address is
// read as the IPv4 address it carries and an IPv6 zone is dropped, so each
// address has one form.
func parseAddress(s string) (netip.Addr, error) {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, &statusError{
			status: http.StatusBadRequest,
			msg:    fmt.Sprintf("invalid IP address %q: want an IPv4 or IPv6 address such as 203.0.113.7 or 2001:db8::1", echo(s)),
		}
	}
	return addr.WithZone("").Unmap(), nil
}

func notFound(addr netip.Addr) error {
	return &statusError{
		status: http.StatusNotFound,
		msg:    fmt.Sprintf("no intel for %s: it is not in the current report and not cached", addr),
	}
}

// internalIntel is the record of an address that is never sent to a
// provider.
func internalIntel(addr netip.Addr) intel.Intel {
	return intel.Intel{
		IP:             addr.String(),
		Classification: "internal",
		ThreatLevel:    "none",
		Internal:       true,
		Explanation: intel.Explanation{
			Notes: []string{"internal address: never sent to providers, score 0"},
		},
	}.WithEmptyLists()
}
