package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The scrape job label that the reference's metric label "service" lost
// to: a series must keep port_service and risk_level beside it.
const scrapeServiceLabel = "threat-intel"

func TestServeScrapedByVictoriaMetrics(t *testing.T) {
	t.Parallel()
	requireBinary(t)
	s := startScanService(t, startProviders(t), serveOptions{})
	vm := startVictoriaMetrics(t, strings.TrimPrefix(s.URL, "http://"))

	var series []map[string]string
	waitFor(t, cycleTimeout, "threat_intel_port_event_count in VictoriaMetrics", func() bool {
		series = vm.query(t, "threat_intel_port_event_count")
		return len(series) > 0
	})

	ports := make(map[string]bool)
	for _, labels := range series {
		ports[labels["port"]] = true
		if labels["service"] != scrapeServiceLabel {
			t.Errorf("series %v: service = %q, want %q from the scrape job", labels, labels["service"], scrapeServiceLabel)
		}
		if labels["port_service"] == "" || labels["risk_level"] == "" {
			t.Errorf("series %v lacks port_service or risk_level", labels)
		}
		if _, ok := labels["exported_service"]; ok {
			t.Errorf("series %v has exported_service: the metric had a label that clashed with the scrape job's", labels)
		}
	}
	// Every targeted port of the fixture is scraped; 22 and 3389 stand
	// for them.
	for _, port := range []string{"22", "3389"} {
		if !ports[port] {
			t.Errorf("no series for port %s in VictoriaMetrics; got ports %v", port, ports)
		}
	}

	vm.stop(t)
	s.stop(t)
}

// victoriaMetrics is a VictoriaMetrics process of the test's own.
type victoriaMetrics struct {
	cmd    *exec.Cmd
	url    string
	log    *processLog
	exited chan struct{}
}

// startVictoriaMetrics starts VictoriaMetrics on a free port of 127.0.0.1
// with its data in a temporary directory, scraping http://target/metrics
// every second with the label service="threat-intel". The test fails when
// victoria-metrics is not installed.
func startVictoriaMetrics(t *testing.T, target string) *victoriaMetrics {
	t.Helper()
	bin, err := exec.LookPath("victoria-metrics")
	if err != nil {
		t.Fatalf("victoria-metrics not found (%v): run scripts/test-services.sh, which installs the Debian package victoria-metrics", err)
	}

	dir := t.TempDir()
	config := fmt.Sprintf(`scrape_configs:
  - job_name: threat-intel
    scrape_interval: 1s
    static_configs:
      - targets: [%q]
        labels:
          service: %s
`, target, scrapeServiceLabel)
	configPath := filepath.Join(dir, "scrape.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}

	addr := freeTCPAddr(t)
	vm := &victoriaMetrics{url: "http://" + addr, log: &processLog{}, exited: make(chan struct{})}
	vm.cmd = exec.Command(bin,
		"-httpListenAddr="+addr,
		"-storageDataPath="+filepath.Join(dir, "data"),
		"-retentionPeriod=1d",
		"-promscrape.config="+configPath,
		// Samples are visible to queries one second after they are
		// scraped instead of the default 30.
		"-search.latencyOffset=1s",
	)
	vm.cmd.Stdout, vm.cmd.Stderr = vm.log, vm.log
	if err := vm.cmd.Start(); err != nil {
		t.Fatalf("starting victoria-metrics: %v", err)
	}
	go func() {
		_ = vm.cmd.Wait()
		close(vm.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-vm.exited:
		default:
			_ = vm.cmd.Process.Kill()
			<-vm.exited
		}
		if t.Failed() {
			t.Logf("victoria-metrics output:\n%s", vm.log.String())
		}
	})

	waitFor(t, startTimeout, "victoria-metrics /health", func() bool {
		resp, err := client.Get(vm.url + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return vm
}

// query runs an instant query and returns the label sets of the resulting
// series. It first makes the samples ingested so far searchable with
// /internal/force_flush, which VictoriaMetrics otherwise does every few
// seconds, and it bypasses the response cache.
func (vm *victoriaMetrics) query(t *testing.T, promql string) []map[string]string {
	t.Helper()
	flush, err := client.Get(vm.url + "/internal/force_flush")
	if err != nil {
		t.Fatalf("flushing victoria-metrics: %v", err)
	}
	flush.Body.Close()

	resp, err := client.Get(vm.url + "/api/v1/query?nocache=1&query=" + url.QueryEscape(promql))
	if err != nil {
		t.Fatalf("querying victoria-metrics: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query %s: status %q, decoding error %v", promql, body.Status, err)
	}
	var out []map[string]string
	for _, r := range body.Data.Result {
		out = append(out, r.Metric)
	}
	return out
}

// stop sends SIGTERM and waits for victoria-metrics to exit.
func (vm *victoriaMetrics) stop(t *testing.T) {
	t.Helper()
	if err := vm.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("stopping victoria-metrics: %v", err)
	}
	select {
	case <-vm.exited:
	case <-time.After(10 * time.Second):
		t.Error("victoria-metrics did not exit within 10s of SIGTERM")
	}
}

// freeTCPAddr returns a 127.0.0.1 address with a port that was free a
// moment ago, for a program that takes no port 0.
func freeTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
