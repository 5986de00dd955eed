package metrics

import (
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/report"
)

// Label values set by the list a row is in. The direction always comes from
// the list, and the action only when the row has none.
const (
	directionIn  = "in"
	directionOut = "out"
	actionBlock  = "block"
	actionPass   = "pass"
)

// GreyNoise classification values of threat_intel_greynoise_classification.
// RIOT wins over the classification because a RIOT address is a known
// benign service, whatever classification GreyNoise returns with it.
const (
	greyNoiseMalicious = 2
	greyNoiseUnknown   = 1 // also "suspicious" and any class this code does not know
	greyNoiseBenign    = 0
	greyNoiseRIOT      = -1
)

// riskLevels maps summary.overall_risk_level to
// threat_intel_report_overall_risk_level.
var riskLevels = map[string]float64{
	"none":     0,
	"low":      1,
	"medium":   2,
	"high":     3,
	"critical": 4,
}

// reportCollector turns the current report into gauges at every scrape.
// Nothing is kept between scrapes, so an address or port that left the
// report has no series in the next scrape.
type reportCollector struct {
	current *atomic.Pointer[report.Report]

	ipScore        *prometheus.Desc
	ipEvents       *prometheus.Desc
	abuseIPDBScore *prometheus.Desc
	otxPulses      *prometheus.Desc
	greyNoise      *prometheus.Desc
	knownBadActor  *prometheus.Desc
	portEvents     *prometheus.Desc

	generated *prometheus.Desc
	stale     *prometheus.Desc

	totalBlockedIPs        *prometheus.Desc
	knownBadActorsInbound  *prometheus.Desc
	knownBadActorsOutbound *prometheus.Desc
	criticalPortsTargeted  *prometheus.Desc
	overallRiskLevel       *prometheus.Desc
}

// newReportCollector returns a collector of the report that current points
// to. The names and labels of the per-address and per-port series are those
// of the Python service this one replaces, because dashboards query them.
// So the two event counts keep the "_count" suffix that promtool reserves
// for histograms and summaries. The port's service is labelled
// port_service, never service, because a scrape job that sets a target
// label "service" overwrites a metric label of that name.
func newReportCollector(current *atomic.Pointer[report.Report]) *reportCollector {
	return &reportCollector{
		current: current,

		ipScore: prometheus.NewDesc("threat_intel_ip_score",
			"Composite threat score, 0 to 100, of an address in the current report.",
			[]string{"ip", "direction", "country", "org", "classification"}, nil),
		ipEvents: prometheus.NewDesc("threat_intel_ip_event_count",
			"Events of an address in the current report's lookback window.",
			[]string{"ip", "direction", "action"}, nil),
		abuseIPDBScore: prometheus.NewDesc("threat_intel_abuseipdb_score",
			"AbuseIPDB abuse confidence score, 0 to 100, of an address in the current report. Absent when AbuseIPDB gave no answer.",
			[]string{"ip", "direction"}, nil),
		otxPulses: prometheus.NewDesc("threat_intel_otx_pulses",
			"OTX pulses that list an address in the current report. Absent when OTX gave no answer.",
			[]string{"ip", "direction"}, nil),
		greyNoise: prometheus.NewDesc("threat_intel_greynoise_classification",
			"GreyNoise classification of an address in the current report: 2 malicious, 1 unknown or suspicious, 0 benign, -1 RIOT (known benign service). Absent when GreyNoise gave no answer.",
			[]string{"ip", "direction"}, nil),
		knownBadActor: prometheus.NewDesc("threat_intel_known_bad_actor",
			"1 when an address in the current report is a known bad actor, otherwise 0.",
			[]string{"ip", "direction", "country"}, nil),
		portEvents: prometheus.NewDesc("threat_intel_port_event_count",
			"Blocked inbound events per targeted port listed in the current report, TCP and UDP summed when both have the same service and risk level.",
			[]string{"port", "port_service", "risk_level"}, nil),

		generated: prometheus.NewDesc("threat_intel_report_generated_timestamp_seconds",
			"Time the current report was generated, in seconds since the Unix epoch.", nil, nil),
		stale: prometheus.NewDesc("threat_intel_report_stale",
			"1 when the current report is kept from an earlier cycle because the latest one failed, otherwise 0.", nil, nil),

		// The summary gauges are named threat_intel_report_*, not
		// threat_intel_summary_*, because promtool rejects a metric name
		// that contains a metric type such as "summary".
		totalBlockedIPs: prometheus.NewDesc("threat_intel_report_total_blocked_ips",
			"Distinct blocked public sources in the current report's lookback window.", nil, nil),
		knownBadActorsInbound: prometheus.NewDesc("threat_intel_report_known_bad_actors_inbound",
			"Known bad actors among the blocked sources of the current report.", nil, nil),
		knownBadActorsOutbound: prometheus.NewDesc("threat_intel_report_known_bad_actors_outbound",
			"Known bad actors among the outbound destinations of the current report.", nil, nil),
		criticalPortsTargeted: prometheus.NewDesc("threat_intel_report_critical_ports_targeted",
			"Distinct port numbers with a high or critical risk level targeted in the current report's lookback window.", nil, nil),
		overallRiskLevel: prometheus.NewDesc("threat_intel_report_overall_risk_level",
			"Overall risk level of the current report: 0 none, 1 low, 2 medium, 3 high, 4 critical.", nil, nil),
	}
}

