package main

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestServers checks both apps over a real connection: each request
// answers with its number and takes at least the spin time, and the app
// stops cleanly.
func TestServers(t *testing.T) {
	const spin = 5 * time.Millisecond
	for _, fw := range []string{"nethttp", "fiber"} {
		t.Run(fw, func(t *testing.T) {
			srv, err := newServer(fw, spin, 4096)
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { errc <- srv.serve(ln) }()
			for _, want := range []string{"1", "2"} {
				start := time.Now()
				res, err := http.Get("http://" + ln.Addr().String() + "/")
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if res.StatusCode != http.StatusOK || string(body) != want {
					t.Fatalf("GET / = %d %q, want 200 %q", res.StatusCode, body, want)
				}
				if d := time.Since(start); d < spin {
					t.Errorf("GET / took %v, less than the spin of %v", d, spin)
				}
			}
			if err := srv.stop(errc); err != nil {
				t.Fatalf("stop: %v", err)
			}
		})
	}
}

func TestBadFlags(t *testing.T) {
	for _, c := range []struct {
		fw    string
		spin  time.Duration
		alloc int
	}{{"echo", 0, 0}, {"nethttp", -time.Nanosecond, 0}, {"fiber", 0, -1}} {
		if _, err := newServer(c.fw, c.spin, c.alloc); err == nil {
			t.Errorf("newServer(%q, %v, %d) = nil error", c.fw, c.spin, c.alloc)
		}
	}
}
