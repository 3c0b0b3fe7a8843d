// Package stores opens a sessionkit session store chosen by configuration
// rather than by code: [Open] takes a [Config], typically read from the
// application's configuration file, and [OpenURL] takes a URL, typically
// read from an environment variable. Either returns a core.Store that also
// implements io.Closer, and [Config.Options] returns the manager options the
// configuration implies.
//
// # Configuration
//
// [Config] is the inside of a "session:" section. Its fields carry yaml,
// json and mapstructure tags:
//
//	session:
//	  backend: database        # memory | file | database (alias sqlite) | postgres | mysql | redis | memcache
//	  memory:   {max_entries: 100000, timeout: 3600}
//	  file:     {dir: ./data/sessions, timeout: 3600}
//	  database: {path: ./data/sessions.db, table: sessions, timeout: 3600}
//	  redis:    {host: localhost, port: 6379, db: 0, password: "", key_prefix: "session:", timeout: 3600}
//	  memcache: {servers: ["localhost:11211"], key_prefix: "session:", timeout: 3600}
//	  postgres: {url: "postgres://app:secret@db:5432/app", table: sessions, timeout: 3600}
//	  mysql:    {dsn: "app:secret@tcp(db:3306)/app", max_conns: 20, table: sessions, timeout: 3600}
//	  cached:   {enabled: true, max_entries: 10000, staleness: 5}
//
// Only the section of the selected backend is read. Its timeout, in
// seconds, is the sessions' idle timeout:
//
//	store, err := stores.Open(ctx, cfg.Session)
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer store.(io.Closer).Close()
//	m := core.NewManager(store, cfg.Session.Options()...)
//
// A Redis section gives one server as host and port, or several as addrs
// (["10.0.0.1:7000", "10.0.0.2:7000"]): several addresses make a Redis
// Cluster client, or, with master_name, name the Sentinels of a failover
// group. A single seed address of a cluster needs cluster: true; Open
// refuses a cluster node reached without it. The cached section puts an
// in-process cache (cachedstore.New) in front of any backend.
//
// A mistake is an error matching [ErrConfig] that names the field, such as
// "redis.port" or "database.path"; Open never falls back to a default in
// place of a bad value. Empty fields that have a documented default (a key
// prefix, a table name, a timeout of zero) take it.
//
// # URLs
//
// [ParseURL] and [OpenURL] read the same configuration from one string:
//
//	memory://                                   (also memory:)
//	file:///srv/app/sessions                    a file store in that directory
//	sqlite:///srv/app/sessions.db?table=sessions
//	postgres://user:password@host:5432/db?sslmode=require&table=sessions   (also postgresql://)
//	mysql://user:password@host:3306/db?table=sessions&max_conns=20     MySQL 8 or MariaDB
//	redis://user:password@host:6379/0?prefix=session:
//	rediss://host:6380/0                        Redis over TLS
//	redis://h1:7000,h2:7001,h3:7002             a Redis Cluster
//	redis://s1,s2,s3?master_name=mymaster       Sentinels (default port 26379)
//	memcache://h1:11211,h2:11211?prefix=session:
//
// The file and sqlite schemes have no host part. After "sqlite://" a path
// that starts with "/" is absolute (sqlite:///srv/app/sessions.db) and any
// other is relative to the working directory (sqlite://./data/x.db and
// sqlite://data/x.db are both ./data/x.db); without the two slashes the path
// is read as it is (sqlite:data/x.db, sqlite:/srv/x.db). Paths are
// percent-decoded. A redis or memcache host without a port gets the
// scheme's default port (6379, 11211); a port that is given must be a
// number from 1 to 65535. The path of a redis URL is the database number.
//
// A postgres URL is handed to pgx (pgxpool.ParseConfig) without the
// factory's parameters below, so pgx's own (sslmode, pool_max_conns,
// connect_timeout, ...) work as pgx documents them. A mysql URL names one
// host (default port 3306) and the database as its path; it becomes the
// go-sql-driver/mysql DSN user:password@tcp(host:port)/db, and the
// parameters that are not the factory's become the driver's (tls=true,
// readTimeout=5s, ...). The driver's own "timeout" parameter is not
// available there, since timeout is the idle timeout; Open gives the
// connection [SQLConnectTimeout] instead.
//
// Query parameters, each at most once; any other is an error:
//
//	timeout=SECONDS            all schemes: the idle timeout (Config.Options)
//	cached=true                all schemes: put the in-process cache in front
//	cache_max_entries=N        with cached=true: records the cache holds
//	cache_staleness=SECONDS    with cached=true: how stale a cached copy may be
//	max_entries=N              memory: bound on the number of sessions
//	table=NAME                 sqlite, postgres, mysql: the session table
//	max_conns=N                mysql: bound on open connections (postgres: pgx's pool_max_conns)
//	prefix=P                   redis, memcache: the key prefix
//	cluster=true               redis: a cluster client from one seed address
//	master_name=NAME           redis: the Sentinel master; hosts are Sentinels
//	sentinel_username=U, sentinel_password=P   redis: Sentinel credentials
//
// # Closing
//
// Close the returned store (it implements io.Closer) when the application
// stops: it releases everything Open made, whether the backend's store owns
// it (the SQLite database, the sweeper goroutines of the memory and file
// stores) or Open does (the Redis and memcached clients, the PostgreSQL
// pool and the MySQL *sql.DB, which the stores leave to their owner). Every returned store
// passes its backend's optional capabilities through; one the backend lacks
// reports core.ErrNotSupported.
//
// # Timeouts
//
// Redis clients are built with ContextTimeoutEnabled, so a request's context
// bounds every call, and with a dial timeout of [RedisDialTimeout] and read
// and write timeouts of [RedisIOTimeout]. gomemcache takes no context: its
// client's Timeout is [MemcacheTimeout]. The PostgreSQL pool and the MySQL
// *sql.DB cancel a query when the request's context ends; a new connection
// times out after [SQLConnectTimeout] unless the URL or DSN sets its own
// (connect_timeout for pgx).
package stores