// Describe sends every descriptor, so the registry checks the series
// against them.
func (c *reportCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.ipScore, c.ipEvents, c.abuseIPDBScore, c.otxPulses, c.greyNoise, c.knownBadActor, c.portEvents,
		c.generated, c.stale,
		c.totalBlockedIPs, c.knownBadActorsInbound, c.knownBadActorsOutbound, c.criticalPortsTargeted, c.overallRiskLevel,
	} {
		ch <- d
	}
}

// Collect sends the series of the report current at the time of the call.
// Before the first report it sends nothing.
func (c *reportCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.current.Load()
	if r == nil {
		return
	}

	c.collectReport(ch, r)
	c.collectAddresses(ch, r.BlockedIPs, directionIn, actionBlock)
	outbound := make([]report.AddressRow, len(r.OutboundIPs))
	for i, row := range r.OutboundIPs {
		outbound[i] = row.AddressRow
	}
	c.collectAddresses(ch, outbound, directionOut, actionPass)
	c.collectPorts(ch, r.PortAnalysis)
}

func (c *reportCollector) collectReport(ch chan<- prometheus.Metric, r *report.Report) {
	if t, ok := parseGeneratedAt(r.GeneratedAt); ok {
		ch <- constGauge(c.generated, float64(t.Unix()))
	}
	ch <- constGauge(c.stale, boolValue(r.Stale))

	s := r.Summary
	ch <- constGauge(c.totalBlockedIPs, float64(s.TotalBlockedIPs))
	ch <- constGauge(c.knownBadActorsInbound, float64(s.KnownBadActorsInbound))
	ch <- constGauge(c.knownBadActorsOutbound, float64(s.KnownBadActorsOutbound))
	ch <- constGauge(c.criticalPortsTargeted, float64(s.CriticalPortsTargeted))
	if level, ok := riskLevels[s.OverallRiskLevel]; ok {
		ch <- constGauge(c.overallRiskLevel, level)
	}
}

