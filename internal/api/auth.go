package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// authorized reports whether r carries the API token as a bearer token,
// or, when inQuery is true, as the "token" query parameter. The scheme
// name is case-insensitive. Both tokens are hashed before the constant-time
// comparison, so neither the content nor the length of the configured token
// leaks through the response time.
func (a *API) authorized(r *http.Request, inQuery bool) bool {
	token, ok := bearerToken(r)
	if !ok && inQuery {
		token = r.URL.Query().Get("token")
		ok = token != ""
	}
	if !ok {
		return false
	}
	got := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], a.tokenHash[:]) == 1
}

func bearerToken(r *http.Request) (string, bool) {
	const scheme = "bearer "
	v := r.Header.Get("Authorization")
	if len(v) <= len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", false
	}
	return strings.TrimSpace(v[len(scheme):]), true
}

// unauthorized builds the 401. A request without a bearer token gets a
// challenge with no error code, and a request with a wrong token gets
// error="invalid_token", as RFC 6750 section 3.1 specifies.
func (a *API) unauthorized(r *http.Request) error {
	if _, ok := bearerToken(r); !ok {
		return &statusError{
			status: http.StatusUnauthorized,
			msg:    "missing bearer token: send the header Authorization: Bearer followed by the API token",
			header: http.Header{"Www-Authenticate": {`Bearer realm="threat-intel"`}},
		}
	}
	return &statusError{
		status: http.StatusUnauthorized,
		msg:    "invalid bearer token: send the API token configured in API_TOKEN",
		header: http.Header{"Www-Authenticate": {`Bearer realm="threat-intel", error="invalid_token"`}},
	}
}
