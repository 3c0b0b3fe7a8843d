package harness

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/hardening/internal/servers"
	"github.com/sessionkit/sessionkit/stores/mysqlstore"
	"github.com/sessionkit/sessionkit/stores/postgresstore"
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
// temporary file, the test Redis server (SESSIONKIT_REDIS_ADDR) under a
// prefix of the test's own, and the test PostgreSQL and MariaDB servers
// (SESSIONKIT_POSTGRES_URL, SESSIONKIT_MYSQL_DSN) in tables of the test's
// own.
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
		{"postgres", func(t *testing.T) core.Store {
			cfg, err := pgxpool.ParseConfig(servers.Env(t, servers.PostgresURLEnv))
			if err != nil {
				t.Fatal(err)
			}
			cfg.MaxConns = 20
			pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			table := tableName()
			s, err := postgresstore.New(pool, postgresstore.WithTable(table))
			if err != nil {
				pool.Close()
				t.Fatal(err)
			}
			t.Cleanup(func() {
				s.Close()
				pool.Exec(context.Background(), `DROP TABLE IF EXISTS "`+table+`", "`+table+`_meta"`)
				pool.Close()
			})
			return s
		}},
		{"mysql", func(t *testing.T) core.Store {
			db, err := sql.Open("mysql", servers.Env(t, servers.MySQLDSNEnv))
			if err != nil {
				t.Fatal(err)
			}
			db.SetMaxOpenConns(20)
			db.SetMaxIdleConns(20)
			table := tableName()
			s, err := mysqlstore.New(db, mysqlstore.WithTable(table))
			if err != nil {
				db.Close()
				t.Fatal(err)
			}
			t.Cleanup(func() {
				s.Close()
				db.Exec("DROP TABLE IF EXISTS `" + table + "`, `" + table + "_meta`")
				db.Close()
			})
			return s
		}},
	}
}

// tableName returns a table name no other test uses.
func tableName() string {
	return "hardening_" + strings.ToLower(rand.Text()[:12])
}
