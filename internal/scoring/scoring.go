// Package scoring turns what the threat-intelligence providers returned for
// an address into its scored record. The record has a composite score from
// 0 to 100, a threat level, the bad-actor and likely-false-positive flags, a
// classification, and an explanation of how the score was reached.
//
// The composite is the sum of three terms, each rounded to one decimal so
// the explanation adds up to the score:
//
//	AbuseIPDB  min(abuse confidence, 100) × 0.5            at most 50
//	OTX        min(pulses, 20) / 20 × 30                   at most 30
//	GreyNoise  20 for malicious, 5 for unknown or not observed, else 0
//
// capped at 100. A GreyNoise RIOT answer (a known benign service) makes the
// composite 0. A provider that failed or was skipped adds no points, so an
// outage never raises a score.
package scoring

import (
	"fmt"
	"math"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// Direction is the way traffic crossed the firewall. Its values are the
// report's direction strings.
type Direction string

const (
	Inbound  Direction = "in"
	Outbound Direction = "out"
)

// Threat levels, from the composite score.
const (
	LevelNone     = "none"     // below 10
	LevelLow      = "low"      // 10 to below 25
	LevelMedium   = "medium"   // 25 to below 50
	LevelHigh     = "high"     // 50 to below 75
	LevelCritical = "critical" // 75 and above
)

// Classifications of a scored address. The first rule that holds decides:
//
//	internal    the address is internal and was never looked up
//	malicious   the address is a known bad actor
//	benign      the address is a likely false positive, or GreyNoise
//	            classifies it benign and its level is below medium
//	suspicious  the level is medium or above
//	unknown     anything else
const (
	ClassInternal   = "internal"
	ClassMalicious  = "malicious"
	ClassBenign     = "benign"
	ClassSuspicious = "suspicious"
	ClassUnknown    = "unknown"
)

// maxScore is the cap of the composite score. Levels and thresholds are on
// this 0–100 scale, so it is not an option.
const maxScore = 100

// Options are the scoring weights and thresholds. Start from DefaultOptions
// and change what you need: a zero field is a value, not "use the default".
type Options struct {
	// AbuseWeight is the points per point of AbuseIPDB confidence (0–100).
	// Default 0.5, so the AbuseIPDB term is at most 50.
	AbuseWeight float64
	// PulseCap is the OTX pulse count at which the OTX term stops growing.
	// Default 20.
	PulseCap int
	// PulsePoints is the OTX term at PulseCap pulses or more. Default 30.
	PulsePoints float64
	// GreyNoiseMaliciousPoints is the GreyNoise term for "malicious".
	// Default 20.
	GreyNoiseMaliciousPoints float64
	// GreyNoiseUnknownPoints is the GreyNoise term for "unknown", which
	// includes the "not observed" answer. Default 5.
	GreyNoiseUnknownPoints float64
	// FeedPoints is the term added once when any malicious blocklist feed
	// lists the address. Default 25.
	FeedPoints float64

	// BadActorMinScore is the composite from which an inbound address is a
	// known bad actor. Default 25.
	BadActorMinScore float64
	// OutboundPulsesAbove flags an outbound destination as command and
	// control when its OTX pulse count exceeds it. Default 2.
	OutboundPulsesAbove int
	// OutboundAbuseAbove flags an outbound destination when its AbuseIPDB
	// confidence exceeds it. Default 20.
	OutboundAbuseAbove int
	// OutboundScoreAbove flags an outbound destination when its composite
	// exceeds it. Default 30.
	OutboundScoreAbove float64
	// FalsePositiveAbuseAbove is the AbuseIPDB confidence that a likely false
	// positive must exceed to still be a bad actor. Default 50.
	FalsePositiveAbuseAbove int

	// Benign is the list of benign networks and names. Nil means the list
	// embedded in the binary.
	Benign *BenignList
}

// DefaultOptions returns the weights and thresholds of the Python service
// that this one replaces, so scores stay comparable, with the embedded
// benign-network list.
func DefaultOptions() Options {
	return Options{
		AbuseWeight:              0.5,
		PulseCap:                 20,
		PulsePoints:              30,
		GreyNoiseMaliciousPoints: 20,
		GreyNoiseUnknownPoints:   5,
		FeedPoints:               25,
		BadActorMinScore:         25,
		OutboundPulsesAbove:      2,
		OutboundAbuseAbove:       20,
		OutboundScoreAbove:       30,
		FalsePositiveAbuseAbove:  50,
	}
}

// Validate reports the first option that is out of range.
func (o Options) Validate() error {
	weights := []struct {
		name  string
		value float64
		max   float64
	}{
		{"AbuseWeight", o.AbuseWeight, 1},
		{"PulsePoints", o.PulsePoints, maxScore},
		{"GreyNoiseMaliciousPoints", o.GreyNoiseMaliciousPoints, maxScore},
		{"GreyNoiseUnknownPoints", o.GreyNoiseUnknownPoints, maxScore},
		{"FeedPoints", o.FeedPoints, maxScore},
		{"BadActorMinScore", o.BadActorMinScore, maxScore},
		{"OutboundScoreAbove", o.OutboundScoreAbove, maxScore},
	}
	for _, w := range weights {
		if math.IsNaN(w.value) || w.value < 0 || w.value > w.max {
			return fmt.Errorf("invalid scoring option %s %v: set a value from 0 to %v", w.name, w.value, w.max)
		}
	}

	if o.PulseCap < 1 {
		return fmt.Errorf("invalid scoring option PulseCap %d: set a pulse count of 1 or more", o.PulseCap)
	}
	if o.OutboundPulsesAbove < 0 {
		return fmt.Errorf("invalid scoring option OutboundPulsesAbove %d: set a pulse count of 0 or more", o.OutboundPulsesAbove)
	}
	confidences := []struct {
		name  string
		value int
	}{
		{"OutboundAbuseAbove", o.OutboundAbuseAbove},
		{"FalsePositiveAbuseAbove", o.FalsePositiveAbuseAbove},
	}
	for _, c := range confidences {
		if c.value < 0 || c.value > 100 {
			return fmt.Errorf("invalid scoring option %s %d: set an abuse confidence from 0 to 100", c.name, c.value)
		}
	}

	if o.Benign != nil {
		if err := o.Benign.validate(); err != nil {
			return fmt.Errorf("invalid scoring option Benign: %w", err)
		}
	}
	return nil
}

// Scorer scores lookups with fixed options. It is safe for concurrent use
// because nothing in it changes after New.
type Scorer struct {
	opts   Options
	benign benignIndex
}

// New returns a Scorer for opts, or an error naming the first invalid
// option. With opts.Benign nil it loads the embedded benign-network list.
func New(opts Options) (*Scorer, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}

	list := opts.Benign
	if list == nil {
		embedded, err := DefaultBenignList()
		if err != nil {
			return nil, err
		}
		list = &embedded
	}

	return &Scorer{opts: opts, benign: newBenignIndex(*list)}, nil
}

// Level returns the threat level of a composite score.
func Level(score float64) string {
	switch {
	case score >= 75:
		return LevelCritical
	case score >= 50:
		return LevelHigh
	case score >= 25:
		return LevelMedium
	case score >= 10:
		return LevelLow
	default:
		return LevelNone
	}
}

// OverallRisk returns the level of the highest composite among the records
// that are not likely false positives, counting those that are known bad
// actors anyway, or "none" when there are none.
func OverallRisk(rows []intel.Intel) string {
	highest := 0.0
	for _, row := range rows {
		if row.LikelyFalsePositive && !row.IsKnownBadActor {
			continue
		}
		highest = max(highest, row.CompositeScore)
	}
	return Level(highest)
}
