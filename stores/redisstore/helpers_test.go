package redisstore

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// The test servers come from scripts/test.sh, which exports these.
const (
	envAddr    = "SESSIONKIT_REDIS_ADDR"
	envCluster = "SESSIONKIT_REDIS_CLUSTER_ADDRS"
)

func requireEnv(tb testing.TB, name, what string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		tb.Fatalf("%s is not set: it must name %s (scripts/test.sh starts the servers and sets it)", name, what)
	}
	return v
}

// singleClient returns a client of the test redis-server, closed when tb
// ends.
func singleClient(tb testing.TB, hooks ...redis.Hook) *redis.Client {
	tb.Helper()
	addr := requireEnv(tb, envAddr, "a redis-server as host:port")
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	for _, h := range hooks {
		c.AddHook(h)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// clusterClient returns a client of the test Redis Cluster, closed when tb
// ends. hooks are added to every node's client, so they see what goes on
// the wire rather than the cluster client's logical commands.
func clusterClient(tb testing.TB, hooks ...redis.Hook) *redis.ClusterClient {
	tb.Helper()
	addrs := requireEnv(tb, envCluster, "the nodes of a Redis Cluster as comma-separated host:port")
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ","), ContextTimeoutEnabled: true})
	c.OnNewNode(func(n *redis.Client) {
		for _, h := range hooks {
			n.AddHook(h)
		}
	})
	tb.Cleanup(func() { c.Close() })
	return c
}

// uniquePrefix returns a key prefix no other test uses.
func uniquePrefix() string {
	return "sktest:" + rand.Text()[:12] + ":"
}

// newTestStore returns a store with a fresh prefix over client; its keys
// are removed when tb ends.
func newTestStore(tb testing.TB, client redis.UniversalClient, opts ...Option) *Store {
	tb.Helper()
	s, err := New(client, append([]Option{WithPrefix(uniquePrefix())}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		c := &Store{client: s.client, prefix: s.prefix, maxSize: s.maxSize}
		if err := c.Clear(context.Background()); err != nil {
			tb.Errorf("clearing %q: %v", s.prefix, err)
		}
		s.Close()
	})
	return s
}

// roundTrips counts the commands and pipelines a client sends.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}
