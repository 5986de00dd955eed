package store

import (
	"net/url"
	"strings"
)

// redacted replaces user information in URLs and secrets in error text.
const redacted = "xxxxx"

// splitUserinfo returns the user information of a URL such as
// "redis://user:password@host:6379/0" and its position in raw. It works on
// the text, not on a parsed URL, so that it also finds the secret in a URL
// that does not parse. It returns start -1 when there is none.
func splitUserinfo(raw string) (userinfo string, start int) {
	start = 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + len("://")
	}
	authority := raw[start:]
	if end := strings.IndexAny(authority, "/?#"); end >= 0 {
		authority = authority[:end]
	}
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return "", -1
	}
	return authority[:at], start
}

// redactURL returns raw with its user information, name and password
// alike, replaced by "xxxxx".
func redactURL(raw string) string {
	userinfo, start := splitUserinfo(raw)
	if start < 0 {
		return raw
	}
	return raw[:start] + redacted + raw[start+len(userinfo):]
}

// urlSecrets returns the strings of raw that must never appear in an error:
// the user information, the password as written and the password decoded.
func urlSecrets(raw string) []string {
	userinfo, start := splitUserinfo(raw)
	if start < 0 || userinfo == "" {
		return nil
	}
	secrets := []string{userinfo}
	if _, password, ok := strings.Cut(userinfo, ":"); ok && password != "" {
		secrets = append(secrets, password)
		if decoded, err := url.PathUnescape(password); err == nil && decoded != password {
			secrets = append(secrets, decoded)
		}
	}
	return secrets
}

// scrubbedError is an error whose text had secrets replaced. It does not
// unwrap to the original, whose text still contains them.
type scrubbedError struct{ msg string }

func (e *scrubbedError) Error() string { return e.msg }

// scrub returns err unchanged when its text contains none of secrets, and an
// error with each secret replaced by "xxxxx" otherwise. The replacement
// loses the wrapped chain, so errors.Is no longer matches it: keeping the
// secret out of logs matters more.
func scrub(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if scrubbed := scrubText(msg, secrets); scrubbed != msg {
		return &scrubbedError{msg: scrubbed}
	}
	return err
}

// scrubText returns text with each of secrets replaced by "xxxxx".
func scrubText(text string, secrets []string) string {
	for _, secret := range secrets {
		if secret != "" {
			text = strings.ReplaceAll(text, secret, redacted)
		}
	}
	return text
}
