package stores

import (
	"context"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/sessionkit/sessionkit/core"
)

// DefaultSentinelPort is the port [ParseURL] gives a Sentinel address
// without one (a redis URL with master_name).
const DefaultSentinelPort = 26379

// OpenURL opens the store that the URL describes: it is [ParseURL] followed
// by [Open]. Use [ParseURL] and [Config.Options] to read the manager's
// options from the same URL.
func OpenURL(ctx context.Context, rawURL string) (core.Store, error) {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return Open(ctx, cfg)
}

// ParseURL turns a store URL into the [Config] it stands for; see the
// package documentation for the schemes and their parameters. Every error
// matches [ErrConfig] and names the part of the URL at fault; no message
// repeats the URL's password. Unknown or repeated query parameters are
// errors, never ignored.
func ParseURL(rawURL string) (Config, error) {
	var cfg Config
	for i := 0; i < len(rawURL); i++ {
		if c := rawURL[i]; c <= ' ' || c == 0x7f {
			return cfg, configErr("url", "contains a space or control character at byte %d (percent-encode it)", i)
		}
	}
	scheme, rest, ok := strings.Cut(rawURL, ":")
	if !ok || scheme == "" {
		return cfg, configErr("url", "no scheme: want memory:, file:, sqlite:, postgres:, mysql:, redis:, rediss: or memcache:")
	}
	scheme = strings.ToLower(scheme)
	if strings.Contains(rest, "#") {
		return cfg, configErr("url", "a fragment (#...) is not allowed")
	}
	body, rawQuery, _ := strings.Cut(rest, "?")
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return cfg, configErr("url query", "malformed: %v", err)
	}
	q := &query{values: values}

	var timeout *int
	switch scheme {
	case "memory":
		cfg.Backend = BackendMemory
		if body != "" && body != "//" {
			return cfg, configErr("url", "memory: takes no host or path")
		}
		if err := q.int("max_entries", &cfg.Memory.MaxEntries); err != nil {
			return cfg, err
		}
		timeout = &cfg.Memory.Timeout
	case "file":
		cfg.Backend = BackendFile
		if cfg.File.Dir, err = urlPath(body, "file"); err != nil {
			return cfg, err
		}
		timeout = &cfg.File.Timeout
	case "sqlite":
		cfg.Backend = BackendDatabase
		if cfg.Database.Path, err = urlPath(body, "sqlite"); err != nil {
			return cfg, err
		}
		cfg.Database.Table = q.string("table")
		timeout = &cfg.Database.Timeout
	case "redis", "rediss":
		cfg.Backend = BackendRedis
		if err := parseRedisURL(&cfg.Redis, scheme, body, q); err != nil {
			return cfg, err
		}
		timeout = &cfg.Redis.Timeout
	case "postgres", "postgresql":
		cfg.Backend = BackendPostgres
		if err := parsePostgresURL(&cfg.Postgres, scheme, body, q); err != nil {
			return cfg, err
		}
		timeout = &cfg.Postgres.Timeout
	case "mysql":
		cfg.Backend = BackendMySQL
		if err := parseMySQLURL(&cfg.MySQL, body, q); err != nil {
			return cfg, err
		}
		timeout = &cfg.MySQL.Timeout
	case "memcache":
		cfg.Backend = BackendMemcache
		if err := parseMemcacheURL(&cfg.Memcache, body, q); err != nil {
			return cfg, err
		}
		timeout = &cfg.Memcache.Timeout
	default:
		return cfg, configErr("url scheme", "unknown scheme %q: want memory, file, sqlite, postgres, postgresql, mysql, redis, rediss or memcache", scheme)
	}
	if err := q.int("timeout", timeout); err != nil {
		return cfg, err
	}
	cacheParams := q.has("cache_max_entries") || q.has("cache_staleness")
	if err := q.bool("cached", &cfg.Cached.Enabled); err != nil {
		return cfg, err
	}
	if err := q.int("cache_max_entries", &cfg.Cached.MaxEntries); err != nil {
		return cfg, err
	}
	if err := q.int("cache_staleness", &cfg.Cached.Staleness); err != nil {
		return cfg, err
	}
	if !cfg.Cached.Enabled && cacheParams {
		return cfg, configErr("url query", "cache_max_entries and cache_staleness need cached=true")
	}
	if err := q.finish(); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// urlPath returns the file system path of a file: or sqlite: URL. There is
// no host part: after "scheme://" a path starting with "/" is absolute
// (scheme:///srv/x) and anything else is relative to the working directory
// (scheme://./x, scheme://data/x); without "//" the path is taken as it is
// (scheme:data/x, scheme:/srv/x). The path is percent-decoded.
func urlPath(body, scheme string) (string, error) {
	p := strings.TrimPrefix(body, "//")
	p, err := url.PathUnescape(p)
	if err != nil {
		return "", configErr("url path", "malformed percent-encoding: %v", err)
	}
	if p == "" {
		return "", configErr("url path", "%s: URL names no path", scheme)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", configErr("url path", "contains a NUL byte")
	}
	return p, nil
}

