package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"os"
	"strings"
	"testing"

	"github.com/alexedwards/scs/mysqlstore"
	"github.com/alexedwards/scs/postgresstore"
	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	skmysql "github.com/sessionkit/sessionkit/stores/mysqlstore"
	skpostgres "github.com/sessionkit/sessionkit/stores/postgresstore"
)

// The SQL servers come from scripts/test.sh, which starts throwaway ones.
const (
	postgresURLEnv = "SESSIONKIT_POSTGRES_URL"
	mysqlDSNEnv    = "SESSIONKIT_MYSQL_DSN"
)

// sqlApps are the net/http apps on PostgreSQL and MySQL, against scs's
// postgresstore and mysqlstore on the same servers. They are not in
// Apps(): bench/run.sh starts no SQL server.
func sqlApps() []App {
	return []App{
		{Name: "nethttp/scs-postgres", Framework: "net/http", Library: "scs", Store: "postgres", build: func(env Env, in *Instance) error {
			db, table, err := postgresDB(in)
			if err != nil {
				return err
			}
			if _, err := db.Exec(`CREATE TABLE "` + table + `" (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL)`); err != nil {
				return err
			}
			s := postgresstore.NewWithConfig(db, postgresstore.Config{TableName: `"` + table + `"`})
			return buildSCS(in, s)
		}},
		{Name: "nethttp/sessionkit-postgres", Framework: "net/http", Library: "sessionkit", Store: "postgres (pool)", build: func(env Env, in *Instance) error {
			pool, err := pgxpool.New(context.Background(), os.Getenv(postgresURLEnv))
			if err != nil {
				return err
			}
			in.onClose(closer(pool.Close))
			table := benchTable()
			in.onClose(func() error {
				_, err := pool.Exec(context.Background(), `DROP TABLE IF EXISTS "`+table+`", "`+table+`_meta"`)
				return err
			})
			s, err := skpostgres.New(pool, skpostgres.WithTable(table))
			if err != nil {
				return err
			}
			in.onClose(s.Close)
			return buildSessionkitNetHTTP(in, s)
		}},
		{Name: "nethttp/sessionkit-postgres-db", Framework: "net/http", Library: "sessionkit", Store: "postgres (*sql.DB)", build: func(env Env, in *Instance) error {
			db, table, err := postgresDB(in)
			if err != nil {
				return err
			}
			s, err := skpostgres.NewDB(db, skpostgres.WithTable(table))
			if err != nil {
				return err
			}
			in.onClose(s.Close)
			return buildSessionkitNetHTTP(in, s)
		}},
		{Name: "nethttp/scs-mysql", Framework: "net/http", Library: "scs", Store: "mysql", build: func(env Env, in *Instance) error {
			db, err := mysqlDB(in)
			if err != nil {
				return err
			}
			// scs's mysqlstore names its table "sessions", with this
			// schema (its README).
			if _, err := db.Exec("DROP TABLE IF EXISTS sessions"); err != nil {
				return err
			}
			if _, err := db.Exec("CREATE TABLE sessions (token CHAR(43) PRIMARY KEY, data BLOB NOT NULL, expiry TIMESTAMP(6) NOT NULL)"); err != nil {
				return err
			}
			in.onClose(func() error {
				_, err := db.Exec("DROP TABLE IF EXISTS sessions")
				return err
			})
			s := mysqlstore.NewWithCleanupInterval(db, 0)
			return buildSCS(in, s)
		}},
		{Name: "nethttp/sessionkit-mysql", Framework: "net/http", Library: "sessionkit", Store: "mysql", build: func(env Env, in *Instance) error {
			db, err := mysqlDB(in)
			if err != nil {
				return err
			}
			table := benchTable()
			in.onClose(func() error {
				_, err := db.Exec("DROP TABLE IF EXISTS `" + table + "`, `" + table + "_meta`")
				return err
			})
			s, err := skmysql.New(db, skmysql.WithTable(table))
			if err != nil {
				return err
			}
			in.onClose(s.Close)
			return buildSessionkitNetHTTP(in, s)
		}},
	}
}

type errNoSQL string

func (e errNoSQL) Error() string {
	return string(e) + " is not set: scripts/test.sh starts a throwaway server and sets it"
}

func benchTable() string { return "bench_" + strings.ToLower(rand.Text()[:12]) }

// postgresDB returns a *sql.DB of pgx's stdlib driver and a fresh table
// name, both released with in.
func postgresDB(in *Instance) (*sql.DB, string, error) {
	u := os.Getenv(postgresURLEnv)
	if u == "" {
		return nil, "", errNoSQL(postgresURLEnv)
	}
	db, err := sql.Open("pgx", u)
	if err != nil {
		return nil, "", err
	}
	db.SetMaxIdleConns(8)
	in.onClose(db.Close)
	table := benchTable()
	in.onClose(func() error {
		_, err := db.Exec(`DROP TABLE IF EXISTS "` + table + `", "` + table + `_meta"`)
		return err
	})
	return db, table, nil
}

// mysqlDB opens the test MySQL server's database, closed with in.
func mysqlDB(in *Instance) (*sql.DB, error) {
	dsn := os.Getenv(mysqlDSNEnv)
	if dsn == "" {
		return nil, errNoSQL(mysqlDSNEnv)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxIdleConns(8)
	in.onClose(db.Close)
	return db, nil
}

// BenchmarkSQLStores serves the scenario's request in-process through the
// SQL apps: BenchmarkSQLStores/<variant>/<app>. Compare cpu-ns/op (the
// process's CPU time per request, which leaves out the server's) of
// sessionkit's rows with scs's on the same server in the same run.
func BenchmarkSQLStores(b *testing.B) {
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			for _, a := range sqlApps() {
				b.Run(a.Name, func(b *testing.B) {
					in, cookies := cookiesFor(b, a, v.sessions())
					d := in.Driver(cookies)
					b.ReportAllocs()
					i := 0
					cpu := cpuTime()
					for b.Loop() {
						d.Serve(i)
						i++
					}
					reportCPU(b, cpu, i)
					if d.Failures() > 0 {
						b.Fatalf("%d of %d requests failed", d.Failures(), i)
					}
				})
			}
		})
	}
}
