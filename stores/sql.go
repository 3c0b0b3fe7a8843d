package stores

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/mysqlstore"
	"github.com/sessionkit/sessionkit/stores/postgresstore"
)

// Defaults of the SQL servers' clients [Open] builds.
const (
	// DefaultMySQLPort is the port [ParseURL] gives a mysql URL's host
	// without one.
	DefaultMySQLPort = 3306
	// SQLConnectTimeout bounds the opening of one connection to
	// PostgreSQL or MySQL when the connection string sets no timeout of
	// its own.
	SQLConnectTimeout = 5 * time.Second
)

// PostgresConfig configures the "postgres" backend: a pgx pool and
// postgresstore.New over it.
type PostgresConfig struct {
	// URL is the connection string, a postgres:// URL or a key=value DSN,
	// as pgxpool.ParseConfig reads it (with pgx's parameters: sslmode,
	// pool_max_conns, connect_timeout, ...). Required.
	URL string `yaml:"url" json:"url" mapstructure:"url"`
	// Table is the name of the session table. Empty means postgresstore's
	// default, "sessionkit_sessions".
	Table string `yaml:"table" json:"table" mapstructure:"table"`
	// Timeout is the sessions' idle timeout in seconds. Zero means the
	// manager's default.
	Timeout int `yaml:"timeout" json:"timeout" mapstructure:"timeout"`
}

// MySQLConfig configures the "mysql" backend (MySQL 8 or MariaDB): a
// *sql.DB of github.com/go-sql-driver/mysql and mysqlstore.New over it.
type MySQLConfig struct {
	// DSN is the driver's data source name,
	// user:password@tcp(host:3306)/dbname?param=value. Required.
	DSN string `yaml:"dsn" json:"dsn" mapstructure:"dsn"`
	// MaxConns bounds the open connections. Zero means database/sql's
	// default (no bound); it must not be negative.
	MaxConns int `yaml:"max_conns" json:"max_conns" mapstructure:"max_conns"`
	// Table is the name of the session table. Empty means mysqlstore's
	// default, "sessionkit_sessions".
	Table string `yaml:"table" json:"table" mapstructure:"table"`
	// Timeout is the sessions' idle timeout in seconds. Zero means the
	// manager's default.
	Timeout int `yaml:"timeout" json:"timeout" mapstructure:"timeout"`
}

// sqlIdent reports whether t is a table name postgresstore and mysqlstore
// accept (their WithTable rules, checked here without opening anything).
func sqlIdent(t string, max int) bool {
	if t == "" || len(t) > max {
		return false
	}
	return !strings.ContainsFunc(t, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_')
	})
}

func (c PostgresConfig) validate() error {
	if c.URL == "" {
		return configErr("postgres.url", "required: the connection string (postgres://user:password@host:5432/db)")
	}
	if _, err := pgxpool.ParseConfig(c.URL); err != nil {
		// pgx's message shows the connection string with its password
		// redacted.
		return configErr("postgres.url", "%v", err)
	}
	if t := c.Table; t != "" && (!sqlIdent(t, 56) || strings.HasPrefix(strings.ToLower(t), "pg_")) {
		return configErr("postgres.table", "%q: want 1 to 56 ASCII letters, digits or underscores, not starting with pg_", t)
	}
	return nil
}

func (c MySQLConfig) validate() error {
	if c.DSN == "" {
		return configErr("mysql.dsn", "required: the data source name (user:password@tcp(host:3306)/db)")
	}
	if _, err := mysql.ParseDSN(c.DSN); err != nil {
		// The driver's messages do not repeat the DSN.
		return configErr("mysql.dsn", "%v", err)
	}
	if c.MaxConns < 0 {
		return configErr("mysql.max_conns", "must not be negative, got %d", c.MaxConns)
	}
	if t := c.Table; t != "" && !sqlIdent(t, 57) {
		return configErr("mysql.table", "%q: want 1 to 57 ASCII letters, digits or underscores", t)
	}
	return nil
}

