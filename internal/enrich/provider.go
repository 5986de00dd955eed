package enrich

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/provider"
	"github.com/threat-intel/threat-intel/internal/provider/abuseipdb"
	"github.com/threat-intel/threat-intel/internal/provider/greynoise"
	"github.com/threat-intel/threat-intel/internal/provider/ipinfo"
	"github.com/threat-intel/threat-intel/internal/provider/otx"
)

// Provider is one threat-intelligence source as the engine uses it. The
// From* functions adapt the clients in internal/provider.
type Provider interface {
	// Name is the provider's fixed name: a cache key part and a label value.
	Name() intel.Provider
	// Configured reports whether the provider can be asked at all, which
	// for most providers means that it has a key.
	Configured() bool
	// Fetch sends one request for addr. It neither retries nor paces. The
	// error is one of the typed errors of package provider, so that the
	// engine can tell a rate limit, a rejected key and a transient failure
	// apart.
	Fetch(ctx context.Context, addr netip.Addr) (Result, error)
}

// BatchProvider is a Provider that can also look several addresses up in
// one request. The engine sends a batch when more than batchThreshold
// public addresses of a cycle are uncached.
type BatchProvider interface {
	Provider
	// MaxBatch returns the maximum number of addresses FetchBatch accepts,
	// or 0 when the provider cannot send batches now.
	MaxBatch() int
	// FetchBatch sends one request for at most MaxBatch addresses. It
	// neither retries nor paces, and returns the errors Fetch does. An
	// address missing from the map got no usable reply and can be looked
	// up alone.
	FetchBatch(ctx context.Context, addrs []netip.Addr) (map[netip.Addr]Result, error)
}

// Result is a provider's usable reply about one address.
type Result struct {
	// Value is the provider's result, the intel result type that matches
	// the provider's name: *intel.AbuseIPDBResult, *intel.GreyNoiseResult,
	// *intel.OTXResult or *intel.IPinfoResult. It may be nil when NotFound
	// is true.
	Value any
	// NotFound means the provider has no data about the address. That is a
	// usable result too, cached for the shorter not-found TTL.
	NotFound bool
	// Quota holds the X-RateLimit-* headers of the reply, where present.
	Quota provider.Quota
}

// clientAdapter turns a client's typed Lookup into a Provider.
type clientAdapter[T any] struct {
	name       intel.Provider
	configured func() bool
	lookup     func(ctx context.Context, addr netip.Addr) (*T, provider.Quota, error)
	// notFound reports whether a result means "no data", for clients that
	// return such a result instead of ErrNotFound. Nil means every result
	// is data.
	notFound func(*T) bool
}

func (a *clientAdapter[T]) Name() intel.Provider { return a.name }
func (a *clientAdapter[T]) Configured() bool     { return a.configured() }

func (a *clientAdapter[T]) Fetch(ctx context.Context, addr netip.Addr) (Result, error) {
	result, quota, err := a.lookup(ctx, addr)
	if errors.Is(err, provider.ErrNotFound) {
		res := Result{NotFound: true, Quota: quota}
		if result != nil {
			res.Value = result
		}
		return res, nil
	}
	if err != nil {
		return Result{Quota: quota}, err
	}
	if result == nil {
		return Result{Quota: quota}, fmt.Errorf("%s: %w: the client returned no result and no error", a.name, provider.ErrMalformedResponse)
	}
	res := Result{Value: result, Quota: quota}
	if a.notFound != nil && a.notFound(result) {
		res.NotFound = true
	}
	return res, nil
}

// FromAbuseIPDB adapts an AbuseIPDB client. It reads the X-RateLimit-*
// headers of every response, so a spent daily quota stops the calls at once.
func FromAbuseIPDB(c *abuseipdb.Client) Provider {
	return &clientAdapter[intel.AbuseIPDBResult]{
		name:       intel.AbuseIPDB,
		configured: c.Configured,
		lookup:     c.LookupWithQuota,
	}
}

// FromGreyNoise adapts a GreyNoise Community client. An address GreyNoise
// has not observed is a not-found result. GreyNoise answers without a key
// on a small daily quota; the adapter counts as configured without one only
// when unauthenticated is true, so nothing is sent unless asked for.
func FromGreyNoise(c *greynoise.Client, unauthenticated bool) Provider {
	return &clientAdapter[intel.GreyNoiseResult]{
		name:       intel.GreyNoise,
		configured: func() bool { return c.Authenticated() || unauthenticated },
		lookup:     withoutQuota(c.Lookup),
		notFound:   func(r *intel.GreyNoiseResult) bool { return !r.Observed },
	}
}

// FromOTX adapts an OTX client. A 404 response is a not-found result.
func FromOTX(c *otx.Client) Provider {
	return &clientAdapter[intel.OTXResult]{
		name:       intel.OTX,
		configured: c.Configured,
		lookup:     withoutQuota(c.Lookup),
	}
}

// FromIPinfo adapts an IPinfo client. The returned Provider is a
// BatchProvider: the engine sends several uncached addresses in one batch
// request when the client has a token, which IPinfo's batch endpoints
// require. A bogon response is a not-found result.
func FromIPinfo(c *ipinfo.Client) Provider {
	a := &ipinfoAdapter{
		clientAdapter: &clientAdapter[intel.IPinfoResult]{
			name:       intel.IPinfo,
			configured: c.Configured,
			lookup:     withoutQuota(c.Lookup),
		},
		client: c,
	}
	// LookupBatch of no addresses sends no request, and returns an error
	// only when the client cannot send batches: no token, or an invalid mode.
	if _, err := c.LookupBatch(context.Background(), nil); err == nil {
		a.maxBatch = ipinfo.MaxBatchSize
	}
	return a
}

// ipinfoAdapter adds IPinfo's batch lookups to its single lookups.
type ipinfoAdapter struct {
	*clientAdapter[intel.IPinfoResult]
	client *ipinfo.Client
	// maxBatch is ipinfo.MaxBatchSize, or 0 when the client cannot send
	// batches.
	maxBatch int
}

func (a *ipinfoAdapter) MaxBatch() int { return a.maxBatch }

// FetchBatch maps the client's batch results to Results: a nil result is a
// bogon, which is not found.
func (a *ipinfoAdapter) FetchBatch(ctx context.Context, addrs []netip.Addr) (map[netip.Addr]Result, error) {
	results, err := a.client.LookupBatch(ctx, addrs)
	if err != nil {
		return nil, err
	}
	out := make(map[netip.Addr]Result, len(results))
	for addr, r := range results {
		if r == nil {
			out[addr] = Result{NotFound: true}
			continue
		}
		out[addr] = Result{Value: r}
	}
	return out, nil
}

// withoutQuota adapts a Lookup that reports no quota headers.
func withoutQuota[T any](lookup func(context.Context, netip.Addr) (*T, error)) func(context.Context, netip.Addr) (*T, provider.Quota, error) {
	return func(ctx context.Context, addr netip.Addr) (*T, provider.Quota, error) {
		result, err := lookup(ctx, addr)
		return result, provider.Quota{}, err
	}
}
