package narrative

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"

	"github.com/threat-intel/threat-intel/internal/report"
)

// modelClient sends one request to a model through its provider's SDK,
// with the SDK's own retries turned off.
type modelClient interface {
	complete(ctx context.Context, p prompt, maxTokens int) (completion, error)
}

// completion is a model's response before it is parsed.
type completion struct {
	// output is the JSON text: a tool's input or the message text.
	output []byte
	// stopReason is the provider's stop or finish reason.
	stopReason string
	truncated  bool
	// refusal is the model's refusal text, or the stop reason of a refusal.
	refusal      string
	inputTokens  int64
	outputTokens int64
}

// apiStatus is the HTTP status, Retry-After header and provider error
// message of a failed request.
type apiStatus struct {
	code       int
	retryAfter string
	message    string
}

// Request outcomes, the values of the outcome label of
// threat_intel_narrative_requests_total.
const (
	outcomeOK           = "ok"
	outcomeEmpty        = "empty"
	outcomeTruncated    = "truncated"
	outcomeInvalid      = "invalid"
	outcomeRefused      = "refused"
	outcomeRateLimited  = "rate_limited"
	outcomeUnauthorized = "unauthorized"
	outcomeTimeout      = "timeout"
	outcomeError        = "error"
)

var requestOutcomes = []string{
	outcomeOK, outcomeEmpty, outcomeTruncated, outcomeInvalid, outcomeRefused,
	outcomeRateLimited, outcomeUnauthorized, outcomeTimeout, outcomeError,
}

// failure is the reason one attempt produced no narrative. Its text becomes
// the narrative's error field, so it is redacted of the key.
type failure struct {
	outcome string
	text    string
	retry   bool
	// delay is the pause the server asked for before the retry, or 0.
	delay time.Duration
}

func (f *failure) Error() string { return f.text }

// ask sends the prompt and returns the checked narrative. A failed attempt
// is retried once, after a truncated response with twice the token budget.
func (g *Generator) ask(ctx context.Context, p prompt) (report.Narrative, error) {
	maxTokens := g.maxTokens
	var last *failure
	for attempt := 1; attempt <= 2; attempt++ {
		n, f := g.attempt(ctx, p, maxTokens)
		if f == nil {
			return n, nil
		}
		last = f
		if attempt == 2 || !f.retry || ctx.Err() != nil {
			break
		}

		delay := g.retryDelay
		if f.delay > 0 {
			delay = f.delay
		}
		if f.outcome == outcomeTruncated {
			maxTokens = min(2*maxTokens, max(maxRetryTokens, maxTokens))
		}
		g.logger.Warn("narrative request failed, retrying once", "provider", g.name, "model", g.model,
			"err", f.text, "retry_in_seconds", delay.Seconds(), "max_tokens", maxTokens)
		if err := sleep(ctx, delay); err != nil {
			break
		}
	}
	if ctx.Err() != nil {
		return report.Narrative{}, &failure{outcome: last.outcome, text: g.name + ": canceled: " + ctx.Err().Error()}
	}
	return report.Narrative{}, last
}

// attempt sends one request with its own timeout and checks the response.
func (g *Generator) attempt(ctx context.Context, p prompt, maxTokens int) (report.Narrative, *failure) {
	actx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()

	c, err := g.client.complete(actx, p, maxTokens)
	g.metrics.addTokens(c.inputTokens, c.outputTokens)
	if err != nil {
		timedOut := errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		f := g.requestFailure(err, timedOut)
		g.metrics.countRequest(f.outcome)
		return report.Narrative{}, f
	}

	n, f := g.checkCompletion(c)
	if f != nil {
		g.metrics.countRequest(f.outcome)
		return report.Narrative{}, f
	}
	g.metrics.countRequest(outcomeOK)
	return n, nil
}

