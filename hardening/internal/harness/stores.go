package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/hardening/internal/servers"
	"github.com/sessionkit/sessionkit/stores/redisstore"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

// Store names a store and opens a fresh one for a test, closing (and, on a
// shared server, clearing) it with t.Cleanup.
type Store struct {
	Name string
	Open func(t *testing.T) core.Store
}

// Stores returns the stores the hardening tests run on: memory, SQLite in a
// temporary file, and the test Redis server (SESSIONKIT_REDIS_ADDR) under a
// prefix of the test's own.
func Stores() []Store {
	return []Store{
		{"memory", func(t *testing.T) core.Store {
			s := memstore.New()
			t.Cleanup(func() { s.Close() })
			return s
		}},
		{"sqlite", func(t *testing.T) core.Store {
			s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "sessions.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
		{"redis", func(t *testing.T) core.Store {
			addr := servers.Env(t, servers.RedisAddrEnv)
			client := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
			prefix := fmt.Sprintf("hardening-%d:", time.Now().UnixNano())
			s, err := redisstore.New(client, redisstore.WithPrefix(prefix))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := s.Clear(context.Background()); err != nil {
					t.Errorf("clear %s: %v", prefix, err)
				}
				s.Close()
				client.Close()
			})
			return s
		}},
	}
}
