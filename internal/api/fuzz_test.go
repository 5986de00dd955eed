package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzIPRoute sends arbitrary {ip} path values: every response is a JSON body
// with a status the route documents, never a 500.
func FuzzIPRoute(f *testing.F) {
	for _, seed := range []string{
		"203.0.113.7", "2001:db8::dead:beef", "::ffff:203.0.113.7", "fe80::1%eth0", "192.168.1.20",
		"203.0.113.256", "203.0.113.0/24", "", "%", "1.2.3.4.5", "::", "0.0.0.0", strings.Repeat("9", 100),
	} {
		f.Add(seed)
	}
	h := newPublished(f).Handler()

	f.Fuzz(func(t *testing.T, s string) {
		target := "/api/ip/" + url.PathEscape(s)
		rec := serve(t, h, http.MethodGet, target, nil)
		switch {
		case rec.Code == http.StatusOK, rec.Code == http.StatusBadRequest, rec.Code == http.StatusNotFound:
		case path.Clean(target) != target && rec.Code/100 == 3:
			// ServeMux redirects a path with "." or ".." segments to its
			// clean form before any route handles it.
			return
		default:
			t.Fatalf("%q: status %d", s, rec.Code)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%q: body is not JSON: %s", s, rec.Body)
		}
	})
}

// FuzzIfNoneMatch sends arbitrary If-None-Match values: the response is 304
// exactly when one list item is "*" or the ETag, plain or weak.
func FuzzIfNoneMatch(f *testing.F) {
	h := newPublished(f).Handler()
	etag := serve(f, h, http.MethodGet, "/api/infinity/summary", nil).Header().Get("ETag")
	for _, seed := range []string{etag, "W/" + etag, "*", `"x", ` + etag, ",,,", " \t", `W/"`, ""} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, v string) {
		rec := serve(t, h, http.MethodGet, "/api/infinity/summary", http.Header{"If-None-Match": {v}})
		want := http.StatusOK
		for _, item := range strings.Split(v, ",") {
			item = strings.Trim(item, " \t")
			if item == "*" || item == etag || item == "W/"+etag {
				want = http.StatusNotModified
			}
		}
		if rec.Code != want {
			t.Fatalf("If-None-Match %q: status %d, want %d", v, rec.Code, want)
		}
	})
}
