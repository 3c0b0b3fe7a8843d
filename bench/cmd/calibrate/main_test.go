package main

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"
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
			srv, err := newServer(fw, spin, 4096, false)
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
		if _, err := newServer(c.fw, c.spin, c.alloc, false); err == nil {
			t.Errorf("newServer(%q, %v, %d) = nil error", c.fw, c.spin, c.alloc)
		}
	}
}

// TestFloor checks the -floor app over a real connection: each session
// cookie counts its own requests, and every answer varies by Cookie.
func TestFloor(t *testing.T) {
	for _, fw := range []string{"nethttp", "fiber"} {
		t.Run(fw, func(t *testing.T) {
			srv, err := newServer(fw, 0, 0, true)
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