// checkCompletion turns a response into a narrative, or into the failure
// that explains why it is unusable. Truncation is checked first, because a
// cut-off response may still contain a JSON object that parses.
func (g *Generator) checkCompletion(c completion) (report.Narrative, *failure) {
	switch {
	case c.truncated:
		return report.Narrative{}, &failure{outcome: outcomeTruncated, retry: true,
			text: fmt.Sprintf("%s: truncated response (%s)", g.name, c.stopReason)}
	case c.refusal != "":
		return report.Narrative{}, &failure{outcome: outcomeRefused, retry: true,
			text: fmt.Sprintf("%s: the model refused: %s", g.name, g.redact(cleanText(c.refusal, 200)))}
	}

	n, err := parseNarrative(c.output)
	switch {
	case errors.Is(err, errEmptyAnswer):
		return report.Narrative{}, &failure{outcome: outcomeEmpty, retry: true,
			text: fmt.Sprintf("%s: empty response (stop reason %s)", g.name, cmp.Or(c.stopReason, "unknown"))}
	case err != nil:
		return report.Narrative{}, &failure{outcome: outcomeInvalid, retry: true,
			text: g.name + ": " + g.redact(err.Error())}
	}
	return n, nil
}

// requestFailure classifies a request error. Rate limits, server errors,
// timeouts and connection errors are retried. An authentication error or a
// rejected request is not, because the same request would fail again.
func (g *Generator) requestFailure(err error, timedOut bool) *failure {
	if timedOut {
		return &failure{outcome: outcomeTimeout, retry: true,
			text: fmt.Sprintf("%s: timed out after %s", g.name, g.timeout)}
	}
	if st, ok := statusOf(err); ok {
		text := fmt.Sprintf("%s: HTTP %d %s", g.name, st.code, http.StatusText(st.code))
		if msg := cleanText(st.message, 200); msg != "" {
			text += ": " + msg
		}
		f := &failure{outcome: outcomeError, text: g.redact(text)}
		switch {
		case st.code == http.StatusTooManyRequests:
			f.outcome = outcomeRateLimited
			f.delay, f.retry = retryAfter(st.retryAfter)
		case st.code == http.StatusUnauthorized || st.code == http.StatusForbidden:
			f.outcome = outcomeUnauthorized
		case st.code == http.StatusRequestTimeout || st.code == http.StatusConflict || st.code >= 500:
			f.retry = true
		}
		return f
	}

	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return &failure{outcome: outcomeTimeout, retry: true,
			text: fmt.Sprintf("%s: timed out: %s", g.name, g.redact(cleanText(err.Error(), 300)))}
	}
	return &failure{outcome: outcomeError, retry: true,
		text: fmt.Sprintf("%s: request failed: %s", g.name, g.redact(cleanText(err.Error(), 300)))}
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date. It
// returns the pause and whether to retry at all: a pause longer than
// MaxRetryAfter is not waited for.
func retryAfter(header string) (time.Duration, bool) {
	header = strings.TrimSpace(header)
	if header == "" {
		return 0, true
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(header, 64); err == nil {
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(header); err == nil {
		d = time.Until(t)
	} else {
		return 0, true
	}
	if d > MaxRetryAfter {
		return 0, false
	}
	return max(d, 0), true
}

// redact removes the key and the base URL's password from text.
func (g *Generator) redact(text string) string {
	for _, s := range g.secrets {
		text = strings.ReplaceAll(text, s, "REDACTED")
	}
	return text
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// statusOf returns the HTTP status of an API error of either SDK.
func statusOf(err error) (apiStatus, bool) {
	var ae *anthropic.Error
	if errors.As(err, &ae) {
		st := apiStatus{code: ae.StatusCode, message: ae.Message}
		if ae.Response != nil {
			st.retryAfter = ae.Response.Header.Get("Retry-After")
		}
		return st, true
	}
	var oe *openai.Error
	if errors.As(err, &oe) {
		st := apiStatus{code: oe.StatusCode, message: oe.Message}
		if oe.Response != nil {
			st.retryAfter = oe.Response.Header.Get("Retry-After")
		}
		return st, true
	}
	return apiStatus{}, false
}
