package stores

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want Config
	}{
		{"memory://", Config{Backend: "memory"}},
		{"memory:", Config{Backend: "memory"}},
		{"MEMORY://?timeout=60&max_entries=10", Config{Backend: "memory", Memory: MemoryConfig{Timeout: 60, MaxEntries: 10}}},
		{"memory://?cached=true", Config{Backend: "memory", Cached: CacheConfig{Enabled: true}}},
		{"memory://?cached=1&cache_max_entries=5&cache_staleness=2", Config{Backend: "memory", Cached: CacheConfig{Enabled: true, MaxEntries: 5, Staleness: 2}}},
		{"memory://?cached=false", Config{Backend: "memory"}},

		{"file:///srv/app/sessions", Config{Backend: "file", File: FileConfig{Dir: "/srv/app/sessions"}}},
		{"file://./data/sessions?timeout=5", Config{Backend: "file", File: FileConfig{Dir: "./data/sessions", Timeout: 5}}},
		{"file:data/sessions", Config{Backend: "file", File: FileConfig{Dir: "data/sessions"}}},
		{"file:/srv/x", Config{Backend: "file", File: FileConfig{Dir: "/srv/x"}}},

		{"sqlite:///srv/app/sessions.db", Config{Backend: "database", Database: DatabaseConfig{Path: "/srv/app/sessions.db"}}},
		{"sqlite://./data/x.db", Config{Backend: "database", Database: DatabaseConfig{Path: "./data/x.db"}}},
		{"sqlite://data/x.db", Config{Backend: "database", Database: DatabaseConfig{Path: "data/x.db"}}},
		{"sqlite:data/x.db", Config{Backend: "database", Database: DatabaseConfig{Path: "data/x.db"}}},
		{"sqlite:/srv/x.db?table=sess&timeout=3600&cached=true", Config{Backend: "database", Database: DatabaseConfig{Path: "/srv/x.db", Table: "sess", Timeout: 3600}, Cached: CacheConfig{Enabled: true}}},
		{"sqlite:///srv/my%20app/x%3F.db", Config{Backend: "database", Database: DatabaseConfig{Path: "/srv/my app/x?.db"}}},

		{"redis://localhost", Config{Backend: "redis", Redis: RedisConfig{Host: "localhost", Port: 6379}}},
		{"redis://user:pa%3Ass@host:6380/2?prefix=session:&timeout=3600", Config{Backend: "redis", Redis: RedisConfig{
			Host: "host", Port: 6380, DB: 2, Username: "user", Password: "pa:ss", KeyPrefix: "session:", Timeout: 3600}}},
		{"redis://:secret@host/", Config{Backend: "redis", Redis: RedisConfig{Host: "host", Port: 6379, Password: "secret"}}},
		{"redis://alice@host", Config{Backend: "redis", Redis: RedisConfig{Host: "host", Port: 6379, Username: "alice"}}},
		{"rediss://host:6380/0", Config{Backend: "redis", Redis: RedisConfig{Host: "host", Port: 6380, TLS: true}}},
		{"redis://[::1]:7000", Config{Backend: "redis", Redis: RedisConfig{Host: "::1", Port: 7000}}},
		{"redis://[::1]", Config{Backend: "redis", Redis: RedisConfig{Host: "::1", Port: 6379}}},
		{"redis://h1:7000,h2:7001,[::1]", Config{Backend: "redis", Redis: RedisConfig{Addrs: []string{"h1:7000", "h2:7001", "[::1]:6379"}}}},
		{"redis://h1:7000?cluster=true", Config{Backend: "redis", Redis: RedisConfig{Host: "h1", Port: 7000, Cluster: true}}},
		{"redis://s1,s2:5000/1?master_name=mymaster&sentinel_password=x&sentinel_username=u", Config{Backend: "redis", Redis: RedisConfig{
			Addrs: []string{"s1:26379", "s2:5000"}, DB: 1, MasterName: "mymaster", SentinelUsername: "u", SentinelPassword: "x"}}},

		{"postgres://u:p%40ss@db:5432/app?sslmode=disable&table=sess&timeout=60", Config{Backend: "postgres", Postgres: PostgresConfig{
			URL: "postgres://u:p%40ss@db:5432/app?sslmode=disable", Table: "sess", Timeout: 60}}},
		{"postgresql://db/app", Config{Backend: "postgres", Postgres: PostgresConfig{URL: "postgresql://db/app"}}},
		{"postgres://db/app?pool_max_conns=10&cached=true", Config{Backend: "postgres", Postgres: PostgresConfig{URL: "postgres://db/app?pool_max_conns=10"}, Cached: CacheConfig{Enabled: true}}},
		{"mysql://u:p%40ss@db:3307/app?table=sess&max_conns=8&timeout=60", Config{Backend: "mysql", MySQL: MySQLConfig{
			DSN: "u:p@ss@tcp(db:3307)/app", Table: "sess", MaxConns: 8, Timeout: 60}}},
		{"mysql://u@db/app?tls=true", Config{Backend: "mysql", MySQL: MySQLConfig{DSN: "u@tcp(db:3306)/app?tls=true"}}},
		{"memcache://h1:11211,h2:11212?prefix=app:", Config{Backend: "memcache", Memcache: MemcacheConfig{Servers: []string{"h1:11211", "h2:11212"}, KeyPrefix: "app:"}}},
		{"memcache://localhost/?timeout=10", Config{Backend: "memcache", Memcache: MemcacheConfig{Servers: []string{"localhost:11211"}, Timeout: 10}}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			got, err := ParseURL(tt.url)
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseURL:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url   string
		words []string
	}{
		{"", []string{"url", "no scheme"}},
		{"localhost:6379", []string{"url scheme", `"localhost"`}},
		{"/srv/sessions.db", []string{"url", "no scheme"}},
		{"mongodb://h/db", []string{"url scheme", `"mongodb"`}},
		{"postgres:db", []string{"url", "postgres://"}},
		{"postgres://h/db?table=a-b", []string{"postgres.table"}},
		{"postgres://h/db?table=pg_x", []string{"postgres.table"}},
		{"postgres://h/db?timeout=-1", []string{"postgres.timeout"}},
		{"postgres://h/db?pool_max_conns=many", []string{"postgres.url"}},
		{"postgres://h/db?max_conns=3", []string{"unknown parameter", `"max_conns"`}},
		{"postgres://h/db?table=a&table=b", []string{"table", "2 times"}},
		{"mysql://", []string{"url host"}},
		{"mysql://h", []string{"url path", "database name"}},
		{"mysql://h/a/b", []string{"url path"}},
		{"mysql://h1,h2/db", []string{"url host", "one host"}},
		{"mysql://h:0/db", []string{"url port"}},
		{"mysql://h/db?table=a.b", []string{"mysql.table"}},
		{"mysql://h/db?max_conns=-1", []string{"mysql.max_conns"}},
		{"mysql://h/db?timeout=-1", []string{"mysql.timeout"}},
		{"mysql://h/db?timeout=x", []string{"timeout", `"x"`}},
		{"mysql://h/db?tls=maybe", []string{"mysql.dsn"}},
		{"redis://h /0", []string{"space or control"}},
		{"redis://h\x00", []string{"control"}},
		{"memory://#x", []string{"fragment"}},
		{"memory://?a=%zz", []string{"url query", "malformed"}},
		{"memory://host", []string{"url", "no host or path"}},
		{"memory://?timeout=-1", []string{"memory.timeout", "-1"}},
		{"memory://?timeout=ten", []string{"timeout", `"ten"`}},
		{"memory://?timeout=1&timeout=2", []string{"timeout", "2 times"}},
		{"memory://?max_entries=-3", []string{"memory.max_entries"}},
		{"memory://?prefix=x", []string{"unknown parameter", `"prefix"`}},
		{"memory://?cached=yes", []string{"cached", `"yes"`}},
		{"memory://?cache_staleness=3", []string{"cached=true"}},
		{"memory://?cached=true&cache_max_entries=-1", []string{"cached.max_entries"}},
		{"file://", []string{"url path", "no path"}},
		{"file:", []string{"url path", "no path"}},
		{"file:///x%zz", []string{"url path", "percent"}},
		{"file:///x%00y", []string{"NUL"}},
		{"file:///x?table=t", []string{"unknown parameter", `"table"`}},
		{"sqlite://", []string{"url path"}},
		{"sqlite:///x.db?table=a-b", []string{"database.table"}},
		{"sqlite:///x.db?timeout=-1", []string{"database.timeout"}},
		{"redis:host", []string{"url", "redis://host:port"}},
		{"redis://", []string{"url host", "no host"}},
		{"redis:///0", []string{"url host", "no host"}},
		{"redis://user:pw@", []string{"url host", "no host"}},
		{"redis://:6379", []string{"url host", "empty host"}},
		{"redis://h:0", []string{"url port", "got 0"}},
		{"redis://h:65536", []string{"url port", "65536"}},
		{"redis://h:99999999999999999999", []string{"url port", "not a number"}},
		{"redis://h:abc", []string{"url port", `"abc"`}},
		{"redis://h:+80", []string{"url port"}},
		{"redis://h:", []string{"url port", "empty port"}},
		{"redis://[::1", []string{"url host", "unclosed"}},
		{"redis://[::1]x", []string{"url host", "junk"}},
		{"redis://[::1]:", []string{"url port", "empty port"}},
		{"redis://[nothost]:1", []string{"url host", "not an IP"}},
		{"redis://h1,,h2", []string{"url host", "empty host"}},
		{"redis://h/x", []string{"url path", "database number"}},
		{"redis://h/0/1", []string{"url path"}},
		{"redis://h/-1", []string{"url path"}},
		{"redis://h/1234567890", []string{"url path"}},
		{"redis://h1,h2/3", []string{"redis.db", "Cluster"}},
		{"redis://h?cluster=maybe", []string{"cluster"}},
		{"redis://h?db=1", []string{"unknown parameter", `"db"`}},
		{"redis://h?prefix=a&prefix=b", []string{"prefix", "2 times"}},
		{"redis://u:%zz@h", []string{"url password", "percent"}},
		{"redis://%zz@h", []string{"url user", "percent"}},
		{"redis://h?timeout=-5", []string{"redis.timeout"}},
		{"memcache://", []string{"url host"}},
		{"memcache://u:p@h", []string{"url user", "not supported"}},
		{"memcache://h/x", []string{"url path"}},
		{"memcache://h:0", []string{"url port"}},
		{"memcache://h?prefix=a%20b", []string{"memcache.key_prefix"}},
		{"memcache://h?master_name=x", []string{"unknown parameter"}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			_, err := ParseURL(tt.url)
			wantConfigErr(t, err, tt.words...)
		})
	}
}