// authority splits "//[userinfo@]hosts[/path]" into its parts.
func authority(body, scheme string) (user *url.Userinfo, hosts []string, path string, err error) {
	if !strings.HasPrefix(body, "//") {
		return nil, nil, "", configErr("url", "%s: want %s://host:port", scheme, scheme)
	}
	auth, path, _ := strings.Cut(body[2:], "/")
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		info := auth[:at]
		auth = auth[at+1:]
		name, pass, hasPass := strings.Cut(info, ":")
		if name, err = url.PathUnescape(name); err != nil {
			return nil, nil, "", configErr("url user", "malformed percent-encoding")
		}
		if pass, err = url.PathUnescape(pass); err != nil {
			return nil, nil, "", configErr("url password", "malformed percent-encoding")
		}
		if hasPass {
			user = url.UserPassword(name, pass)
		} else {
			user = url.User(name)
		}
	}
	if auth == "" {
		return nil, nil, "", configErr("url host", "%s: URL names no host", scheme)
	}
	return user, strings.Split(auth, ","), path, nil
}

// splitURLHost splits one "host[:port]" of a URL; a missing port is def.
func splitURLHost(hp string, def int) (string, int, error) {
	host, port := hp, ""
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "", 0, configErr("url host", "%q: unclosed '['", hp)
		}
		host, port = hp[1:end], hp[end+1:]
		if port != "" && !strings.HasPrefix(port, ":") {
			return "", 0, configErr("url host", "%q: junk after ']'", hp)
		}
		port = strings.TrimPrefix(port, ":")
		if net.ParseIP(host) == nil {
			return "", 0, configErr("url host", "%q: not an IP address in brackets", hp)
		}
		if port == "" && strings.HasSuffix(hp, ":") {
			return "", 0, configErr("url port", "%q: empty port", hp)
		}
	} else if i := strings.LastIndexByte(hp, ':'); i >= 0 {
		host, port = hp[:i], hp[i+1:]
		if port == "" {
			return "", 0, configErr("url port", "%q: empty port", hp)
		}
	}
	if host == "" {
		return "", 0, configErr("url host", "%q: empty host", hp)
	}
	if _, err := checkHost(host); err != nil {
		return "", 0, configErr("url host", "%v", err)
	}
	if port == "" {
		return host, def, nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || port[0] == '+' || port[0] == '-' {
		return "", 0, configErr("url port", "%q: port %q is not a number", hp, port)
	}
	if err := checkPort(n); err != nil {
		return "", 0, configErr("url port", "%q: %v", hp, err)
	}
	return host, n, nil
}

func parseRedisURL(r *RedisConfig, scheme, body string, q *query) error {
	user, hosts, path, err := authority(body, scheme)
	if err != nil {
		return err
	}
	r.TLS = scheme == "rediss"
	if user != nil {
		r.Username = user.Username()
		r.Password, _ = user.Password()
	}
	r.MasterName = q.string("master_name")
	r.SentinelUsername = q.string("sentinel_username")
	r.SentinelPassword = q.string("sentinel_password")
	r.KeyPrefix = q.string("prefix")
	if err := q.bool("cluster", &r.Cluster); err != nil {
		return err
	}
	def := DefaultRedisPort
	if r.MasterName != "" {
		def = DefaultSentinelPort
	}
	addrs := make([]string, 0, len(hosts))
	for _, hp := range hosts {
		h, p, err := splitURLHost(hp, def)
		if err != nil {
			return err
		}
		if len(hosts) == 1 {
			r.Host, r.Port = h, p
		}
		addrs = append(addrs, net.JoinHostPort(h, strconv.Itoa(p)))
	}
	if len(hosts) > 1 {
		r.Addrs = addrs
	}
	if path != "" {
		if strings.ContainsFunc(path, func(c rune) bool { return c < '0' || c > '9' }) || len(path) > 9 {
			return configErr("url path", "redis: the path is the database number, got %q", path)
		}
		r.DB, _ = strconv.Atoi(path)
	}
	return nil
}

func parseMemcacheURL(m *MemcacheConfig, body string, q *query) error {
	user, hosts, path, err := authority(body, "memcache")
	if err != nil {
		return err
	}
	if user != nil {
		return configErr("url user", "memcache: authentication is not supported")
	}
	if path != "" {
		return configErr("url path", "memcache: takes no path, got %q", path)
	}
	for _, hp := range hosts {
		h, p, err := splitURLHost(hp, DefaultMemcachePort)
		if err != nil {
			return err
		}
		m.Servers = append(m.Servers, net.JoinHostPort(h, strconv.Itoa(p)))
	}
	m.KeyPrefix = q.string("prefix")
	return nil
}

// query reads URL query parameters, each at most once, and reports the
// ones nobody read.
type query struct {
	values url.Values
	err    error
}

func (q *query) has(name string) bool { return len(q.values[name]) > 0 }

// get returns the parameter's only value and removes it.
func (q *query) get(name string) (string, bool) {
	v, ok := q.values[name]
	if !ok {
		return "", false
	}
	delete(q.values, name)
	if len(v) > 1 && q.err == nil {
		q.err = configErr("url query", "parameter %q given %d times", name, len(v))
	}
	return v[0], true
}

func (q *query) string(name string) string {
	v, _ := q.get(name)
	return v
}

func (q *query) int(name string, dst *int) error {
	v, ok := q.get(name)
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return configErr(name, "%q is not a whole number", v)
	}
	*dst = n
	return nil
}

func (q *query) bool(name string, dst *bool) error {
	v, ok := q.get(name)
	if !ok {
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return configErr(name, "%q is not true or false", v)
	}
	*dst = b
	return nil
}

// finish reports a repeated parameter or one that no backend reads.
func (q *query) finish() error {
	if q.err != nil {
		return q.err
	}
	if len(q.values) > 0 {
		names := slices.Sorted(maps.Keys(q.values))
		return configErr("url query", "unknown parameter %q", names[0])
	}
	return nil
}
