package stores

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
)

// The example of the issue and of the package documentation.
const exampleYAML = `
session:
  backend: database        # memory | file | database | redis | memcache
  memory:   {max_entries: 100000, timeout: 60}
  file:     {dir: ./data/sessions, timeout: 120}
  database: {path: ./data/sessions.db, table: sessions, timeout: 3600}
  redis:    {host: localhost, port: 6379, db: 0, password: "", key_prefix: "session:", timeout: 3600}
  memcache: {servers: ["localhost:11211"], key_prefix: "session:", timeout: 3600}
  cached:   {enabled: true, max_entries: 500, staleness: 2}
`

const exampleJSON = `{"session": {
  "backend": "database",
  "memory":   {"max_entries": 100000, "timeout": 60},
  "file":     {"dir": "./data/sessions", "timeout": 120},
  "database": {"path": "./data/sessions.db", "table": "sessions", "timeout": 3600},
  "redis":    {"host": "localhost", "port": 6379, "db": 0, "password": "", "key_prefix": "session:", "timeout": 3600},
  "memcache": {"servers": ["localhost:11211"], "key_prefix": "session:", "timeout": 3600},
  "cached":   {"enabled": true, "max_entries": 500, "staleness": 2}
}}`

var exampleConfig = Config{
	Backend:  "database",
	Memory:   MemoryConfig{MaxEntries: 100000, Timeout: 60},
	File:     FileConfig{Dir: "./data/sessions", Timeout: 120},
	Database: DatabaseConfig{Path: "./data/sessions.db", Table: "sessions", Timeout: 3600},
	Redis:    RedisConfig{Host: "localhost", Port: 6379, KeyPrefix: "session:", Timeout: 3600},
	Memcache: MemcacheConfig{Servers: []string{"localhost:11211"}, KeyPrefix: "session:", Timeout: 3600},
	Cached:   CacheConfig{Enabled: true, MaxEntries: 500, Staleness: 2},
}

