// End-to-end tests of `threat-intel serve`. TestMain builds the real binary
// once. Each test then runs it as its own process on 127.0.0.1, with its own
// data directory, a fixture log written at test time and the providers
// replayed by httptest servers from the corpus responses.

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

// binaryPath is the threat-intel binary that TestMain builds, empty in
// -short mode.
var binaryPath string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}

	dir, err := os.MkdirTemp("", "threat-intel-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "creating the build directory: %v\n", err)
		os.Exit(1)
	}
	binaryPath = filepath.Join(dir, "threat-intel")
	out, err := exec.Command("go", "build", "-o", binaryPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building threat-intel: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}

	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Bounds of the waits. They are generous because the machine running the
// tests may be busy; a passing test waits only as long as the service needs.
const (
	startTimeout = 15 * time.Second
	cycleTimeout = 20 * time.Second
	pollInterval = 25 * time.Millisecond
)

// shutdownTimeout is SHUTDOWN_TIMEOUT_SECONDS for every process the tests
// start. A process must exit within it plus shutdownGrace after SIGTERM.
const (
	shutdownTimeout = 3 * time.Second
	shutdownGrace   = 2 * time.Second
)

// server is one running `threat-intel serve` process.
type server struct {
	cmd *exec.Cmd
	URL string // http://127.0.0.1:PORT, from the start-up log
	log *processLog

	exited chan struct{} // closed once the process has exited
}

// serveOptions configures startServe.
type serveOptions struct {
	// DataDir is DATA_DIR. Empty means a new t.TempDir().
	DataDir string
	// Env holds KEY=VALUE settings added after the defaults; a later
	// value of the same key wins.
	Env []string
}

// startServe starts `threat-intel serve` listening on a free port of
// 127.0.0.1 and waits until it logs that it started. The process gets no
// environment from the test runner but PATH, so no key or setting of the
// developer's shell leaks in, and it runs in an empty directory, so no .env
// file is read. It is killed when the test ends, and its log is shown when
// the test failed.
func startServe(t testing.TB, opts serveOptions) *server {
	t.Helper()
	requireBinary(t)

	home := t.TempDir()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"TZ=UTC",
		"LISTEN_ADDR=127.0.0.1:0",
		"LOG_FORMAT=json",
		"DATA_DIR=" + opts.DataDir,
		// Cycles run at start-up and on SIGHUP only.
		"ENRICHMENT_INTERVAL_SECONDS=3600",
		"FOLLOW_INTERVAL_MS=50",
		fmt.Sprintf("SHUTDOWN_TIMEOUT_SECONDS=%d", int(shutdownTimeout/time.Second)),
	}
	env = append(env, opts.Env...)

	cmd := exec.Command(binaryPath, "serve")
	cmd.Env = env
	cmd.Dir = home
	s := &server{cmd: cmd, log: &processLog{}, exited: make(chan struct{})}
	cmd.Stdout = s.log
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatalf("creating the stderr pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s serve: %v", binaryPath, err)
	}
	go func() {
		// Wait only after the pipe is drained, as os/exec requires.
		_, _ = io.Copy(s.log, stderr)
		_ = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("threat-intel serve output:\n%s", s.log.String())
		}
	})

	started := s.waitLog(t, "threat-intel started", startTimeout)
	addr, _ := started["listen"].(string)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("start-up log listen = %q, want an address on 127.0.0.1", addr)
	}
	s.URL = "http://" + addr
	return s
}

// requireBinary skips end-to-end tests in -short mode, where TestMain
// builds no binary. Tests call it first, before they read the corpus,
// because -short runs need no corpus either.
func requireBinary(t testing.TB) {
	t.Helper()
	if binaryPath == "" {
		t.Skip("end-to-end test of the built binary: skipped in -short mode")
	}
}

// stop sends SIGTERM and checks that the process exits with status 0
// within SHUTDOWN_TIMEOUT_SECONDS plus a grace period.
func (s *server) stop(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("sending SIGTERM: %v", err)
	}
	s.waitExit(t, shutdownTimeout+shutdownGrace)
}

// waitExit waits up to bound for the process to exit and checks that its
// exit status is 0.
func (s *server) waitExit(t testing.TB, bound time.Duration) {
	t.Helper()
	select {
	case <-s.exited:
	case <-time.After(bound):
		t.Fatalf("serve did not exit within %v of SIGTERM", bound)
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status after SIGTERM = %d, want 0", code)
	}
}