func openPostgres(ctx context.Context, c PostgresConfig) (core.Store, error) {
	pc, err := pgxpool.ParseConfig(c.URL)
	if err != nil {
		return nil, configErr("postgres.url", "%v", err)
	}
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = SQLConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("stores: postgres: %w", err)
	}
	where := net.JoinHostPort(pc.ConnConfig.Host, strconv.Itoa(int(pc.ConnConfig.Port)))
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("stores: postgres: cannot reach %s: %w", where, err)
	}
	var opts []postgresstore.Option
	if c.Table != "" {
		opts = append(opts, postgresstore.WithTable(c.Table))
	}
	s, err := postgresstore.New(pool, opts...)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("stores: postgres: %w", err)
	}
	return &ownedStore{inner: s, release: func() error { pool.Close(); return nil }}, nil
}

func openMySQL(ctx context.Context, c MySQLConfig) (core.Store, error) {
	mc, err := mysql.ParseDSN(c.DSN)
	if err != nil {
		return nil, configErr("mysql.dsn", "%v", err)
	}
	if mc.Timeout == 0 {
		mc.Timeout = SQLConnectTimeout
	}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, configErr("mysql.dsn", "%v", err)
	}
	db := sql.OpenDB(conn)
	if c.MaxConns > 0 {
		db.SetMaxOpenConns(c.MaxConns)
		db.SetMaxIdleConns(c.MaxConns)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("stores: mysql: cannot reach %s: %w", mc.Addr, err)
	}
	var opts []mysqlstore.Option
	if c.Table != "" {
		opts = append(opts, mysqlstore.WithTable(c.Table))
	}
	s, err := mysqlstore.New(db, opts...)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("stores: mysql: %w", err)
	}
	return &ownedStore{inner: s, release: db.Close}, nil
}

// The parameters of postgres and mysql URLs that the factory reads; the
// others go to the driver.
var sqlURLParams = []string{"table", "timeout", "cached", "cache_max_entries", "cache_staleness", "max_conns"}

// driverQuery removes from q the parameters that are not the factory's
// (ours) and returns them, for the driver, encoded.
func driverQuery(q *query, ours ...string) string {
	rest := url.Values{}
	for name, v := range q.values {
		if !slices.Contains(ours, name) {
			rest[name] = v
			delete(q.values, name)
		}
	}
	return rest.Encode()
}

// parsePostgresURL keeps the URL for pgx, without the factory's
// parameters.
func parsePostgresURL(p *PostgresConfig, scheme, body string, q *query) error {
	if !strings.HasPrefix(body, "//") {
		return configErr("url", "%s: want %s://user:password@host:port/database", scheme, scheme)
	}
	p.Table = q.string("table")
	u := scheme + ":" + body
	if rest := driverQuery(q, sqlURLParams...); rest != "" {
		u += "?" + rest
	}
	p.URL = u
	return nil
}

// parseMySQLURL turns mysql://user:password@host:port/database?params into
// the driver's DSN; the parameters the factory does not read go to the
// driver.
func parseMySQLURL(m *MySQLConfig, body string, q *query) error {
	user, hosts, path, err := authority(body, "mysql")
	if err != nil {
		return err
	}
	if len(hosts) != 1 {
		return configErr("url host", "mysql: one host, got %d", len(hosts))
	}
	h, port, err := splitURLHost(hosts[0], DefaultMySQLPort)
	if err != nil {
		return err
	}
	if path == "" || strings.Contains(path, "/") {
		return configErr("url path", "mysql: the path is the database name, got %q", path)
	}
	db, err := url.PathUnescape(path)
	if err != nil {
		return configErr("url path", "malformed percent-encoding")
	}
	m.Table = q.string("table")
	if err := q.int("max_conns", &m.MaxConns); err != nil {
		return err
	}
	mc := mysql.NewConfig()
	if user != nil {
		mc.User = user.Username()
		mc.Passwd, _ = user.Password()
	}
	mc.Net = "tcp"
	mc.Addr = net.JoinHostPort(h, strconv.Itoa(port))
	mc.DBName = db
	dsn := mc.FormatDSN()
	if rest := driverQuery(q, sqlURLParams...); rest != "" {
		if strings.Contains(dsn, "?") {
			dsn += "&" + rest
		} else {
			dsn += "?" + rest
		}
	}
	m.DSN = dsn
	return nil
}
