package stores

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// ErrConfig is wrapped by every error about a bad [Config] or URL: an
// unknown backend, a missing or malformed field, a value out of range. The
// message names the field. Failures to reach a backend that is correctly
// configured (a server that is down) do not match it.
var ErrConfig = errors.New("stores: invalid configuration")

// Backend names accepted in [Config.Backend].
const (
	BackendMemory   = "memory"
	BackendFile     = "file"
	BackendDatabase = "database"
	BackendSQLite   = "sqlite" // an alias of BackendDatabase
	BackendRedis    = "redis"
	BackendMemcache = "memcache"
	BackendPostgres = "postgres"
	BackendMySQL    = "mysql"
)

// Default ports used by [ParseURL] when a URL names a host without a port.
const (
	DefaultRedisPort    = 6379
	DefaultMemcachePort = 11211
)

// Timeouts of the clients [Open] builds for Redis and Memcache.
const (
	// RedisDialTimeout bounds the opening of one connection to Redis.
	RedisDialTimeout = 2 * time.Second
	// RedisIOTimeout bounds each read and write on a Redis connection when
	// the request's context has no earlier deadline.
	RedisIOTimeout = time.Second
	// MemcacheTimeout is the gomemcache client's Timeout: it bounds the
	// connect and each read or write of every call, since gomemcache takes
	// no context.
	MemcacheTimeout = 500 * time.Millisecond
)

// Config selects and configures a session store. It is meant to be read
// from an application's configuration file: its fields carry yaml, json and
// mapstructure tags, so it decodes with gopkg.in/yaml.v3, encoding/json or
// Viper as the inside of a "session:" section (see the package example).
//
// Only the section of the selected backend is read and checked; the others
// may be left empty or hold settings for another environment. A Config and
// its sections are plain values: copy them freely; reading one from several
// goroutines at once is safe.
type Config struct {
	// Backend selects the store: "memory", "file", "database" (or its alias
	// "sqlite"), "postgres" (or "postgresql"), "mysql" (or "mariadb"),
	// "redis" or "memcache". Case does not matter. Required.
	Backend string `yaml:"backend" json:"backend" mapstructure:"backend"`

	Memory   MemoryConfig   `yaml:"memory" json:"memory" mapstructure:"memory"`
	File     FileConfig     `yaml:"file" json:"file" mapstructure:"file"`
	Database DatabaseConfig `yaml:"database" json:"database" mapstructure:"database"`
	Redis    RedisConfig    `yaml:"redis" json:"redis" mapstructure:"redis"`
	Memcache MemcacheConfig `yaml:"memcache" json:"memcache" mapstructure:"memcache"`
	Postgres PostgresConfig `yaml:"postgres" json:"postgres" mapstructure:"postgres"`
	MySQL    MySQLConfig    `yaml:"mysql" json:"mysql" mapstructure:"mysql"`

	// Cached puts an in-process cache (cachedstore.New) in front of the
	// selected backend when Cached.Enabled is set.
	Cached CacheConfig `yaml:"cached" json:"cached" mapstructure:"cached"`
}

// MemoryConfig configures the "memory" backend, memstore.New.
type MemoryConfig struct {
	// MaxEntries bounds the number of sessions kept. Zero means the memory
	// store's default; it must not be negative.
	MaxEntries int `yaml:"max_entries" json:"max_entries" mapstructure:"max_entries"`
	// Timeout is the sessions' idle timeout in seconds (see
	// [Config.Options]). Zero means the manager's default.
	Timeout int `yaml:"timeout" json:"timeout" mapstructure:"timeout"`
}

// FileConfig configures the "file" backend, filestore.New.
type FileConfig struct {
	// Dir is the directory holding one file per session. It is created
	// (mode 0700) when missing; it must not name anything but a directory.
	// Required.
	Dir string `yaml:"dir" json:"dir" mapstructure:"dir"`
	// Timeout is the sessions' idle timeout in seconds. Zero means the
	// manager's default.
	Timeout int `yaml:"timeout" json:"timeout" mapstructure:"timeout"`
}

