package filterlog

// Skip reasons are the stable tokens of SkipError.Reason. They are metric
// label values, so the set is small and fixed: a new reason is a new label.
const (
	// ReasonTooLong: the line is longer than MaxLineLength.
	ReasonTooLong = "too_long"
	// ReasonNotFilterlog: the line comes from another program (dhcpd,
	// unbound, syslogd) or is not a syslog or filterlog line at all.
	ReasonNotFilterlog = "not_filterlog"
	// ReasonBadHeader: the syslog header is malformed (priority, version,
	// structured data, a relayed header that does not parse).
	ReasonBadHeader = "bad_header"
	// ReasonBadTimestamp: the header's timestamp is not a valid date and time.
	ReasonBadTimestamp = "bad_timestamp"
	// ReasonTooFewFields: the CSV body ends before the fields it must have,
	// including the ports of a TCP, UDP or SCTP packet that is not a fragment.
	ReasonTooFewFields = "too_few_fields"
	// ReasonTruncated: filterlog itself logged a packet too short to
	// decode ("truncated-ip=", "[|ip]", "bad-hlen="), so it has no addresses.
	ReasonTruncated = "truncated"
	// ReasonBadField: a rule number, interface, reason, TTL or hop limit,
	// fragment offset, length, data length or TCP flags field is malformed.
	ReasonBadField = "bad_field"
	// ReasonBadAction: the action is not one of pass, block, reject, rdr,
	// nat, binat, scrub, synproxy-drop or an "unkn(N)"/"unknown(N)" placeholder.
	ReasonBadAction = "bad_action"
	// ReasonBadDirection: the direction is neither "in" nor "out".
	ReasonBadDirection = "bad_direction"
	// ReasonBadIPVersion: the IP version is neither 4 nor 6.
	ReasonBadIPVersion = "bad_ip_version"
	// ReasonBadProtocol: the protocol number is not 0–255 or the name is empty.
	ReasonBadProtocol = "bad_protocol"
	// ReasonBadAddress: a source or destination address is not an address
	// of the line's IP version.
	ReasonBadAddress = "bad_address"
	// ReasonBadPort: a TCP, UDP or SCTP port is not a number from 0 to 65535.
	ReasonBadPort = "bad_port"
)

// skipReasons lists every reason Parse and ParseHeader return, in a stable order.
var skipReasons = [...]string{
	ReasonTooLong,
	ReasonNotFilterlog,
	ReasonBadHeader,
	ReasonBadTimestamp,
	ReasonTooFewFields,
	ReasonTruncated,
	ReasonBadField,
	ReasonBadAction,
	ReasonBadDirection,
	ReasonBadIPVersion,
	ReasonBadProtocol,
	ReasonBadAddress,
	ReasonBadPort,
}

// SkipReasons returns every reason a SkipError can carry, so that callers can
// create their metric series at zero before the first line arrives. The slice
// is a new copy on each call.
func SkipReasons() []string {
	reasons := make([]string, len(skipReasons))
	copy(reasons, skipReasons[:])
	return reasons
}

// One shared error value per reason keeps the skip path free of allocations.
// Callers must treat a returned *SkipError as read-only.
var (
	errTooLong      = &SkipError{Reason: ReasonTooLong}
	errNotFilterlog = &SkipError{Reason: ReasonNotFilterlog}
	errBadHeader    = &SkipError{Reason: ReasonBadHeader}
	errBadTimestamp = &SkipError{Reason: ReasonBadTimestamp}
	errTooFewFields = &SkipError{Reason: ReasonTooFewFields}
	errTruncated    = &SkipError{Reason: ReasonTruncated}
	errBadField     = &SkipError{Reason: ReasonBadField}
	errBadAction    = &SkipError{Reason: ReasonBadAction}
	errBadDirection = &SkipError{Reason: ReasonBadDirection}
	errBadIPVersion = &SkipError{Reason: ReasonBadIPVersion}
	errBadProtocol  = &SkipError{Reason: ReasonBadProtocol}
	errBadAddress   = &SkipError{Reason: ReasonBadAddress}
	errBadPort      = &SkipError{Reason: ReasonBadPort}
)
