package scoring

import (
	"strings"
	"testing"
)

func TestEmbeddedBenignList(t *testing.T) {
	list, err := ParseBenignList(benignFile)
	if err != nil {
		t.Fatalf("embedded benign_asns.json is invalid: %v", err)
	}

	// The networks of the operators in the benign-name fallback must all be
	// matched by ASN, because the name match runs only when no ASN is known.
	required := []uint32{
		15169, 396982, 19527, 36040, 43515, // Google
		13335, 209242, // Cloudflare
		16509, 14618, 8987, // Amazon
		8075, 8068, 8069, 3598, // Microsoft
		714, 6185, // Apple
		20940, 16625, 21342, 32787, 33905, // Akamai
		54113,        // Fastly
		32934, 63293, // Meta
		2906, 40027, // Netflix
	}
	have := make(map[uint32]bool, len(list.Networks))
	for _, n := range list.Networks {
		have[n.ASN] = true
	}
	for _, asn := range required {
		if !have[asn] {
			t.Errorf("embedded list lacks AS%d", asn)
		}
	}
	if len(list.Names) == 0 {
		t.Error("embedded list has no names for the fallback match")
	}
}

func TestParseBenignListInvalid(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		wantText string
	}{
		{"not JSON", `networks: []`, "decoding"},
		{"empty input", ``, "decoding"},
		{"trailing data", `{"networks":[{"asn":64500,"org":"Example","reason":"test"}]} {}`, "after the top-level object"},
		{"unknown field", `{"networks":[{"asn":64500,"org":"Example","reason":"test","comment":"x"}]}`, "unknown field"},
		{"no networks", `{"networks":[]}`, "networks is empty"},
		{"missing ASN", `{"networks":[{"org":"Example","reason":"test"}]}`, "asn is missing or 0"},
		{"ASN zero", `{"networks":[{"asn":0,"org":"Example","reason":"test"}]}`, "asn is missing or 0"},
		{"negative ASN", `{"networks":[{"asn":-1,"org":"Example","reason":"test"}]}`, "decoding"},
		{"ASN above 32 bits", `{"networks":[{"asn":4294967296,"org":"Example","reason":"test"}]}`, "decoding"},
		{"ASN as string", `{"networks":[{"asn":"AS64500","org":"Example","reason":"test"}]}`, "decoding"},
		{"empty org", `{"networks":[{"asn":64500,"org":" ","reason":"test"}]}`, "AS64500: org is empty"},
		{"empty reason", `{"networks":[{"asn":64500,"org":"Example"}]}`, "AS64500: reason is empty"},
		{"duplicate ASN", `{"networks":[
			{"asn":64500,"org":"Example","reason":"test"},
			{"asn":64501,"org":"Example","reason":"test"},
			{"asn":64500,"org":"Other","reason":"test"}]}`, "AS64500 appears in entries 1 and 3, so remove one"},
		{"duplicate name", `{"networks":[{"asn":64500,"org":"Example","reason":"test"}],"names":["Example","example"]}`, "appears twice"},
		{"name without letters", `{"networks":[{"asn":64500,"org":"Example","reason":"test"}],"names":["--"]}`, "no letters or digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBenignList([]byte(tt.data))
			if err == nil {
				t.Fatal("ParseBenignList returned no error")
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
		})
	}
}

func TestIsBenignNetwork(t *testing.T) {
	s := newScorer(t, nil)
	tests := []struct {
		name       string
		asn        string
		org        string
		want       bool
		wantReason string
	}{
		{"IPinfo ASN", "AS15169", "", true, "AS15169 Google is a benign network"},
		{"bare number", "13335", "", true, "AS13335 Cloudflare"},
		{"lower-case prefix", "as16509", "", true, "AS16509 Amazon"},
		{"OTX form", "AS2906 Netflix Streaming Services Inc.", "", true, "AS2906 Netflix"},
		{"unlisted ASN", "AS64500", "", false, ""},
		{"unlisted ASN ignores org", "AS64500", "Google LLC", false, ""},
		{"name without ASN", "", "Google LLC", true, `organisation "Google LLC" matches the benign name "google"`},
		{"name with unparsable ASN", "unknown", "Google LLC", true, "google"},
		{"name in capitals", "", "GOOGLE-CLOUD-PLATFORM", true, "google"},
		{"name with punctuation", "", "Amazon.com, Inc.", true, "amazon"},
		{"two-word name", "", "Meta Platforms, Inc.", true, "meta platforms"},
		{"Apple Inc", "", "Apple Inc.", true, "apple"},
		{"Pineapple Hosting", "", "Pineapple Hosting", false, ""},
		{"Metanet", "", "Metanet AG", false, ""},
		{"meta alone", "", "Meta Hosting Ltd", false, ""},
		{"Amazonas Telecom", "", "Amazonas Telecom", false, ""},
		{"Cdnext Ltd", "", "Cdnext Ltd", false, ""},
		{"Microsoftware", "", "Microsoftware Solutions", false, ""},
		{"empty", "", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := s.IsBenignNetwork(tt.asn, tt.org)
			if got != tt.want {
				t.Errorf("IsBenignNetwork(%q, %q) = %v, want %v (reason %q)", tt.asn, tt.org, got, tt.want, reason)
			}
			if !strings.Contains(reason, tt.wantReason) {
				t.Errorf("reason %q does not contain %q", reason, tt.wantReason)
			}
			if !tt.want && reason != "" {
				t.Errorf("reason = %q, want empty for a non-benign network", reason)
			}
		})
	}
}

