package scoring

import (
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// answers contains the provider results that count. A result counts only when
// its provider answered: the status is "ok" or "not found", or no status is
// recorded but a result is present. A result next to a failed or skipped
// status is ignored, so a stale value never scores.
type answers struct {
	answered  map[intel.Provider]bool
	abuseIPDB *intel.AbuseIPDBResult
	greyNoise *intel.GreyNoiseResult
	otx       *intel.OTXResult
	ipinfo    *intel.IPinfoResult
	geoip     *intel.GeoIPResult
	feeds     []intel.FeedMatch
}

func collectAnswers(l intel.Lookup) answers {
	present := map[intel.Provider]bool{
		intel.AbuseIPDB: l.AbuseIPDB != nil,
		intel.GreyNoise: l.GreyNoise != nil,
		intel.OTX:       l.OTX != nil,
		intel.IPinfo:    l.IPinfo != nil,
	}

	a := answers{answered: make(map[intel.Provider]bool, len(intel.Providers))}
	for _, p := range intel.Providers {
		status, recorded := l.Status[p]
		a.answered[p] = status.Answered() || (!recorded && present[p])
	}

	if a.answered[intel.AbuseIPDB] {
		a.abuseIPDB = l.AbuseIPDB
	}
	if a.answered[intel.GreyNoise] {
		a.greyNoise = l.GreyNoise
	}
	if a.answered[intel.OTX] {
		a.otx = l.OTX
	}
	if a.answered[intel.IPinfo] {
		a.ipinfo = l.IPinfo
	}
	a.geoip = l.GeoIP
	a.feeds = l.Feeds
	return a
}

// evidence is the set of facts that the flags and the classification rest on.
type evidence struct {
	abuse       int    // AbuseIPDB confidence clamped to 0–100, 0 without an answer
	pulses      int    // OTX pulse count, 0 without an answer
	whitelisted bool   // AbuseIPDB isWhitelisted
	gnClass     string // lower-case GreyNoise classification, "" without an answer
	gnName      string
	riot        bool
	notObserved bool // GreyNoise answered "not observed"
	// maliciousFeeds and infoFeeds name the feeds that list the address.
	maliciousFeeds, infoFeeds []string
}

func collectEvidence(a answers) evidence {
	var ev evidence
	if r := a.abuseIPDB; r != nil {
		ev.abuse = min(max(r.AbuseConfidenceScore, 0), 100)
		ev.whitelisted = r.IsWhitelisted
	}
	if r := a.otx; r != nil {
		ev.pulses = max(r.PulseCount, 0)
	}
	for _, f := range a.feeds {
		if f.Kind == intel.FeedInfo {
			ev.infoFeeds = append(ev.infoFeeds, f.Name)
			continue
		}
		ev.maliciousFeeds = append(ev.maliciousFeeds, f.Name)
	}

	if !a.answered[intel.GreyNoise] {
		return ev
	}
	r := a.greyNoise
	if r == nil {
		// A "not found" status without a body is the 404 "not observed" answer.
		ev.gnClass = "unknown"
		ev.notObserved = true
		return ev
	}
	ev.gnClass = strings.ToLower(strings.TrimSpace(r.Classification))
	ev.gnName = r.Name
	ev.riot = r.RIOT
	if !r.Observed && !r.RIOT && (ev.gnClass == "" || ev.gnClass == "unknown") {
		ev.gnClass = "unknown"
		ev.notObserved = true
	}
	return ev
}

// Score returns the scored record of one lookup. dir selects the bad-actor
// rule: Outbound uses the command-and-control rule, and any other value
// uses the inbound one.
func (s *Scorer) Score(l intel.Lookup, dir Direction) intel.Intel {
	a := collectAnswers(l)

	rec := intel.Intel{
		Internal:  l.Internal,
		Providers: maps.Clone(l.Status),
	}
	if rec.Providers == nil {
		rec.Providers = map[intel.Provider]intel.Status{}
	}
	if l.Addr.IsValid() {
		rec.IP = l.Addr.String()
	}
	setIdentity(&rec, a)
	rec.Feeds = make([]string, 0, len(l.Feeds))
	for _, f := range l.Feeds {
		rec.Feeds = append(rec.Feeds, f.Name)
	}

	if l.Internal {
		rec.Classification = ClassInternal
		rec.ThreatLevel = LevelNone
		rec.Explanation = intel.Explanation{
			Components: []intel.Component{},
			Sources:    []intel.Provider{},
			Notes:      []string{"internal address: never sent to providers, score 0"},
		}
		return rec
	}

	ev := collectEvidence(a)
	rec.AbuseConfidenceScore = ev.abuse
	rec.PulseCount = ev.pulses
	rec.GNClassification = ev.gnClass
	rec.GNName = ev.gnName
	rec.RIOT = ev.riot

	var notes []string
	components, total, scoreNotes := s.composite(l, a, ev)
	notes = append(notes, scoreNotes...)
	rec.CompositeScore = total
	rec.ThreatLevel = Level(total)

	fpReasons := s.falsePositiveReasons(rec, a, ev)
	rec.LikelyFalsePositive = len(fpReasons) > 0
	for _, r := range fpReasons {
		notes = append(notes, "likely false positive: "+r)
	}

	bad, badNotes := s.badActor(dir, rec, ev)
	rec.IsKnownBadActor = bad
	notes = append(notes, badNotes...)

	rec.Classification = classify(rec, ev)
	rec.Explanation = explanation(a, components, notes)
	return rec
}

// composite returns the score components, the capped total and the notes
// about RIOT and the cap. Each component is rounded to one decimal before
// the sum, so the components add up to the total unless it was capped.
func (s *Scorer) composite(l intel.Lookup, a answers, ev evidence) ([]intel.Component, float64, []string) {
	if ev.riot {
		detail := "GreyNoise RIOT: known benign service, score 0"
		if ev.gnName != "" {
			detail = fmt.Sprintf("GreyNoise RIOT (%s): known benign service, score 0", ev.gnName)
		}
		return []intel.Component{{Name: "riot", Points: 0, Detail: detail}},
			0, []string{"RIOT: known benign service, score 0"}
	}

	abuse, abuseTenths := s.abuseComponent(l, a, ev)
	otx, otxTenths := s.otxComponent(l, a, ev)
	gn, gnTenths := s.greyNoiseComponent(l, a, ev)
	components := []intel.Component{abuse, otx, gn}
	sum := abuseTenths + otxTenths + gnTenths
	if feed, feedTenths, ok := s.feedComponent(ev); ok {
		components = append(components, feed)
		sum += feedTenths
	}

	if sum <= maxScore*10 {
		return components, float64(sum) / 10, nil
	}
	note := fmt.Sprintf("sum %s capped at %d", formatTenths(sum), maxScore)
	return components, maxScore, []string{note}
}

// feedComponent returns the feed term: FeedPoints once when any malicious
// feed lists the address, however many do, and 0 for info feeds, which only
// tag. ok is false when no feed lists the address.
func (s *Scorer) feedComponent(ev evidence) (intel.Component, int64, bool) {
	c := intel.Component{Name: string(intel.Feeds)}
	switch {
	case len(ev.maliciousFeeds) > 0:
		t := tenths(s.opts.FeedPoints)
		c.Points = float64(t) / 10
		c.Detail = fmt.Sprintf("listed on malicious feed %s → %s", strings.Join(ev.maliciousFeeds, ", "), formatTenths(t))
		return c, t, true
	case len(ev.infoFeeds) > 0:
		c.Detail = fmt.Sprintf("listed on info feed %s: tag only, no points", strings.Join(ev.infoFeeds, ", "))
		return c, 0, true
	}
	return c, 0, false
}

func (s *Scorer) abuseComponent(l intel.Lookup, a answers, ev evidence) (intel.Component, int64) {
	c := intel.Component{Name: string(intel.AbuseIPDB)}
	if !a.answered[intel.AbuseIPDB] {
		c.Detail = "AbuseIPDB " + describeNoAnswer(l.Status[intel.AbuseIPDB]) + ": no points"
		return c, 0
	}

	t := tenths(float64(ev.abuse) * s.opts.AbuseWeight)
	c.Points = float64(t) / 10
	c.Detail = fmt.Sprintf("abuse confidence %d × %s = %s",
		ev.abuse, strconv.FormatFloat(s.opts.AbuseWeight, 'f', -1, 64), formatTenths(t))
	return c, t
}

func (s *Scorer) otxComponent(l intel.Lookup, a answers, ev evidence) (intel.Component, int64) {
	c := intel.Component{Name: string(intel.OTX)}
	if !a.answered[intel.OTX] {
		c.Detail = "OTX " + describeNoAnswer(l.Status[intel.OTX]) + ": no points"
		return c, 0
	}

	capped := min(ev.pulses, s.opts.PulseCap)
	t := tenths(float64(capped) / float64(s.opts.PulseCap) * s.opts.PulsePoints)
	c.Points = float64(t) / 10
	noun := "pulses"
	if ev.pulses == 1 {
		noun = "pulse"
	}
	c.Detail = fmt.Sprintf("OTX %d %s (cap %d) → %s", ev.pulses, noun, s.opts.PulseCap, formatTenths(t))
	return c, t
}

func (s *Scorer) greyNoiseComponent(l intel.Lookup, a answers, ev evidence) (intel.Component, int64) {
	c := intel.Component{Name: string(intel.GreyNoise)}
	if !a.answered[intel.GreyNoise] {
		c.Detail = "GreyNoise " + describeNoAnswer(l.Status[intel.GreyNoise]) + ": no points"
		return c, 0
	}

	var points float64
	switch ev.gnClass {
	case "malicious":
		points = s.opts.GreyNoiseMaliciousPoints
	case "unknown":
		points = s.opts.GreyNoiseUnknownPoints
	}
	t := tenths(points)
	c.Points = float64(t) / 10

	label := ev.gnClass
	switch {
	case ev.notObserved:
		label = "not observed (unknown)"
	case label == "":
		label = "no classification"
	}
	c.Detail = fmt.Sprintf("GreyNoise %s → %s", label, formatTenths(t))
	return c, t
}

// describeNoAnswer phrases a status without an answer for an explanation:
// "lookup failed (timeout)", "lookup skipped (no key)".
func describeNoAnswer(st intel.Status) string {
	text := string(st)
	switch {
	case st == "":
		return "gave no answer"
	case st.IsFailure():
		return withReason("lookup failed", strings.TrimPrefix(text, "failed: "))
	case strings.HasPrefix(text, "skipped: "):
		return withReason("lookup skipped", strings.TrimPrefix(text, "skipped: "))
	default:
		return "lookup status " + strconv.Quote(text)
	}
}

func withReason(what, reason string) string {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return what
	}
	return what + " (" + reason + ")"
}