func TestConfigDecode(t *testing.T) {
	t.Parallel()
	type file struct {
		Session Config `yaml:"session" json:"session"`
	}
	var fromYAML, fromJSON file
	if err := yaml.Unmarshal([]byte(exampleYAML), &fromYAML); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	if err := json.Unmarshal([]byte(exampleJSON), &fromJSON); err != nil {
		t.Fatalf("json: %v", err)
	}
	if !reflect.DeepEqual(fromYAML.Session, exampleConfig) {
		t.Errorf("from YAML:\n got %+v\nwant %+v", fromYAML.Session, exampleConfig)
	}
	if !reflect.DeepEqual(fromJSON.Session, exampleConfig) {
		t.Errorf("from JSON:\n got %+v\nwant %+v", fromJSON.Session, exampleConfig)
	}
	if err := fromYAML.Session.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// TestConfigTags checks that every field has the same name in its yaml,
// json and mapstructure tags, in snake case.
func TestConfigTags(t *testing.T) {
	t.Parallel()
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		if seen[typ] {
			return
		}
		seen[typ] = true
		for f := range typ.Fields() {
			y, j, m := f.Tag.Get("yaml"), f.Tag.Get("json"), f.Tag.Get("mapstructure")
			if y == "" || y != j || y != m {
				t.Errorf("%s.%s: tags yaml=%q json=%q mapstructure=%q differ or are missing", typ.Name(), f.Name, y, j, m)
			}
			for _, c := range y {
				if !(c >= 'a' && c <= 'z' || c == '_') {
					t.Errorf("%s.%s: tag %q is not snake case", typ.Name(), f.Name, y)
					break
				}
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeFor[Config]())
	if len(seen) != 9 {
		t.Errorf("walked %d struct types, want 9 (Config and its eight sections)", len(seen))
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	redis := func(r RedisConfig) Config { return Config{Backend: "redis", Redis: r} }
	tests := []struct {
		name  string
		cfg   Config
		words []string // the error must mention them; nil: valid
	}{
		{"memory", Config{Backend: "memory"}, nil},
		{"memory upper case", Config{Backend: " Memory "}, nil},
		{"file", Config{Backend: "file", File: FileConfig{Dir: "x"}}, nil},
		{"database", Config{Backend: "database", Database: DatabaseConfig{Path: "x.db"}}, nil},
		{"sqlite alias", Config{Backend: "sqlite", Database: DatabaseConfig{Path: "x.db", Table: "s_1"}}, nil},
		{"redis host", redis(RedisConfig{Host: "localhost", Port: 6379}), nil},
		{"redis ipv6", redis(RedisConfig{Host: "::1", Port: 6379}), nil},
		{"redis ipv6 brackets", redis(RedisConfig{Host: "[::1]", Port: 6379}), nil},
		{"redis addrs", redis(RedisConfig{Addrs: []string{"a:1", "b:2"}}), nil},
		{"redis sentinel db", redis(RedisConfig{Addrs: []string{"a:1", "b:2"}, MasterName: "m", DB: 3}), nil},
		{"memcache", Config{Backend: "memcache", Memcache: MemcacheConfig{Servers: []string{"a:11211"}}}, nil},
		{"other sections not checked", Config{Backend: "memory", Redis: RedisConfig{Port: -1}, File: FileConfig{Timeout: -1}}, nil},
		{"cache off not checked", Config{Backend: "memory", Cached: CacheConfig{MaxEntries: -1}}, nil},

		{"no backend", Config{}, []string{"backend", "required"}},
		{"unknown backend", Config{Backend: "mongo"}, []string{"backend", `"mongo"`}},
		{"negative memory timeout", Config{Backend: "memory", Memory: MemoryConfig{Timeout: -1}}, []string{"memory.timeout", "-1"}},
		{"huge timeout", Config{Backend: "memory", Memory: MemoryConfig{Timeout: maxTimeoutSeconds + 1}}, []string{"memory.timeout"}},
		{"negative file timeout", Config{Backend: "file", File: FileConfig{Dir: "x", Timeout: -5}}, []string{"file.timeout"}},
		{"negative database timeout", Config{Backend: "sqlite", Database: DatabaseConfig{Path: "x", Timeout: -5}}, []string{"database.timeout"}},
		{"negative redis timeout", redis(RedisConfig{Host: "h", Port: 1, Timeout: -5}), []string{"redis.timeout"}},
		{"negative memcache timeout", Config{Backend: "memcache", Memcache: MemcacheConfig{Servers: []string{"a:1"}, Timeout: -5}}, []string{"memcache.timeout"}},
		{"negative memory max_entries", Config{Backend: "memory", Memory: MemoryConfig{MaxEntries: -1}}, []string{"memory.max_entries"}},
		{"file without dir", Config{Backend: "file"}, []string{"file.dir", "required"}},
		{"database without path", Config{Backend: "database"}, []string{"database.path", "required"}},
		{"sqlite without path", Config{Backend: "sqlite"}, []string{"database.path", "required"}},
		{"bad table", Config{Backend: "database", Database: DatabaseConfig{Path: "x", Table: "a-b"}}, []string{"database.table", `"a-b"`}},
		{"reserved table", Config{Backend: "database", Database: DatabaseConfig{Path: "x", Table: "SQLite_x"}}, []string{"database.table"}},
		{"long table", Config{Backend: "database", Database: DatabaseConfig{Path: "x", Table: string(make([]byte, 65))}}, []string{"database.table"}},
		{"redis without host", redis(RedisConfig{Port: 6379}), []string{"redis.host", "required"}},
		{"redis port 0", redis(RedisConfig{Host: "h"}), []string{"redis.port", "got 0"}},
		{"redis port too big", redis(RedisConfig{Host: "h", Port: 65536}), []string{"redis.port", "65536"}},
		{"redis negative port", redis(RedisConfig{Host: "h", Port: -1}), []string{"redis.port"}},
		{"redis host with port", redis(RedisConfig{Host: "h:6379", Port: 6379}), []string{"redis.host", "without a port"}},
		{"redis host and addrs", redis(RedisConfig{Host: "h", Port: 1, Addrs: []string{"a:1"}}), []string{"redis.addrs", "not both"}},
		{"redis addr without port", redis(RedisConfig{Addrs: []string{"a:1", "b"}}), []string{"redis.addrs[1]", `"b"`}},
		{"redis addr bad port", redis(RedisConfig{Addrs: []string{"a:x"}}), []string{"redis.addrs[0]", "not a number"}},
		{"redis addr port 0", redis(RedisConfig{Addrs: []string{"a:0"}}), []string{"redis.addrs[0]", "got 0"}},
		{"redis addr empty host", redis(RedisConfig{Addrs: []string{":6379"}}), []string{"redis.addrs[0]", "empty host"}},
		{"redis negative db", redis(RedisConfig{Host: "h", Port: 1, DB: -1}), []string{"redis.db"}},
		{"redis cluster db", redis(RedisConfig{Addrs: []string{"a:1", "b:2"}, DB: 1}), []string{"redis.db", "Cluster"}},
		{"redis cluster flag db", redis(RedisConfig{Host: "a", Port: 1, Cluster: true, DB: 1}), []string{"redis.db"}},
		{"memcache no servers", Config{Backend: "memcache"}, []string{"memcache.servers", "required"}},
		{"memcache bad server", Config{Backend: "memcache", Memcache: MemcacheConfig{Servers: []string{"a:1", "b:70000"}}}, []string{"memcache.servers[1]", "70000"}},
		{"memcache server without port", Config{Backend: "memcache", Memcache: MemcacheConfig{Servers: []string{"localhost"}}}, []string{"memcache.servers[0]"}},
		{"memcache prefix space", Config{Backend: "memcache", Memcache: MemcacheConfig{Servers: []string{"a:1"}, KeyPrefix: "a b"}}, []string{"memcache.key_prefix"}},
		{"cache negative entries", Config{Backend: "memory", Cached: CacheConfig{Enabled: true, MaxEntries: -1}}, []string{"cached.max_entries"}},
		{"cache negative staleness", Config{Backend: "memory", Cached: CacheConfig{Enabled: true, Staleness: -1}}, []string{"cached.staleness"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if tt.words == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			wantConfigErr(t, err, tt.words...)
		})
	}
}

func TestConfigOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		idle time.Duration // 0: no option
	}{
		{"memory", Config{Backend: "memory", Memory: MemoryConfig{Timeout: 120}}, 120 * time.Second},
		{"file", Config{Backend: "file", File: FileConfig{Dir: "d", Timeout: 90}}, 90 * time.Second},
		{"database", Config{Backend: "sqlite", Database: DatabaseConfig{Path: "p", Timeout: 600}}, 600 * time.Second},
		{"redis", Config{Backend: "redis", Redis: RedisConfig{Host: "h", Port: 1, Timeout: 30}}, 30 * time.Second},
		{"memcache", Config{Backend: "memcache", Memcache: MemcacheConfig{Servers: []string{"h:1"}, Timeout: 45}}, 45 * time.Second},
		{"other section's timeout ignored", Config{Backend: "memory", Redis: RedisConfig{Timeout: 30}}, 0},
		{"zero", Config{Backend: "memory"}, 0},
		{"invalid", Config{Backend: "memory", Memory: MemoryConfig{Timeout: -1}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := tt.cfg.Options()
			if tt.idle == 0 {
				if len(opts) != 0 {
					t.Fatalf("Options() = %d options, want none", len(opts))
				}
				return
			}
			if len(opts) != 1 {
				t.Fatalf("Options() = %d options, want 1", len(opts))
			}
			if got := idleTimeout(t, opts); got != tt.idle {
				t.Errorf("idle timeout = %v, want %v", got, tt.idle)
			}
		})
	}
}

// idleTimeout measures the idle timeout a manager built with opts gives a
// new session: the expiry of its first commit, on a fixed clock, with a
// lifetime long enough not to cap it.
func idleTimeout(tb testing.TB, opts []core.Option) time.Duration {
	tb.Helper()
	now := time.Now().Add(time.Hour).Truncate(time.Second)
	clock := func() time.Time { return now }
	store := memstore.New(memstore.WithClock(clock))
	tb.Cleanup(func() { store.Close() })
	opts = append([]core.Option{core.WithLifetime(1000 * time.Hour), core.WithClock(clock)}, opts...)
	m := core.NewManager(store, opts...)
	ctx := tb.(interface{ Context() context.Context }).Context()
	s, err := m.Load(ctx, "")
	if err != nil {
		tb.Fatal(err)
	}
	s.Set("k", "v")
	res, err := m.Commit(ctx, s)
	if err != nil {
		tb.Fatal(err)
	}
	return res.Expiry.Sub(now)
}