// TestIsBenignNetworkCustomNames uses short names that the default list
// avoids, to show that a name never matches inside a longer word.
func TestIsBenignNetworkCustomNames(t *testing.T) {
	s := newScorer(t, func(o *Options) {
		o.Benign = &BenignList{
			Networks: []BenignNetwork{{ASN: 64500, Org: "Example CDN", Reason: "test network"}},
			Names:    []string{"cdn", "meta", "apple"},
		}
	})
	tests := []struct {
		org  string
		want bool
	}{
		{"Cdnext Ltd", false},
		{"Example CDN Ltd", true},
		{"Metanet", false},
		{"Meta", true},
		{"Pineapple Hosting", false},
		{"apple-dc", true},
	}
	for _, tt := range tests {
		if got, reason := s.IsBenignNetwork("", tt.org); got != tt.want {
			t.Errorf("IsBenignNetwork(%q) = %v, want %v (reason %q)", tt.org, got, tt.want, reason)
		}
	}

	if got, _ := s.IsBenignNetwork("AS15169", ""); got {
		t.Error("AS15169 matched although the custom list replaces the embedded one")
	}
	if got, _ := s.IsBenignNetwork("AS64500", ""); !got {
		t.Error("AS64500 from the custom list did not match")
	}
}

func TestParseASN(t *testing.T) {
	tests := []struct {
		field    string
		wantASN  uint32
		wantName string
	}{
		{"AS15169", 15169, ""},
		{"as15169", 15169, ""},
		{"15169", 15169, ""},
		{"  AS15169  ", 15169, ""},
		{"AS15169 Google LLC", 15169, "Google LLC"},
		{"AS4294967295", 4294967295, ""},
		{"AS4294967296", 0, "AS4294967296"},
		{"AS0", 0, "AS0"},
		{"AS", 0, "AS"},
		{"AS15169x", 0, "AS15169x"},
		{"AS-15169", 0, "AS-15169"},
		{"Google LLC", 0, "Google LLC"},
		{"", 0, ""},
	}
	for _, tt := range tests {
		asn, name := parseASN(tt.field)
		if asn != tt.wantASN || name != tt.wantName {
			t.Errorf("parseASN(%q) = %d, %q, want %d, %q", tt.field, asn, name, tt.wantASN, tt.wantName)
		}
	}
}

func FuzzParseBenignList(f *testing.F) {
	f.Add(benignFile)
	f.Add([]byte(`{"networks":[{"asn":64500,"org":"Example","reason":"test"}],"names":["example"]}`))
	f.Add([]byte(`{"networks":[{"asn":64500,"org":"Example","reason":"test"},{"asn":64500,"org":"Example","reason":"test"}]}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := ParseBenignList(data)
		if err != nil {
			return
		}

		seen := make(map[uint32]bool, len(list.Networks))
		for _, n := range list.Networks {
			if n.ASN == 0 {
				t.Fatal("accepted ASN 0")
			}
			if seen[n.ASN] {
				t.Fatalf("accepted duplicate AS%d", n.ASN)
			}
			seen[n.ASN] = true
		}

		opts := DefaultOptions()
		opts.Benign = &list
		s, err := New(opts)
		if err != nil {
			t.Fatalf("New rejected a list that ParseBenignList accepted: %v", err)
		}
		s.IsBenignNetwork("", "Example Hosting")
	})
}
