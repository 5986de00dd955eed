package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// repeatInterval is how often an error equal to the previous one is logged.
// A broken collector fails every scrape, so without it each scrape logs.
const repeatInterval = 5 * time.Minute

// Handler returns the /metrics handler for g. A collector that fails does
// not fail the scrape: the other series are served, and the error is logged
// to log (nil discards it).
func Handler(g prometheus.Gatherer, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      newErrorLog(log, time.Now),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// errorLog passes the error messages of promhttp to slog. A message equal
// to the previous one is logged at most once per repeatInterval, with the
// number of its repeats left out in between. A different message is logged
// at once, and the repeats of the previous one since it was last logged
// are then not reported.
type errorLog struct {
	log *slog.Logger
	now func() time.Time

	mu         sync.Mutex
	last       string
	lastLogged time.Time
	repeats    int
}

func newErrorLog(log *slog.Logger, now func() time.Time) *errorLog {
	return &errorLog{log: log, now: now}
}

// Println implements promhttp.Logger.
func (l *errorLog) Println(v ...any) {
	msg := strings.TrimSpace(fmt.Sprintln(v...))
	now := l.now()

	l.mu.Lock()
	if msg == l.last && now.Sub(l.lastLogged) < repeatInterval {
		l.repeats++
		l.mu.Unlock()
		return
	}
	repeats := 0
	if msg == l.last {
		repeats = l.repeats
	}
	l.last, l.lastLogged, l.repeats = msg, now, 0
	l.mu.Unlock()

	l.log.Error("serving metrics failed", "err", msg, "repeats_not_logged", repeats)
}