// tenths rounds x to a whole number of tenths, half away from zero. It
// first snaps x×10 to six decimals so binary noise does not decide the
// rounding: 0.15 is stored as 0.1499999…, and it must round to 0.2.
func tenths(x float64) int64 {
	snapped := math.Round(x*10*1e6) / 1e6
	return int64(math.Round(snapped))
}

// formatTenths prints a non-negative number of tenths with one decimal.
func formatTenths(t int64) string {
	return fmt.Sprintf("%d.%d", t/10, t%10)
}

// falsePositiveReasons lists why the address is likely a false positive:
// GreyNoise RIOT, the AbuseIPDB whitelist, or a benign network.
func (s *Scorer) falsePositiveReasons(rec intel.Intel, a answers, ev evidence) []string {
	var reasons []string
	if ev.riot {
		reasons = append(reasons, "GreyNoise RIOT lists it as a known benign service")
	}
	if ev.whitelisted {
		reasons = append(reasons, "AbuseIPDB lists it as whitelisted")
	}

	if rec.ASN != "" {
		if ok, why := s.IsBenignNetwork(rec.ASN, ""); ok {
			reasons = append(reasons, why)
		}
		return reasons
	}
	for _, name := range organisationNames(a) {
		if ok, why := s.IsBenignNetwork("", name); ok {
			reasons = append(reasons, why)
			break
		}
	}
	return reasons
}

