package provider

import (
	"net/url"
	"regexp"
	"strings"
)

// Redacted replaces a secret in error text.
const Redacted = "REDACTED"

// secretQueryParam matches the value of a query parameter that commonly
// carries a credential, in a URL or in any text that quotes one.
var secretQueryParam = regexp.MustCompile(`(?i)([?&;](?:token|key|apikey|api_key|access_token|auth)=)[^&#\s"'<>]*`)

// Redactor removes known secrets, and the values of credential-like query
// parameters, from text that goes into an error.
type Redactor struct {
	secrets []string
}

// NewRedactor returns a Redactor for the given secrets. Empty strings are
// ignored. Each secret is also removed in its URL-escaped forms, because
// a token in a query string appears escaped in a *url.Error.
func NewRedactor(secrets ...string) Redactor {
	var r Redactor
	for _, s := range secrets {
		if s == "" {
			continue
		}
		r.secrets = append(r.secrets, s)
		for _, escaped := range []string{url.QueryEscape(s), url.PathEscape(s)} {
			if escaped != s {
				r.secrets = append(r.secrets, escaped)
			}
		}
	}
	return r
}

// String returns s with every secret and credential-like query value
// replaced by Redacted.
func (r Redactor) String(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, Redacted)
	}
	return secretQueryParam.ReplaceAllString(s, "${1}"+Redacted)
}

// URL returns u as text with its password, its credential-like query values
// and every known secret replaced by Redacted.
func (r Redactor) URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	return r.String(u.Redacted())
}

// Error returns err with its text redacted. The result matches the same
// errors.Is and errors.As targets as err but does not unwrap to it. A typed
// error reached through errors.As keeps its own text, so the code that
// builds a typed error redacts its fields too.
func (r Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	text := err.Error()
	clean := r.String(text)
	if clean == text {
		return err
	}
	return &redactedError{text: clean, err: err}
}
