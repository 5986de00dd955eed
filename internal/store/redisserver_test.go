package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// defaultRedisTestURL is the shared Redis that the conformance tests use
// when REDIS_TEST_URL is unset. Database 9 keeps test keys away from the
// service's database 0.
const defaultRedisTestURL = "redis://127.0.0.1:6379/9"

// redisTestURL returns the URL of the shared test Redis and fails the test
// when that server cannot be reached.
func redisTestURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("REDIS_TEST_URL")
	if url == "" {
		url = defaultRedisTestURL
	}
	client := rawRedisClient(t, url)
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("the Redis tests need a Redis server at %s (set REDIS_TEST_URL to another one): %v", redactURL(url), err)
	}
	return url
}

// rawRedisClient returns a client that reads and writes keys directly, for
// checks of the key layout and for cleanup.
func rawRedisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redisOptions(url)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// uniquePrefix returns a key prefix of random hex digits that no other test
// uses, and deletes every key under it when the test ends.
func uniquePrefix(t *testing.T, client *redis.Client) string {
	t.Helper()
	prefix := "threat-intel-test:" + uniqueHex(6) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			if err := client.Del(ctx, iter.Val()).Err(); err != nil {
				t.Errorf("deleting test key %s: %v", iter.Val(), err)
			}
		}
		if err := iter.Err(); err != nil {
			t.Errorf("listing test keys %s*: %v", prefix, err)
		}
	})
	return prefix
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// redisServer is a redis-server process of one test, listening on
// 127.0.0.1 without persistence.
type redisServer struct {
	t    *testing.T
	port int
	args []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	output *bytes.Buffer
}

// startRedisServer starts redis-server on port with the extra args and
// waits until it replies. The server is killed when the test ends.
func startRedisServer(t *testing.T, port int, args ...string) *redisServer {
	t.Helper()
	s := &redisServer{t: t, port: port, args: args}
	s.start()
	t.Cleanup(s.kill)
	return s
}

func (s *redisServer) start() {
	s.t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		s.t.Fatalf("redis-server is not installed (Debian: apt-get install redis-server); the Redis failure tests start their own server: %v", err)
	}

	args := append([]string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.t.TempDir(),
	}, s.args...)
	output := &bytes.Buffer{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = output
	cmd.Stderr = output
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}

	s.mu.Lock()
	s.cmd, s.output = cmd, output
	s.mu.Unlock()

	deadline := time.Now().Add(5 * time.Second)
	for !s.replies() {
		if time.Now().After(deadline) {
			s.kill()
			s.t.Fatalf("redis-server on port %d did not reply within 5 s; its output:\n%s", s.port, output)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// replies reports whether the server sends any reply to PING, an
// authentication error included.
func (s *redisServer) replies() bool {
	conn, err := net.DialTimeout("tcp", s.addr(), 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	_, err = bufio.NewReader(conn).ReadString('\n')
	return err == nil
}

func (s *redisServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// kill stops the server with SIGKILL, as a crash would, and waits for it.
func (s *redisServer) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// uniqueHex returns n random bytes as hex, for key prefixes and for
// passwords that must not appear in errors.
func uniqueHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