// badActor applies the direction's rule and then the false-positive
// override: a likely false positive is a bad actor only when its AbuseIPDB
// confidence exceeds FalsePositiveAbuseAbove.
func (s *Scorer) badActor(dir Direction, rec intel.Intel, ev evidence) (bool, []string) {
	var triggers []string
	if dir == Outbound {
		triggers = s.commandAndControlTriggers(rec, ev)
	} else if rec.CompositeScore >= s.opts.BadActorMinScore {
		triggers = []string{fmt.Sprintf("composite %.1f ≥ %v", rec.CompositeScore, s.opts.BadActorMinScore)}
	}
	if len(ev.maliciousFeeds) > 0 {
		triggers = append(triggers, "listed on malicious feed "+strings.Join(ev.maliciousFeeds, ", "))
	}
	if len(triggers) == 0 {
		return false, nil
	}

	rule := "bad actor"
	if dir == Outbound {
		rule = "command and control"
	}
	if rec.LikelyFalsePositive {
		if ev.abuse <= s.opts.FalsePositiveAbuseAbove {
			return false, []string{fmt.Sprintf("not a bad actor: %s rule matched (%s), but a likely false positive needs abuse confidence above %d, and it is %d",
				rule, strings.Join(triggers, ", "), s.opts.FalsePositiveAbuseAbove, ev.abuse)}
		}
		triggers = append(triggers, fmt.Sprintf("abuse confidence %d > %d outweighs the likely false positive", ev.abuse, s.opts.FalsePositiveAbuseAbove))
	}
	return true, []string{rule + ": " + strings.Join(triggers, ", ")}
}