// collectAddresses sends the series of one list of rows. The direction
// label is that of the list, so that a row with an empty direction cannot
// collide with the other list. An address listed twice keeps its first row,
// because the registry reports a second series with the same labels as a
// scrape error.
func (c *reportCollector) collectAddresses(ch chan<- prometheus.Metric, rows []report.AddressRow, direction, defaultAction string) {
	seen := make(map[string]bool, len(rows))
	for _, row := range rows {
		ip := labelValue(row.IP)
		if seen[ip] {
			continue
		}
		seen[ip] = true

		in := row.Intel
		action := row.Action
		if action == "" {
			action = defaultAction
		}
		country := labelValue(in.Country)

		ch <- constGauge(c.ipScore, in.CompositeScore,
			ip, direction, country, labelValue(in.Org), labelValue(in.Classification))
		ch <- constGauge(c.ipEvents, float64(row.Count), ip, direction, labelValue(action))
		ch <- constGauge(c.knownBadActor, boolValue(in.IsKnownBadActor), ip, direction, country)

		if answered(in, intel.AbuseIPDB) {
			ch <- constGauge(c.abuseIPDBScore, float64(in.AbuseConfidenceScore), ip, direction)
		}
		if answered(in, intel.OTX) {
			ch <- constGauge(c.otxPulses, float64(in.PulseCount), ip, direction)
		}
		if answered(in, intel.GreyNoise) {
			ch <- constGauge(c.greyNoise, greyNoiseValue(in), ip, direction)
		}
	}
}

// portSeries is the label set of threat_intel_port_event_count.
type portSeries struct {
	port, service, risk string
}

// portKey identifies a port row. A port that is among both the top ports
// and the critical ports is listed twice and counts once.
type portKey struct {
	port     int
	protocol string
}

// collectPorts sends one series per port listed in top_blocked_ports or
// critical_ports_hit. The labels of the Python service's metric have no
// protocol, so the TCP and UDP rows of one port are summed when their
// catalog entries agree. When the service or risk level differ, each
// protocol keeps its own series and the labels still tell them apart.
func (c *reportCollector) collectPorts(ch chan<- prometheus.Metric, pa report.PortAnalysis) {
	seen := make(map[portKey]bool)
	counts := make(map[portSeries]uint64)
	var order []portSeries
	for _, list := range [][]report.PortRow{pa.TopBlockedPorts, pa.CriticalPortsHit} {
		for _, row := range list {
			key := portKey{port: row.Port, protocol: row.Protocol}
			if seen[key] {
				continue
			}
			seen[key] = true

			series := portSeries{
				port:    strconv.Itoa(row.Port),
				service: labelValue(row.Service),
				risk:    labelValue(row.RiskLevel),
			}
			if _, ok := counts[series]; !ok {
				order = append(order, series)
			}
			counts[series] += row.Count
		}
	}

	for _, s := range order {
		ch <- constGauge(c.portEvents, float64(counts[s]), s.port, s.service, s.risk)
	}
}

// answered reports whether the provider returned a usable answer for the
// record, found or not. A provider that failed, was skipped or has no
// status gets no series: a 0 would read as a clean result.
func answered(in intel.Intel, p intel.Provider) bool {
	return in.Providers[p].Answered()
}

func greyNoiseValue(in intel.Intel) float64 {
	if in.RIOT {
		return greyNoiseRIOT
	}
	switch strings.ToLower(strings.TrimSpace(in.GNClassification)) {
	case "malicious":
		return greyNoiseMalicious
	case "benign":
		return greyNoiseBenign
	default:
		return greyNoiseUnknown
	}
}

// parseGeneratedAt reads generated_at, written with report.TimeFormat, or
// RFC 3339 for a report written by other code.
func parseGeneratedAt(s string) (time.Time, bool) {
	if t, err := time.Parse(report.TimeFormat, s); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// labelValue replaces invalid UTF-8, which the client library rejects, so
// that an odd organisation name from a provider cannot drop its series.
func labelValue(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// constGauge returns a gauge sample, or an invalid metric that makes the
// registry report the error, in place of the panic of MustNewConstMetric.
func constGauge(desc *prometheus.Desc, value float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(desc, prometheus.GaugeValue, value, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(desc, err)
	}
	return m
}
