package feeds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/threat-intel/threat-intel/internal/version"
)

// validators identify the list in use, so an unchanged source is not read
// again.
type validators struct {
	loaded       bool
	etag         string
	lastModified string
	modTime      time.Time
	size         int64
}

// download is the outcome of one fetch: a parsed list, or notModified.
type download struct {
	result       Result
	notModified  bool
	etag         string
	lastModified string
	modTime      time.Time
	size         int64
}

func (m *Manager) fetch(ctx context.Context, c Config, previous validators) (download, error) {
	if c.IsURL() {
		got, err := m.fetchURL(ctx, c, previous)
		if err != nil {
			return download{}, fmt.Errorf("fetching %s: %w", redactLocation(c.Location), err)
		}
		return got, nil
	}
	got, err := m.readFile(ctx, c, previous)
	if err != nil {
		return download{}, fmt.Errorf("reading %s: %w", c.Location, err)
	}
	return got, nil
}

// fetchURL downloads a feed with a conditional GET. A 304 response keeps the
// list in use, and anything but 200 or 304 is an error: redirects too,
// because only configured URLs are fetched.
func (m *Manager) fetchURL(ctx context.Context, c Config, previous validators) (download, error) {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Location, nil)
	if err != nil {
		return download{}, errors.New("invalid URL")
	}
	req.Header.Set("User-Agent", version.UserAgent())
	req.Header.Set("Accept", "text/plain, text/csv, application/x-ndjson, application/json;q=0.9, */*;q=0.5")
	if previous.loaded {
		if previous.etag != "" {
			req.Header.Set("If-None-Match", previous.etag)
		}
		if previous.lastModified != "" {
			req.Header.Set("If-Modified-Since", previous.lastModified)
		}
	}

	resp, err := m.client.Do(req)
	if err != nil {
		return download{}, m.requestError(ctx, err)
	}
	defer resp.Body.Close()

	switch code := resp.StatusCode; {
	case code == http.StatusNotModified && previous.loaded:
		return download{notModified: true}, nil
	case code == http.StatusNotModified:
		return download{}, errors.New("HTTP 304 Not Modified, but no list is loaded: the server ignored the request's validators")
	case code >= 300 && code < 400:
		return download{}, fmt.Errorf("HTTP %d redirect to %s: redirects are not followed, so put the new URL in FEEDS",
			code, redactLocation(resp.Header.Get("Location")))
	case code != http.StatusOK:
		return download{}, fmt.Errorf("HTTP %s", resp.Status)
	}

	body := &countingReader{r: io.LimitReader(resp.Body, m.maxBody+1)}
	res, err := Parse(body, c.Format, req.URL.Path)
	if body.n > m.maxBody {
		return download{}, fmt.Errorf("body is larger than %d bytes", m.maxBody)
	}
	if err != nil {
		if ctx.Err() != nil {
			return download{}, m.requestError(ctx, err)
		}
		return download{}, err
	}
	return download{
		result:       res,
		etag:         resp.Header.Get("ETag"),
		lastModified: resp.Header.Get("Last-Modified"),
	}, nil
}

// requestError returns err without the request URL, which may hold a key,
// and names a timeout as one.
func (m *Manager) requestError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %v", m.timeout)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	return err
}

// readFile reads a file feed unless its size and modification time are
// those of the list in use.
func (m *Manager) readFile(ctx context.Context, c Config, previous validators) (download, error) {
	if err := ctx.Err(); err != nil {
		return download{}, err
	}
	info, err := os.Stat(c.Location)
	if err != nil {
		return download{}, err
	}
	if info.IsDir() {
		return download{}, errors.New("is a directory: want a file")
	}
	if previous.loaded && info.Size() == previous.size && info.ModTime().Equal(previous.modTime) {
		return download{notModified: true}, nil
	}
	if info.Size() > m.maxBody {
		return download{}, fmt.Errorf("file is larger than %d bytes", m.maxBody)
	}

	file, err := os.Open(c.Location)
	if err != nil {
		return download{}, err
	}
	defer file.Close()
	res, err := Parse(io.LimitReader(file, m.maxBody), c.Format, c.Location)
	if err != nil {
		return download{}, err
	}
	return download{result: res, modTime: info.ModTime(), size: info.Size()}, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
