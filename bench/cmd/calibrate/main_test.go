package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// serveTest serves srv on a free loopback port for the test and returns
// the base URL and a function that stops srv and checks that it stopped
// cleanly.
func serveTest(t *testing.T, srv server) (url string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.serve(ln) }()
	return "http://" + ln.Addr().String() + "/", func() {
		t.Helper()
		if err := srv.stop(errc); err != nil {
			t.Fatalf("stop: %v", err)
		}
	}
}

// get sends GET url, with a session cookie unless cookie is empty, and
// returns the response and its body.
func get(t *testing.T, url, cookie string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

// TestServers checks both apps over a real connection: each request
// answers with its number and takes at least the spin time, and the app
// stops cleanly.
func TestServers(t *testing.T) {
	const spin = 5 * time.Millisecond
	for _, fw := range []string{"nethttp", "fiber"} {
		t.Run(fw, func(t *testing.T) {
			srv, err := newServer(fw, spin, 4096, false, "")
			if err != nil {
				t.Fatal(err)
			}
			url, stop := serveTest(t, srv)
			for _, want := range []string{"1", "2"} {
				start := time.Now()
				res, body := get(t, url, "")
				if res.StatusCode != http.StatusOK || body != want {
					t.Fatalf("GET / = %d %q, want 200 %q", res.StatusCode, body, want)
				}
				if d := time.Since(start); d < spin {
					t.Errorf("GET / took %v, less than the spin of %v", d, spin)
				}
			}
			stop()
		})
	}
}

func TestBadFlags(t *testing.T) {
	for _, c := range []struct {
		fw    string
		spin  time.Duration
		alloc int
	}{{"echo", 0, 0}, {"nethttp", -time.Nanosecond, 0}, {"fiber", 0, -1}} {
		if _, err := newServer(c.fw, c.spin, c.alloc, false, ""); err == nil {
			t.Errorf("newServer(%q, %v, %d) = nil error", c.fw, c.spin, c.alloc)
		}
	}
}

// TestFloor checks the -floor app over a real connection: each session
// cookie counts its own requests, and every answer varies by Cookie.
func TestFloor(t *testing.T) {
	for _, fw := range []string{"nethttp", "fiber"} {
		t.Run(fw, func(t *testing.T) {
			srv, err := newServer(fw, 0, 0, true, "")
			if err != nil {
				t.Fatal(err)
			}
			url, stop := serveTest(t, srv)
			for _, c := range []struct{ cookie, want string }{
				{"a", "1"}, {"a", "2"}, {"b", "1"}, {"a", "3"}, {"b", "2"},
			} {
				res, body := get(t, url, c.cookie)
				if body != c.want || res.Header.Get("Vary") != "Cookie" {
					t.Fatalf("session %s: GET / = %q with Vary %q, want %q with Vary Cookie", c.cookie, body, res.Header.Get("Vary"), c.want)
				}
			}
			stop()
		})
	}
}

// TestRedisFloor checks the -floor -redis app against the test Redis
// server: each session cookie counts its own requests in a record under
// the hex SHA-256 of its token, with a server TTL, and every answer varies
// by Cookie.
func TestRedisFloor(t *testing.T) {
	addr := os.Getenv("SESSIONKIT_REDIS_ADDR")
	if addr == "" {
		t.Fatal("SESSIONKIT_REDIS_ADDR is not set: this test needs a Redis server's host:port (scripts/test.sh and bench/run.sh start a throwaway one)")
	}
	for _, bad := range []struct {
		fw    string
		floor bool
	}{{"nethttp", false}, {"fiber", true}} {
		if _, err := newServer(bad.fw, 0, 0, bad.floor, addr); err == nil {
			t.Errorf("newServer(%q, floor %v) with -redis = nil error", bad.fw, bad.floor)
		}
	}
	srv, err := newServer("nethttp", 0, 0, true, addr)
	if err != nil {
		t.Fatal(err)
	}
	url, stop := serveTest(t, srv)
	defer stop()
	a, b := fmt.Sprintf("a-%d", time.Now().UnixNano()), fmt.Sprintf("b-%d", time.Now().UnixNano())
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	keys := map[string]string{}
	for _, tok := range []string{a, b} {
		sum := sha256.Sum256([]byte(tok))
		keys[tok] = "floor:" + hex.EncodeToString(sum[:])
	}
	defer c.Del(context.Background(), keys[a], keys[b])
	for _, r := range []struct{ cookie, want string }{
		{a, "1"}, {a, "2"}, {b, "1"}, {a, "3"}, {b, "2"},
	} {
		res, body := get(t, url, r.cookie)
		if body != r.want || res.Header.Get("Vary") != "Cookie" {
			t.Fatalf("session %s: GET / = %q with Vary %q, want %q with Vary Cookie", r.cookie, body, res.Header.Get("Vary"), r.want)
		}
	}
	for tok, key := range keys {
		if ttl, err := c.PTTL(context.Background(), key).Result(); err != nil || ttl <= 0 || ttl > floorTTL {
			t.Errorf("record of %s: PTTL %v, %v; want a TTL up to %v", tok, ttl, err, floorTTL)
		}
	}
}

// TestFloorNoLostUpdate increments one record from many goroutines at
// once: every increment must count.
func TestFloorNoLostUpdate(t *testing.T) {
	const workers, each = 8, 500
	s := newFloorStore()
	done := make(chan struct{})
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for range each {
				s.increment(hashToken("token"))
			}
		}()
	}
	for range workers {
		<-done
	}
	if got := s.increment(hashToken("token")); got != workers*each+1 {
		t.Fatalf("count after %d increments = %d, want %d", workers*each, got-1, workers*each)
	}
}
