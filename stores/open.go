package stores

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/cachedstore"
	"github.com/sessionkit/sessionkit/core/filestore"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/stores/memcachestore"
	"github.com/sessionkit/sessionkit/stores/redisstore"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

// Open builds the store that cfg selects, checks that it works and returns
// it. The store implements io.Closer: its Close releases everything Open
// made (the Redis or memcached client and its connections, the SQLite
// database, the background sweepers, the cache).
//
// A bad configuration is an error matching [ErrConfig] that names the
// field, found before anything is opened; a default is never put in place
// of a bad value. Open then makes sure the backend can be used, so that a
// wrong address fails at startup rather than at the first request: it
// pings the Redis servers (within ctx and [RedisDialTimeout]) or every
// memcached server (within [MemcacheTimeout]; gomemcache takes no context),
// connects to PostgreSQL or MySQL and creates the session table there
// (within ctx and [SQLConnectTimeout]), and creates the directory of a file store or of an SQLite
// database when missing. Those failures do not match ErrConfig.
//
// The store returned passes every optional capability of its backend
// through (core.DeltaStore, core.TouchStore and the others); memcached's
// missing ones report core.ErrNotSupported as memcachestore does. Like
// every store of sessionkit, it is safe for concurrent use by multiple
// goroutines.
func Open(ctx context.Context, cfg Config) (core.Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("stores: open: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	backend, _ := cfg.backend()
	var (
		s   core.Store
		err error
	)
	switch backend {
	case BackendMemory:
		var opts []memstore.Option
		if n := cfg.Memory.MaxEntries; n > 0 {
			opts = append(opts, memstore.WithMaxEntries(n))
		}
		s = memstore.New(opts...)
	case BackendFile:
		s, err = openFile(cfg.File)
	case BackendDatabase:
		s, err = openDatabase(cfg.Database)
	case BackendRedis:
		s, err = openRedis(ctx, cfg.Redis)
	case BackendMemcache:
		s, err = openMemcache(cfg.Memcache)
	case BackendPostgres:
		s, err = openPostgres(ctx, cfg.Postgres)
	case BackendMySQL:
		s, err = openMySQL(ctx, cfg.MySQL)
	}
	if err != nil {
		return nil, err
	}
	if cfg.Cached.Enabled {
		var opts []cachedstore.Option
		if n := cfg.Cached.MaxEntries; n > 0 {
			opts = append(opts, cachedstore.WithMaxEntries(n))
		}
		if n := cfg.Cached.Staleness; n > 0 {
			opts = append(opts, cachedstore.WithMaxStale(time.Duration(n)*time.Second))
		}
		// The cached store owns s: its Close closes s and what s owns.
		s = cachedstore.New(s, opts...)
	}
	return s, nil
}

// checkDir reports, as a configuration error naming field, a path to a
// directory that cannot be one because it or one of its ancestors is
// something else. A missing directory is fine: it will be created.
func checkDir(field, dir string) error {
	for p := filepath.Clean(dir); ; {
		fi, err := os.Stat(p)
		switch {
		case err == nil && !fi.IsDir():
			return configErr(field, "%q is not a directory", p)
		case err == nil:
			return nil
		case !errors.Is(err, fs.ErrNotExist):
			if errors.Is(err, fs.ErrPermission) {
				return fmt.Errorf("stores: %s: %w", field, err)
			}
			// ENOTDIR and the like: an ancestor is a file.
			return configErr(field, "%v", err)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return nil
		}
		p = parent
	}
}

func openFile(c FileConfig) (core.Store, error) {
	if err := checkDir("file.dir", c.Dir); err != nil {
		return nil, err
	}
	s, err := filestore.New(c.Dir)
	if err != nil {
		return nil, fmt.Errorf("stores: file.dir: %w", err)
	}
	return s, nil
}

func openDatabase(c DatabaseConfig) (core.Store, error) {
	if fi, err := os.Stat(c.Path); err == nil && fi.IsDir() {
		return nil, configErr("database.path", "%q is a directory, not a database file", c.Path)
	}
	dir := filepath.Dir(c.Path)
	if err := checkDir("database.path", dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("stores: database.path: %w", err)
	}
	var opts []sqlitestore.Option
	if c.Table != "" {
		opts = append(opts, sqlitestore.WithTable(c.Table))
	}
	s, err := sqlitestore.Open(c.Path, opts...)
	if err != nil {
		return nil, fmt.Errorf("stores: database: %w", err)
	}
	return s, nil
}

// redisOptions builds the go-redis options for c, which Validate accepted.
func redisOptions(c RedisConfig) *redis.UniversalOptions {
	addrs, _ := c.addrs()
	o := &redis.UniversalOptions{
		Addrs:                 addrs,
		DB:                    c.DB,
		Username:              c.Username,
		Password:              c.Password,
		MasterName:            c.MasterName,
		SentinelUsername:      c.SentinelUsername,
		SentinelPassword:      c.SentinelPassword,
		IsClusterMode:         c.Cluster,
		DialTimeout:           RedisDialTimeout,
		DialerRetries:         1,
		ReadTimeout:           RedisIOTimeout,
		WriteTimeout:          RedisIOTimeout,
		ContextTimeoutEnabled: true,
	}
	if c.TLS {
		// No ServerName: crypto/tls takes it from each address dialled, so
		// every node of a cluster is checked against its own name.
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return o
}

func openRedis(ctx context.Context, c RedisConfig) (s core.Store, err error) {
	o := redisOptions(c)
	client := redis.NewUniversalClient(o)
	defer func() {
		if err != nil {
			client.Close()
		}
	}()
	where := strings.Join(o.Addrs, ",")
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("stores: redis: cannot reach %s: %w", where, err)
	}
	if single, ok := client.(*redis.Client); ok {
		// A cluster node answers PING but sends every other command
		// elsewhere (MOVED): catch the missing cluster flag now.
		info, err := single.Info(ctx, "cluster").Result()
		if err != nil {
			return nil, fmt.Errorf("stores: redis: INFO on %s: %w", where, err)
		}
		if strings.Contains(info, "cluster_enabled:1") {
			return nil, configErr("redis.cluster", "%s is a Redis Cluster node: set redis.cluster (cluster=true in a URL) or list the nodes in redis.addrs", where)
		}
	}
	var opts []redisstore.Option
	if c.KeyPrefix != "" {
		opts = append(opts, redisstore.WithPrefix(c.KeyPrefix))
	}
	rs, err := redisstore.New(client, opts...)
	if err != nil {
		return nil, configErr("redis.key_prefix", "%v", err)
	}
	return &ownedStore{inner: rs, release: client.Close}, nil
}

func openMemcache(c MemcacheConfig) (s core.Store, err error) {
	servers, _ := c.servers()
	var list memcache.ServerList
	if err := list.SetServers(servers...); err != nil {
		return nil, fmt.Errorf("stores: memcache.servers: %w", err)
	}
	client := memcache.NewFromSelector(&list)
	client.Timeout = MemcacheTimeout
	defer func() {
		if err != nil {
			client.Close()
		}
	}()
	if err := client.Ping(); err != nil {
		return nil, fmt.Errorf("stores: memcache: cannot reach %s: %w", strings.Join(servers, ","), err)
	}
	var opts []memcachestore.Option
	if c.KeyPrefix != "" {
		opts = append(opts, memcachestore.WithPrefix(c.KeyPrefix))
	}
	ms, err := memcachestore.New(client, opts...)
	if err != nil {
		return nil, configErr("memcache.key_prefix", "%v", err)
	}
	return &ownedStore{inner: ms, release: client.Close}, nil
}
