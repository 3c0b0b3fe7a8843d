package redisstore_test

import (
	"context"
	"crypto/rand"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/stores/redisstore"
)

// rawIDClient returns a client of the test redis-server
// (SESSIONKIT_REDIS_ADDR, set by scripts/test.sh), closed when t ends.
func rawIDClient(t *testing.T) *redis.Client {
	t.Helper()
	addr := os.Getenv("SESSIONKIT_REDIS_ADDR")
	if addr == "" {
		t.Fatal("SESSIONKIT_REDIS_ADDR is not set: it must name a redis-server as host:port (scripts/test.sh starts one and sets it)")
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// rawIDStore returns a store under a prefix of its own, cleared and closed
// when t ends.
func rawIDStore(t *testing.T, c *redis.Client, opts ...redisstore.Option) (*redisstore.Store, string) {
	t.Helper()
	prefix := "sktest:rawid:" + rand.Text()[:12] + ":"
	st, err := redisstore.New(c, append([]redisstore.Option{redisstore.WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Clear(context.Background()); err != nil {
			t.Errorf("clear %s: %v", prefix, err)
		}
		st.Close()
	})
	return st, prefix
}

// TestNoRawIDAtRest lists the store's keys with SCAN and reads each one
// whole (HGETALL for the session hashes, DUMP for anything else): no raw
// session ID in a key, a field or a value.
func TestNoRawIDAtRest(t *testing.T) {
	t.Parallel()
	c := rawIDClient(t)
	st, prefix := rawIDStore(t, c)
	sessiontest.CheckNoRawID(t, st, func(t *testing.T) []string {
		ctx := context.Background()
		var out []string
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			key := iter.Val()
			out = append(out, key)
			typ, err := c.Type(ctx, key).Result()
			if err != nil {
				t.Fatal(err)
			}
			if typ == "hash" {
				h, err := c.HGetAll(ctx, key).Result()
				if err != nil {
					t.Fatal(err)
				}
				for f, v := range h {
					out = append(out, f, v)
				}
				continue
			}
			d, err := c.Dump(ctx, key).Result()
			if err != nil && err != redis.Nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	})
}

// TestTooLargeThroughManager checks the store's size limit as an
// application meets it: a commit error matching core.ErrTooLarge that
// names the limit, and the previous data intact.
func TestTooLargeThroughManager(t *testing.T) {
	t.Parallel()
	st, _ := rawIDStore(t, rawIDClient(t), redisstore.WithMaxSize(4096))
	sessiontest.CheckTooLarge(t, st, 4096)
}
