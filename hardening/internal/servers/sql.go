package servers

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the "mysql" driver of the readiness check
	"github.com/jackc/pgx/v5"
)

// SQL is a PostgreSQL or MariaDB server started for one test, with a
// database "sessionkit" its URL or DSN names.
type SQL struct {
	*Proc
	// URL is the postgres:// URL (PostgreSQL) or the go-sql-driver/mysql
	// DSN (MariaDB) of the test database over TCP.
	URL string
}

// privateDir returns a new directory owned by nobody when the test runs as
// root (PostgreSQL refuses to run as root), removed when tb ends.
func privateDir(tb testing.TB, pattern string) (dir string, cred *syscall.Credential) {
	tb.Helper()
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() != 0 {
		return dir, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		tb.Fatalf("running as root, PostgreSQL needs an unprivileged user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		tb.Fatal(err)
	}
	return dir, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// StartPostgres initdb-s a cluster in a temporary directory with the
// binaries of bindir (initdb, postgres), starts it on a free port of
// 127.0.0.1 (as nobody when the test runs as root) with trust
// authentication, creates the database "sessionkit" and returns once it
// accepts queries. Kill sends SIGKILL to the postmaster only; use Stop
// with SIGQUIT for an immediate shutdown (a crash of every backend, with
// crash recovery on Restart).
func StartPostgres(tb testing.TB, bindir string) *SQL {
	tb.Helper()
	dir, cred := privateDir(tb, "sessionkit-pg-")
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bindir, "initdb"), "-D", data, "-U", "sessionkit", "--auth=trust", "--no-sync", "-E", "UTF8")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		tb.Fatalf("initdb: %v\n%s", err, out)
	}
	port := FreePort(tb)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	url := fmt.Sprintf("postgres://sessionkit@%s/sessionkit?sslmode=disable", addr)
	created := false
	ready := func(string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://sessionkit@%s/postgres?sslmode=disable", addr))
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		if !created {
			if _, err := c.Exec(ctx, "CREATE DATABASE sessionkit"); err != nil {
				return err
			}
			created = true
		}
		return nil
	}
	p := &Proc{tb: tb, name: "postgres", bin: filepath.Join(bindir, "postgres"), cred: cred, ready: ready, Addr: addr, quit: syscall.SIGQUIT,
		args: []string{"-D", data, "-k", dir, "-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(port),
			"-c", "fsync=off", "-c", "max_connections=100"}}
	p.start()
	tb.Cleanup(p.cleanup)
	return &SQL{Proc: p, URL: url}
}

// StartMariaDB installs a datadir (mariadb-install-db) in a temporary
// directory, starts bin (mariadbd) on a free port of 127.0.0.1 with
// durable commits (innodb_flush_log_at_trx_commit=1), creates the database
// "sessionkit" and a user of that name with a password through the unix
// socket (the mariadb client), and returns once it is ready.
func StartMariaDB(tb testing.TB, bin string) *SQL {
	tb.Helper()
	dir, err := os.MkdirTemp("", "sessionkit-mariadb-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	data := filepath.Join(dir, "data")
	sock := filepath.Join(dir, "sock")
	install := exec.Command("mariadb-install-db", "--no-defaults", "--datadir="+data, "--skip-test-db", "--auth-root-authentication-method=socket")
	if os.Geteuid() == 0 {
		install.Args = append(install.Args, "--user=root")
	}
	if out, err := install.CombinedOutput(); err != nil {
		tb.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	port := FreePort(tb)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	const pass = "sessionkit-fault"
	dsn := fmt.Sprintf("sessionkit:%s@tcp(%s)/sessionkit", pass, addr)
	created := false
	ready := func(string) error {
		if !created {
			cmd := exec.Command("mariadb", "--no-defaults", "-S", sock, "-u", "root", "-e",
				"CREATE DATABASE sessionkit; CREATE USER 'sessionkit'@'127.0.0.1' IDENTIFIED BY '"+pass+"'; GRANT ALL ON sessionkit.* TO 'sessionkit'@'127.0.0.1';")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			created = true
		}
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return db.PingContext(ctx)
	}
	log := filepath.Join(dir, "error.log")
	args := []string{"--no-defaults", "--datadir=" + data, "--bind-address=127.0.0.1", "--port=" + strconv.Itoa(port),
		"--socket=" + sock, "--pid-file=" + filepath.Join(dir, "pid"), "--skip-name-resolve",
		"--innodb-flush-log-at-trx-commit=1", "--log-error=" + log}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	p := &Proc{tb: tb, name: "mariadbd", bin: bin, args: args, ready: ready, Addr: addr, log: log}
	p.start()
	tb.Cleanup(p.cleanup)
	return &SQL{Proc: p, URL: dsn}
}
