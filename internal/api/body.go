package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
)

const (
	contentTypeJSON = "application/json"
	contentTypeText = "text/plain; charset=utf-8"
)

// Header values shared by every response. Each slice has a capacity of one,
// so a later Header().Add copies it instead of writing into the shared array.
var (
	noCacheValue = []string{"no-cache"}
	noStoreValue = []string{"no-store"}
	nosniffValue = []string{"nosniff"}
)

// body is one encoded response with its precomputed headers. It is never
// changed after newBody returns, so many requests can write it at once.
type body struct {
	status        int
	data          []byte
	contentType   []string
	contentLength []string
	// etag is nil for error bodies, which are never revalidated.
	etag []string
}

// newBody wraps data. Successful bodies get a strong ETag: the quoted
// hex of the first 16 bytes of the SHA-256 of data.
func newBody(status int, contentType string, data []byte) *body {
	b := &body{
		status:        status,
		data:          data,
		contentType:   []string{contentType},
		contentLength: []string{strconv.Itoa(len(data))},
	}
	if status == http.StatusOK {
		sum := sha256.Sum256(data)
		b.etag = []string{`"` + hex.EncodeToString(sum[:16]) + `"`}
	}
	return b
}

// encodeJSON encodes v without HTML escaping, so "&", "<" and ">" in
// organisation names and narratives stay readable. The result ends in a
// newline, as encoding/json's Encoder writes it.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// jsonBody encodes v into a body.
func jsonBody(status int, v any) (*body, error) {
	data, err := encodeJSON(v)
	if err != nil {
		return nil, err
	}
	return newBody(status, contentTypeJSON, data), nil
}

// write sends b, or 304 Not Modified when the request's If-None-Match
// names b's ETag. A HEAD request gets the headers only.
func (b *body) write(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Content-Type"] = b.contentType
	h["X-Content-Type-Options"] = nosniffValue
	if b.etag == nil {
		h["Cache-Control"] = noStoreValue
	} else {
		h["Cache-Control"] = noCacheValue
		h["Etag"] = b.etag
		if inm, ok := r.Header["If-None-Match"]; ok && etagMatches(inm, b.etag[0]) {
			delete(h, "Content-Type")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h["Content-Length"] = b.contentLength
	w.WriteHeader(b.status)
	if r.Method != http.MethodHead {
		// A write error means the client closed the connection, so the
		// error has no one to go to.
		_, _ = w.Write(b.data)
	}
}

// etagMatches reports whether any If-None-Match header value matches etag
// under the weak comparison that If-None-Match uses: "*" matches, and a
// "W/" prefix is ignored.
func etagMatches(values []string, etag string) bool {
	for _, v := range values {
		for len(v) > 0 {
			var item string
			item, v = nextListItem(v)
			if item == "*" || item == etag || (len(item) > 2 && item[:2] == "W/" && item[2:] == etag) {
				return true
			}
		}
	}
	return false
}

// nextListItem splits the first comma-separated item off a header value and
// trims the spaces and tabs around it.
func nextListItem(v string) (item, rest string) {
	end := len(v)
	for i := 0; i < len(v); i++ {
		if v[i] == ',' {
			end = i
			break
		}
	}
	item, rest = v[:end], ""
	if end < len(v) {
		rest = v[end+1:]
	}
	for len(item) > 0 && (item[0] == ' ' || item[0] == '\t') {
		item = item[1:]
	}
	for len(item) > 0 && (item[len(item)-1] == ' ' || item[len(item)-1] == '\t') {
		item = item[:len(item)-1]
	}
	return item, rest
}
