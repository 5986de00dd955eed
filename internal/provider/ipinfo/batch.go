package ipinfo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/provider"
)

// MaxBatchSize is the maximum number of addresses IPinfo accepts in one
// batch request.
// IPinfo counts each address, not the request, against the plan's volume.
const MaxBatchSize = 1000

// LookupBatch looks addrs up with one POST per MaxBatchSize addresses, in
// order. ModeLite posts to /batch/lite, whose entries default to the Lite
// API; ModeFull posts to /batch, the full API's batch endpoint, which IPinfo
// sells on paid plans only. Both need a token.
//
// The map has an entry for every address in the IPinfo response: its
// result, or nil for a bogon (not found). An address missing from the map
// got no usable response, because IPinfo left it out or sent an entry of
// another shape, and can be looked up alone. Duplicate and IPv4-mapped addresses
// share one entry in the request, and each input address gets its own key.
//
// On an error from a later request, the results of the earlier ones are
// returned with it. The errors are those of Lookup, and a batch response that
// is not a JSON object is ErrMalformedResponse.
func (c *Client) LookupBatch(ctx context.Context, addrs []netip.Addr) (map[netip.Addr]*intel.IPinfoResult, error) {
	results := make(map[netip.Addr]*intel.IPinfoResult, len(addrs))
	if err := c.check(); err != nil {
		return results, fmt.Errorf("ipinfo: batch lookup: %w", err)
	}
	if c.token == "" {
		return results, fmt.Errorf("ipinfo: batch lookup: %w: the batch endpoint needs a token", provider.ErrNoKey)
	}

	// IPinfo keys each entry of its response by the string that was sent, so
	// the request lists every distinct address once and the entries map back
	// through it.
	var order []string
	inputs := make(map[string][]netip.Addr, len(addrs))
	for _, addr := range addrs {
		ip, err := provider.AddrString(addr)
		if err != nil {
			return results, fmt.Errorf("ipinfo: batch lookup: %w", err)
		}
		if _, seen := inputs[ip]; !seen {
			order = append(order, ip)
		}
		inputs[ip] = append(inputs[ip], addr)
	}

	for start := 0; start < len(order); start += MaxBatchSize {
		chunk := order[start:min(start+MaxBatchSize, len(order))]
		entries, err := c.postBatch(ctx, chunk)
		if err != nil {
			return results, fmt.Errorf("ipinfo: batch lookup of %d addresses: %w", len(chunk), err)
		}
		for _, ip := range chunk {
			raw, ok := entries[ip]
			if !ok {
				continue
			}
			result, err := decodeLookup(raw, c.mode)
			if err != nil && !errors.Is(err, errBogon) {
				// NOTE: IPinfo does not document how a batch reports a failure
				// for one address, so such an entry is skipped, not reported.
				continue
			}
			for _, addr := range inputs[ip] {
				results[addr] = result
			}
		}
	}
	return results, nil
}

// postBatch sends one batch request and returns the entries of its
// response by key.
func (c *Client) postBatch(ctx context.Context, ips []string) (map[string]json.RawMessage, error) {
	body, err := json.Marshal(ips)
	if err != nil {
		return nil, fmt.Errorf("encoding batch request: %w", err)
	}
	path := []string{"batch", "lite"}
	if c.mode == ModeFull {
		path = []string{"batch"}
	}

	resp, err := c.api.Do(ctx, provider.Request{
		Method: http.MethodPost,
		Path:   path,
		Query:  c.tokenQuery(),
		Body:   body,
	})
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		return nil, c.api.StatusError(resp, errorMessage(resp.Body))
	}
	entries, err := decodeBatch(resp.Body)
	if err != nil {
		return nil, c.api.Malformed(err)
	}
	return entries, nil
}

// decodeBatch splits a batch response into its entries, keyed by the string
// that was sent for each address.
func decodeBatch(body []byte) (map[string]json.RawMessage, error) {
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(body, &entries); err != nil {
		return nil, fmt.Errorf("decoding batch response: %w", err)
	}
	if entries == nil {
		return nil, errors.New("batch response is null, not an object")
	}
	return entries, nil
}