// DatabaseConfig configures the "database" (alias "sqlite") backend,
// sqlitestore.Open.
type DatabaseConfig struct {
	// Path is the SQLite database file, created when missing, relative to
	// the working directory unless absolute. Its directory is created
	// (mode 0700) when missing. Required.
	Path string `yaml:"path" json:"path" mapstructure:"path"`
	// Table is the name of the session table. Empty means sqlitestore's
	// default, "sessionkit_sessions".
	Table string `yaml:"table" json:"table" mapstructure:"table"`
	// Timeout is the sessions' idle timeout in seconds. Zero means the
	// manager's default.
	Timeout int `yaml:"timeout" json:"timeout" mapstructure:"timeout"`
}

// RedisConfig configures the "redis" backend: a go-redis UniversalClient
// and redisstore.New over it.
//
// Give either Host and Port (one server) or Addrs (several host:port).
// Several addresses make a Redis Cluster client; with MasterName they are
// the Sentinels of a failover group instead. A single address of a cluster
// node needs Cluster set.
type RedisConfig struct {
	// Host is the server's host name or IP address, without a port.
	Host string `yaml:"host" json:"host" mapstructure:"host"`
	// Port is the server's port, 1 to 65535. Required with Host.
	Port int `yaml:"port" json:"port" mapstructure:"port"`
	// Addrs lists servers as host:port, instead of Host and Port: the seed
	// nodes of a cluster, or the Sentinels when MasterName is set.
	Addrs []string `yaml:"addrs" json:"addrs" mapstructure:"addrs"`
	// DB is the database number. It must be 0 on a cluster.
	DB int `yaml:"db" json:"db" mapstructure:"db"`
	// Username and Password authenticate with the server (AUTH); empty
	// means none.
	Username string `yaml:"username" json:"username" mapstructure:"username"`
	Password string `yaml:"password" json:"password" mapstructure:"password"`
	// MasterName, when set, is the name of the Sentinel-managed master, and
	// Addrs or Host and Port name the Sentinels.
	MasterName string `yaml:"master_name" json:"master_name" mapstructure:"master_name"`
	// SentinelUsername and SentinelPassword authenticate with the
	// Sentinels, when they need it.
	SentinelUsername string `yaml:"sentinel_username" json:"sentinel_username" mapstructure:"sentinel_username"`
	SentinelPassword string `yaml:"sentinel_password" json:"sentinel_password" mapstructure:"sentinel_password"`
	// Cluster makes a cluster client even from a single seed address.
	Cluster bool `yaml:"cluster" json:"cluster" mapstructure:"cluster"`
	// TLS connects over TLS (TLS 1.2 or later, the server's certificate
	// checked against the system roots and the host name).
	TLS bool `yaml:"tls" json:"tls" mapstructure:"tls"`
	// KeyPrefix is put before every session key. Empty means redisstore's
	// default, "session:".
	KeyPrefix string `yaml:"key_prefix" json:"key_prefix" mapstructure:"key_prefix"`
	// Timeout is the sessions' idle timeout in seconds. Zero means the
	// manager's default.
	Timeout int `yaml:"timeout" json:"timeout" mapstructure:"timeout"`
}

// MemcacheConfig configures the "memcache" backend: a gomemcache client and
// memcachestore.New over it.
type MemcacheConfig struct {
	// Servers lists the memcached servers as host:port. Required.
	Servers []string `yaml:"servers" json:"servers" mapstructure:"servers"`
	// KeyPrefix is put before every key. Empty means memcachestore's
	// default, "session:".
	KeyPrefix string `yaml:"key_prefix" json:"key_prefix" mapstructure:"key_prefix"`
	// Timeout is the sessions' idle timeout in seconds. Zero means the
	// manager's default.
	Timeout int `yaml:"timeout" json:"timeout" mapstructure:"timeout"`
}

// CacheConfig configures the in-process cache put in front of any backend
// (cachedstore.New).
type CacheConfig struct {
	// Enabled turns the cache on. The other fields are read only then.
	Enabled bool `yaml:"enabled" json:"enabled" mapstructure:"enabled"`
	// MaxEntries bounds the number of cached records. Zero means the cached
	// store's default (10,000); it must not be negative.
	MaxEntries int `yaml:"max_entries" json:"max_entries" mapstructure:"max_entries"`
	// Staleness is how long, in seconds, a cached record may be served
	// without reading the backend again: another process's change is seen
	// at most that late. Zero means the cached store's default (5 s); it
	// must not be negative.
	Staleness int `yaml:"staleness" json:"staleness" mapstructure:"staleness"`
}

