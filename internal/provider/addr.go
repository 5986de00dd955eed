package provider

import (
	"fmt"
	"net/netip"
)

// AddrString returns addr in the form sent to providers: an IPv4-mapped
// IPv6 address as plain IPv4, and without an IPv6 zone, which names a local
// interface and means nothing to a remote service. The zero Addr is an error
// matching ErrInvalidRequest.
func AddrString(addr netip.Addr) (string, error) {
	if !addr.IsValid() {
		return "", fmt.Errorf("%w: the IP address is the zero value", ErrInvalidRequest)
	}
	return addr.Unmap().WithZone("").String(), nil
}