// hangup sends SIGHUP, which makes serve run a cycle now.
func (s *server) hangup(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("sending SIGHUP: %v", err)
	}
}

// runCycle makes serve run one cycle with SIGHUP and waits until it has
// finished, successfully or not. Call it only when no cycle is running,
// because it waits for the cycle counter to move.
func (s *server) runCycle(t testing.TB) {
	t.Helper()
	before := s.cycles(t)
	s.hangup(t)
	waitFor(t, cycleTimeout, "the cycle started by SIGHUP", func() bool { return s.cycles(t) > before })
}

// cycles returns the number of finished cycles of every outcome, from
// threat_intel_cycles_total. The service counts a cycle after it has
// published the cycle's report.
func (s *server) cycles(t testing.TB) float64 {
	t.Helper()
	var n float64
	for _, m := range s.metrics(t)["threat_intel_cycles_total"].GetMetric() {
		n += m.GetCounter().GetValue()
	}
	return n
}

// waitFirstCycle waits until the first cycle has finished, successfully or
// not.
func (s *server) waitFirstCycle(t testing.TB) {
	t.Helper()
	waitFor(t, cycleTimeout, "the first cycle", func() bool { return s.cycles(t) >= 1 })
}

// response is a received HTTP response with its whole body.
type response struct {
	status int
	header http.Header
	body   []byte
}

var client = &http.Client{Timeout: 10 * time.Second}

// get sends a GET for path with the given headers, given as name and value
// pairs, and returns the response.
func (s *server) get(t testing.TB, path string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatalf("building the request for %s: %v", path, err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body of GET %s: %v", path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// getJSON sends a GET for path, requires status 200 and decodes the body
// into v.
func (s *server) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	r := s.get(t, path)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200; body %s", path, r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("GET %s: decoding the body: %v\n%s", path, err, r.body)
	}
}

// healthBody is the body of /health.
type healthBody struct {
	Status          string   `json:"status"`
	ReportAvailable bool     `json:"report_available"`
	Reasons         []string `json:"reasons"`
	GeneratedAt     *string  `json:"generated_at"`
	LastSuccess     *string  `json:"last_success"`
	Stale           bool     `json:"stale"`
}

func (s *server) health(t testing.TB) healthBody {
	t.Helper()
	var h healthBody
	s.getJSON(t, "/health", &h)
	return h
}

// waitReport waits until a cycle has succeeded and every step after it is
// done. /health has a last_success only once the cycle's job has returned,
// which is after the report is published and stored, the blocklist is
// updated and the cycle is counted.
func (s *server) waitReport(t testing.TB) {
	t.Helper()
	waitFor(t, cycleTimeout, "a successful cycle (/health last_success)", func() bool {
		h := s.health(t)
		return h.ReportAvailable && h.LastSuccess != nil
	})
}

// scrape returns the /metrics body in the Prometheus text format.
func (s *server) scrape(t testing.TB) []byte {
	t.Helper()
	r := s.get(t, "/metrics", "Accept", "text/plain; version=0.0.4")
	if r.status != http.StatusOK {
		t.Fatalf("GET /metrics: status %d, body %s", r.status, r.body)
	}
	return r.body
}

// metrics returns the parsed /metrics exposition by family name.
func (s *server) metrics(t testing.TB) map[string]*dto.MetricFamily {
	t.Helper()
	body := s.scrape(t)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing the /metrics exposition: %v\n%s", err, body)
	}
	return families
}

// labels returns the label pairs of m as a map.
func labels(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// waitFor polls cond until it returns true and fails the test when timeout
// passes first. condition names the awaited state in the failure.
func waitFor(t testing.TB, timeout time.Duration, condition string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, condition)
		}
		time.Sleep(pollInterval)
	}
}

// processLog collects a process's output. It is safe for concurrent use.
type processLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *processLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *processLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// records returns the JSON log records with the message msg, in order.
func (l *processLog) records(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// waitLog waits until the process logs a record with the message msg and
// returns the first one. It fails the test when the process exits first.
func (s *server) waitLog(t testing.TB, msg string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if recs := s.log.records(msg); len(recs) > 0 {
			return recs[0]
		}
		select {
		case <-s.exited:
			t.Fatalf("serve exited with status %d before logging %q", s.cmd.ProcessState.ExitCode(), msg)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for the log message %q", timeout, msg)
		}
		time.Sleep(pollInterval)
	}
}