// backend returns the canonical name of the selected backend.
func (c *Config) backend() (string, error) {
	b := strings.ToLower(strings.TrimSpace(c.Backend))
	switch b {
	case BackendMemory, BackendFile, BackendDatabase, BackendRedis, BackendMemcache, BackendPostgres, BackendMySQL:
		return b, nil
	case BackendSQLite:
		return BackendDatabase, nil
	case "postgresql":
		return BackendPostgres, nil
	case "mariadb":
		return BackendMySQL, nil
	case "":
		return "", configErr("backend", "required: one of memory, file, database (or sqlite), postgres, mysql, redis, memcache")
	}
	return "", configErr("backend", "unknown backend %q: want one of memory, file, database (or sqlite), postgres, mysql, redis, memcache", c.Backend)
}

// timeout returns the timeout field of the selected backend's section and
// that field's name.
func (c *Config) timeout(backend string) (int, string) {
	switch backend {
	case BackendMemory:
		return c.Memory.Timeout, "memory.timeout"
	case BackendFile:
		return c.File.Timeout, "file.timeout"
	case BackendDatabase:
		return c.Database.Timeout, "database.timeout"
	case BackendRedis:
		return c.Redis.Timeout, "redis.timeout"
	case BackendMemcache:
		return c.Memcache.Timeout, "memcache.timeout"
	case BackendPostgres:
		return c.Postgres.Timeout, "postgres.timeout"
	case BackendMySQL:
		return c.MySQL.Timeout, "mysql.timeout"
	}
	return 0, ""
}

// maxTimeoutSeconds keeps a timeout in seconds within time.Duration.
const maxTimeoutSeconds = int(time.Duration(1<<63-1) / time.Second)

// Validate checks the backend name and the fields of the selected backend's
// section and of the cache section, without touching the file system or the
// network ([Open] does that too). Its errors match [ErrConfig] and name the
// field at fault.
func (c Config) Validate() error {
	b, err := c.backend()
	if err != nil {
		return err
	}
	if t, name := c.timeout(b); t < 0 || t > maxTimeoutSeconds {
		return configErr(name, "must be a number of seconds between 0 and %d, got %d", maxTimeoutSeconds, t)
	}
	if err := c.Cached.validate(); err != nil {
		return err
	}
	switch b {
	case BackendMemory:
		if c.Memory.MaxEntries < 0 {
			return configErr("memory.max_entries", "must not be negative, got %d", c.Memory.MaxEntries)
		}
	case BackendFile:
		if c.File.Dir == "" {
			return configErr("file.dir", "required: the directory that holds the session files")
		}
	case BackendDatabase:
		if c.Database.Path == "" {
			return configErr("database.path", "required: the SQLite database file")
		}
		if t := c.Database.Table; t != "" && !validTable(t) {
			return configErr("database.table", "%q: want 1 to 64 ASCII letters, digits or underscores, not starting with sqlite_", t)
		}
	case BackendRedis:
		_, err := c.Redis.addrs()
		return err
	case BackendMemcache:
		if p := c.Memcache.KeyPrefix; len(p) > maxMemcachePrefix || strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return configErr("memcache.key_prefix", "%q: want at most %d bytes without spaces or control characters", p, maxMemcachePrefix)
		}
		_, err := c.Memcache.servers()
		return err
	case BackendPostgres:
		return c.Postgres.validate()
	case BackendMySQL:
		return c.MySQL.validate()
	}
	return nil
}

// The rules of sqlitestore.WithTable and memcachestore.WithPrefix, checked
// here too so that Validate catches them without opening anything.
const (
	maxTableName      = 64
	maxMemcachePrefix = 185
)

func validTable(t string) bool {
	if len(t) > maxTableName || strings.HasPrefix(strings.ToLower(t), "sqlite_") {
		return false
	}
	return !strings.ContainsFunc(t, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_')
	})
}