// TestParseURLHidesPassword checks that no error repeats the password of
// the URL it complains about.
func TestParseURLHidesPassword(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"redis://user:hunter2@h:0",
		"redis://user:hunter2@h/x",
		"redis://user:hunter2@h?bad=1",
		"rediss://:hunter2@h1,h2:abc",
		"memcache://u:hunter2@h",
		"postgres://u:hunter2@h/db?table=a-b",
		"postgres://u:hunter2@h/db?pool_max_conns=x",
		"postgres://u:hunter2@h:0/db",
		"mysql://u:hunter2@h/db?tls=maybe",
		"mysql://u:hunter2@h:0/db",
		"mysql://u:hunter2@h/db?table=a-b",
		"redis://user:hunter2@h:1/?master_name=m&sentinel_password=hunter2&timeout=-1",
	} {
		_, err := ParseURL(u)
		if err == nil {
			t.Errorf("ParseURL(%q) = nil error, want one", u)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseURL(%q): error %q reveals the password", u, err)
		}
	}
}

// TestParseURLOptions reads the manager's options from a URL.
func TestParseURLOptions(t *testing.T) {
	t.Parallel()
	cfg, err := ParseURL("redis://h:6379/0?timeout=1800")
	if err != nil {
		t.Fatal(err)
	}
	if got := idleTimeout(t, cfg.Options()); got.Seconds() != 1800 {
		t.Errorf("idle timeout from URL = %v, want 30m", got)
	}
}
