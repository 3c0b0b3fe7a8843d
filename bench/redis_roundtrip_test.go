package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit/stores/redisstore"
)

// roundTrips counts what a go-redis client sends: each command, and each
// pipeline as one round trip.
type roundTrips struct {
	mu   sync.Mutex
	sent []string
}

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.add(strings.ToUpper(cmd.Name()))
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = strings.ToUpper(c.Name())
		}
		h.add("PIPELINE(" + strings.Join(names, ",") + ")")
		return next(ctx, cmds)
	}
}

func (h *roundTrips) add(name string) {
	h.mu.Lock()
	h.sent = append(h.sent, name)
	h.mu.Unlock()
}

// take returns what was sent since the last call and forgets it.
func (h *roundTrips) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	sent := h.sent
	h.sent = nil
	return sent
}

// redisAddr returns SESSIONKIT_REDIS_ADDR or fails the test naming it.
func redisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("SESSIONKIT_REDIS_ADDR")
	if addr == "" {
		t.Fatal("SESSIONKIT_REDIS_ADDR is not set: this test needs a Redis server's host:port (scripts/test.sh and bench/run.sh start a throwaway one)")
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.Fatalf("SESSIONKIT_REDIS_ADDR=%q: %v", addr, err)
	}
	return addr
}

// TestRedisRoundTrips checks the Redis target through the real middleware
// (net/http and Gin): in steady state a returning user's request that
// changes its session costs exactly one round trip to load it (HGETALL)
// and one to save it (EVALSHA of the delta script).
func TestRedisRoundTrips(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	for _, build := range []struct {
		name string
		fn   func(*Instance, *redisstore.Store) error
	}{
		{"nethttp", func(in *Instance, s *redisstore.Store) error { return buildSessionkitNetHTTP(in, s) }},
		{"gin", func(in *Instance, s *redisstore.Store) error { return buildGinsession(in, s) }},
	} {
		t.Run(build.name, func(t *testing.T) {
			t.Parallel()
			hook := &roundTrips{}
			client := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
			t.Cleanup(func() { client.Close() })
			client.AddHook(hook)
			store, err := redisstore.New(client, redisstore.WithPrefix("bench-roundtrip-"+rand.Text()+":"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			in := &Instance{App: App{Name: build.name + "/sessionkit-redis", Library: "sessionkit"}}
			if err := build.fn(in, store); err != nil {
				t.Fatal(err)
			}

			cookies, err := in.Seed(1)
			if err != nil {
				t.Fatal(err)
			}
			// The first returning request may load the delta script into
			// the server (EVALSHA answered NOSCRIPT, then EVAL).
			if res := in.Do(cookies[0]); res.Body != "2" {
				t.Fatalf("first returning request: status %d, body %q", res.Status, res.Body)
			}
			hook.take()

			const requests = 20
			for i := range requests {
				res := in.Do(cookies[0])
				if want := strconv.Itoa(i + 3); res.Status != 200 || res.Body != want {
					t.Fatalf("request %d: status %d, body %q; want 200 and %q", i, res.Status, res.Body, want)
				}
				sent := hook.take()
				if got := fmt.Sprint(sent); got != "[HGETALL EVALSHA]" {
					t.Fatalf("request %d sent %d round trips %v; want exactly [HGETALL EVALSHA]", i, len(sent), sent)
				}
			}
			t.Logf("round trips per request: load 1 (HGETALL), save 1 (EVALSHA), over %d steady requests", requests)
		})
	}
}