func (c CacheConfig) validate() error {
	if !c.Enabled {
		return nil
	}
	if c.MaxEntries < 0 {
		return configErr("cached.max_entries", "must not be negative, got %d", c.MaxEntries)
	}
	if c.Staleness < 0 || c.Staleness > maxTimeoutSeconds {
		return configErr("cached.staleness", "must be a number of seconds between 0 and %d, got %d", maxTimeoutSeconds, c.Staleness)
	}
	return nil
}

// Options returns the core options the configuration implies, so that
//
//	m := core.NewManager(store, cfg.Options()...)
//
// applies them: the selected backend's timeout becomes the idle timeout
// (core.WithIdleTimeout). A zero timeout gives no option, leaving the
// manager's default. Options returns nil for a Config that [Config.Validate]
// refuses; check it (or open it) first.
func (c Config) Options() []core.Option {
	if c.Validate() != nil {
		return nil
	}
	b, _ := c.backend()
	t, _ := c.timeout(b)
	if t == 0 {
		return nil
	}
	return []core.Option{core.WithIdleTimeout(time.Duration(t) * time.Second)}
}

// addrs returns the Redis addresses as host:port, checked.
func (r *RedisConfig) addrs() ([]string, error) {
	if r.DB < 0 {
		return nil, configErr("redis.db", "must not be negative, got %d", r.DB)
	}
	var addrs []string
	switch {
	case r.Host != "" && len(r.Addrs) > 0:
		return nil, configErr("redis.addrs", "give either redis.host and redis.port or redis.addrs, not both")
	case len(r.Addrs) > 0:
		for i, a := range r.Addrs {
			if err := checkHostPort(a); err != nil {
				return nil, configErr(fmt.Sprintf("redis.addrs[%d]", i), "%v", err)
			}
		}
		addrs = r.Addrs
	case r.Host != "":
		h, err := checkHost(r.Host)
		if err != nil {
			return nil, configErr("redis.host", "%v", err)
		}
		if err := checkPort(r.Port); err != nil {
			return nil, configErr("redis.port", "%v", err)
		}
		addrs = []string{net.JoinHostPort(h, strconv.Itoa(r.Port))}
	default:
		return nil, configErr("redis.host", "required: the Redis server (or give redis.addrs)")
	}
	if r.DB != 0 && r.MasterName == "" && (len(addrs) > 1 || r.Cluster) {
		return nil, configErr("redis.db", "must be 0 on a Redis Cluster, got %d", r.DB)
	}
	return addrs, nil
}

// servers returns the memcached servers, checked.
func (m *MemcacheConfig) servers() ([]string, error) {
	if len(m.Servers) == 0 {
		return nil, configErr("memcache.servers", "required: at least one host:port")
	}
	for i, s := range m.Servers {
		if err := checkHostPort(s); err != nil {
			return nil, configErr(fmt.Sprintf("memcache.servers[%d]", i), "%v", err)
		}
	}
	return m.Servers, nil
}

// checkHost accepts a host name or IP address without a port; an IPv6
// address may come in brackets, which are removed.
func checkHost(h string) (string, error) {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if h == "" {
		return "", errors.New("empty host")
	}
	if strings.ContainsAny(h, " \t\r\n/?#@,") {
		return "", fmt.Errorf("%q is not a host name", h)
	}
	if strings.Contains(h, ":") && net.ParseIP(h) == nil {
		return "", fmt.Errorf("%q: give the host without a port", h)
	}
	return h, nil
}

// checkHostPort accepts "host:port" with a non-empty host and a port in
// 1..65535.
func checkHostPort(a string) error {
	h, p, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("%q is not host:port", a)
	}
	if _, err := checkHost(h); err != nil {
		return fmt.Errorf("%q: %v", a, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return fmt.Errorf("%q: port %q is not a number", a, p)
	}
	if err := checkPort(n); err != nil {
		return fmt.Errorf("%q: %v", a, err)
	}
	return nil
}

func checkPort(p int) error {
	if p < 1 || p > 65535 {
		return fmt.Errorf("port must be between 1 and 65535, got %d", p)
	}
	return nil
}

// configErr returns an error matching ErrConfig that names field.
func configErr(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrConfig, field, fmt.Sprintf(format, args...))
}