// commandAndControlTriggers lists the conditions that flag an outbound
// destination. GreyNoise RIOT suppresses all of them.
func (s *Scorer) commandAndControlTriggers(rec intel.Intel, ev evidence) []string {
	if ev.riot {
		return nil
	}
	var triggers []string
	if ev.pulses > s.opts.OutboundPulsesAbove {
		triggers = append(triggers, fmt.Sprintf("OTX pulses %d > %d", ev.pulses, s.opts.OutboundPulsesAbove))
	}
	if ev.abuse > s.opts.OutboundAbuseAbove {
		triggers = append(triggers, fmt.Sprintf("abuse confidence %d > %d", ev.abuse, s.opts.OutboundAbuseAbove))
	}
	if ev.gnClass == "malicious" {
		triggers = append(triggers, "GreyNoise malicious")
	}
	if rec.CompositeScore > s.opts.OutboundScoreAbove {
		triggers = append(triggers, fmt.Sprintf("composite %.1f > %v", rec.CompositeScore, s.opts.OutboundScoreAbove))
	}
	return triggers
}

func classify(rec intel.Intel, ev evidence) string {
	medium := rec.ThreatLevel != LevelNone && rec.ThreatLevel != LevelLow
	switch {
	case rec.IsKnownBadActor:
		return ClassMalicious
	case rec.LikelyFalsePositive:
		return ClassBenign
	case ev.gnClass == "benign" && !medium:
		return ClassBenign
	case medium:
		return ClassSuspicious
	default:
		return ClassUnknown
	}
}

// explanation lists the providers that answered as sources and the others
// as missing, in the order of intel.Providers.
func explanation(a answers, components []intel.Component, notes []string) intel.Explanation {
	e := intel.Explanation{Components: components, Sources: []intel.Provider{}, Notes: notes}
	for _, p := range intel.Providers {
		if a.answered[p] {
			e.Sources = append(e.Sources, p)
			continue
		}
		e.Missing = append(e.Missing, p)
	}
	if a.geoip != nil {
		e.Sources = append(e.Sources, intel.GeoIP)
	}
	if len(a.feeds) > 0 {
		e.Sources = append(e.Sources, intel.Feeds)
	}
	return e
}
