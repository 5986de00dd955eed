package scoring

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
)

//go:embed benign_asns.json
var benignFile []byte

// BenignNetwork is an autonomous system run by a well-known service operator.
type BenignNetwork struct {
	ASN    uint32 `json:"asn"`
	Org    string `json:"org"`    // operator name shown in explanations: "Google"
	Reason string `json:"reason"` // services the network carries, so a reviewer can check the entry
}

// BenignList is the content of a benign-network file.
type BenignList struct {
	Description string          `json:"description"`
	Networks    []BenignNetwork `json:"networks"`
	// Names are organisation names matched as whole words when no ASN is
	// known: "meta platforms" matches "Meta Platforms, Inc." but not "Metanet".
	Names []string `json:"names"`
}

// DefaultBenignList returns a copy of the embedded benign-network list.
func DefaultBenignList() (BenignList, error) {
	list, err := ParseBenignList(benignFile)
	if err != nil {
		return BenignList{}, fmt.Errorf("reading embedded benign_asns.json: %w", err)
	}
	return list, nil
}

// ParseBenignList decodes and checks a benign-network file. It rejects
// unknown fields, trailing data, an ASN of 0, a missing org or reason,
// duplicate ASNs and duplicate or empty names.
func ParseBenignList(data []byte) (BenignList, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()

	var list BenignList
	if err := dec.Decode(&list); err != nil {
		return BenignList{}, fmt.Errorf("decoding benign-network list: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return BenignList{}, errors.New("decoding benign-network list: unexpected data after the top-level object")
	}

	if err := list.validate(); err != nil {
		return BenignList{}, err
	}
	return list, nil
}

func (l BenignList) validate() error {
	if len(l.Networks) == 0 {
		return errors.New("invalid benign-network list: networks is empty, so add at least one network")
	}

	seen := make(map[uint32]int, len(l.Networks))
	for i, n := range l.Networks {
		if n.ASN == 0 {
			return fmt.Errorf("invalid benign network %d: asn is missing or 0", i+1)
		}
		if strings.TrimSpace(n.Org) == "" {
			return fmt.Errorf("invalid benign network AS%d: org is empty", n.ASN)
		}
		if strings.TrimSpace(n.Reason) == "" {
			return fmt.Errorf("invalid benign network AS%d: reason is empty", n.ASN)
		}
		if first, dup := seen[n.ASN]; dup {
			return fmt.Errorf("invalid benign-network list: AS%d appears in entries %d and %d, so remove one", n.ASN, first+1, i+1)
		}
		seen[n.ASN] = i
	}

	names := make(map[string]bool, len(l.Names))
	for _, name := range l.Names {
		key := strings.Join(words(name), " ")
		if key == "" {
			return fmt.Errorf("invalid benign name %q: it has no letters or digits", name)
		}
		if names[key] {
			return fmt.Errorf("invalid benign-network list: name %q appears twice, so remove one", name)
		}
		names[key] = true
	}
	return nil
}

// benignIndex is a benign-network list indexed for lookups.
type benignIndex struct {
	byASN map[uint32]BenignNetwork
	names [][]string // each name split into lower-case words
}

func newBenignIndex(l BenignList) benignIndex {
	idx := benignIndex{byASN: make(map[uint32]BenignNetwork, len(l.Networks))}
	for _, n := range l.Networks {
		idx.byASN[n.ASN] = n
	}
	for _, name := range l.Names {
		idx.names = append(idx.names, words(name))
	}
	return idx
}

// IsBenignNetwork reports whether an address with this ASN or organisation
// name belongs to a well-known benign network, and why. asn may be "AS15169",
// "15169" or the OTX form "AS15169 Google LLC". When asn holds a number, only
// the ASN list decides. The organisation name is matched, as whole words and
// ignoring case, only when asn is empty or has no number.
func (s *Scorer) IsBenignNetwork(asn, org string) (bool, string) {
	if number, _ := parseASN(asn); number != 0 {
		n, ok := s.benign.byASN[number]
		if !ok {
			return false, ""
		}
		return true, fmt.Sprintf("AS%d %s is a benign network (%s)", n.ASN, n.Org, n.Reason)
	}

	orgWords := words(org)
	for _, name := range s.benign.names {
		if containsPhrase(orgWords, name) {
			return true, fmt.Sprintf("organisation %q matches the benign name %q", strings.TrimSpace(org), strings.Join(name, " "))
		}
	}
	return false, ""
}

// parseASN reads an ASN field such as "AS15169", "as15169", "15169" or
// "AS15169 Google LLC". It returns the number, or 0 when the field does not
// start with one, and the name that follows it. A field without a number is
// all name.
func parseASN(field string) (uint32, string) {
	field = strings.TrimSpace(field)
	digits := field
	if len(digits) >= 2 && strings.EqualFold(digits[:2], "AS") {
		digits = digits[2:]
	}

	end := 0
	for end < len(digits) && digits[end] >= '0' && digits[end] <= '9' {
		end++
	}
	if end == 0 || (end < len(digits) && digits[end] != ' ') {
		return 0, field
	}

	number, err := strconv.ParseUint(digits[:end], 10, 32)
	if err != nil || number == 0 {
		return 0, field
	}
	return uint32(number), strings.TrimSpace(digits[end:])
}

// words splits s into lower-case runs of letters and digits, so that
// punctuation and spacing never decide a match: "Amazon.com, Inc." gives
// amazon, com, inc.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// containsPhrase reports whether phrase occurs in text as consecutive whole
// words.
func containsPhrase(text, phrase []string) bool {
	if len(phrase) == 0 {
		return false
	}
	for start := 0; start+len(phrase) <= len(text); start++ {
		match := true
		for i, w := range phrase {
			if text[start+i] != w {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}
