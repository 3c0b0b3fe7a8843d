package stores

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// The servers come from scripts/test.sh, which starts them and exports
// these variables.
const (
	envRedis        = "SESSIONKIT_REDIS_ADDR"
	envRedisCluster = "SESSIONKIT_REDIS_CLUSTER_ADDRS"
	envMemcache     = "SESSIONKIT_MEMCACHE_ADDR"
	envPostgres     = "SESSIONKIT_POSTGRES_URL"
	envMySQL        = "SESSIONKIT_MYSQL_DSN"
)

func postgresURL(tb testing.TB) string {
	return requireEnv(tb, envPostgres, "a PostgreSQL database as a postgres:// URL")
}

func mysqlDSN(tb testing.TB) string {
	return requireEnv(tb, envMySQL, "a MariaDB or MySQL database as a go-sql-driver/mysql DSN")
}

// mysqlURL returns the test server as a mysql:// URL.
func mysqlURL(tb testing.TB) string {
	tb.Helper()
	c, err := mysql.ParseDSN(mysqlDSN(tb))
	if err != nil {
		tb.Fatal(err)
	}
	u := url.URL{Scheme: "mysql", User: url.UserPassword(c.User, c.Passwd), Host: c.Addr, Path: "/" + c.DBName}
	return u.String()
}

// uniqueTable returns a table name no other test uses.
func uniqueTable() string {
	return "f_" + strings.ToLower(rand.Text()[:12])
}

// requireEnv returns the variable's value and fails the test, naming the
// variable, when it is not set.
func requireEnv(tb testing.TB, name, what string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		tb.Fatalf("%s is not set: it must name %s (scripts/test.sh starts the servers and sets it)", name, what)
	}
	return v
}

func redisAddr(tb testing.TB) string {
	return requireEnv(tb, envRedis, "a redis-server as host:port")
}

func redisClusterAddrs(tb testing.TB) string {
	return requireEnv(tb, envRedisCluster, "the nodes of a Redis Cluster as comma-separated host:port")
}

func memcacheAddr(tb testing.TB) string {
	return requireEnv(tb, envMemcache, "a memcached as host:port")
}

// uniquePrefix returns a key prefix no other test uses.
func uniquePrefix() string {
	return "skfactory:" + rand.Text()[:12] + ":"
}

// roundTrip saves a record in s, loads it back, deletes it and checks that
// it is gone.
func roundTrip(tb testing.TB, s core.Store) {
	tb.Helper()
	ctx := context.Background()
	key := "roundtrip-" + rand.Text()
	exp := time.Now().Add(time.Minute)
	want := storetest.Record(exp, "user", "42")
	if err := s.Save(ctx, key, want, exp); err != nil {
		tb.Fatalf("Save: %v", err)
	}
	got, found, err := s.Load(ctx, key)
	if err != nil || !found {
		tb.Fatalf("Load after Save: found=%v err=%v", found, err)
	}
	if err := storetest.SameRecord(got, want); err != nil {
		tb.Fatalf("Load after Save: %v", err)
	}
	if err := s.Delete(ctx, key); err != nil {
		tb.Fatalf("Delete: %v", err)
	}
	if _, found, err := s.Load(ctx, key); err != nil || found {
		tb.Fatalf("Load after Delete: found=%v err=%v", found, err)
	}
}

// closeStore closes s and checks that it then refuses to work.
func closeStore(tb testing.TB, s core.Store) {
	tb.Helper()
	c, ok := s.(io.Closer)
	if !ok {
		tb.Fatalf("%T does not implement io.Closer", s)
	}
	if err := c.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
	if _, _, err := s.Load(context.Background(), "k"); !errors.Is(err, core.ErrClosed) {
		tb.Fatalf("Load after Close: got %v, want core.ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		tb.Fatalf("second Close: %v", err)
	}
}

// wantConfigErr checks that err matches ErrConfig and mentions every one
// of words (field names, values).
func wantConfigErr(tb testing.TB, err error, words ...string) {
	tb.Helper()
	if !errors.Is(err, ErrConfig) {
		tb.Fatalf("got error %v, want one matching ErrConfig", err)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			tb.Errorf("error %q does not mention %q", err, w)
		}
	}
}
