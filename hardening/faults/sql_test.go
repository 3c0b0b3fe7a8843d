package faults_test

import (
	"context"
	"database/sql"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/hardening/internal/servers"
	"github.com/sessionkit/sessionkit/stores/mysqlstore"
	"github.com/sessionkit/sessionkit/stores/postgresstore"
)

// sqlRecovery is how long after a restarted server answers again the app
// may still fail: the requests already waiting, each within its deadline.
const sqlRecovery = requestDeadline + 500*time.Millisecond

// TestPostgresRestart stops PostgreSQL with an immediate shutdown (every
// backend aborted, crash recovery at the next start) in the middle of a
// load run, restarts it on the same port and data directory, and checks
// that requests during the outage were 500s within the deadline (never a
// fresh session), that every acknowledged write is there after the
// restart, and that the pool reconnects without a restart of the app.
func TestPostgresRestart(t *testing.T) {
	t.Parallel()
	srv := servers.StartPostgres(t, servers.Env(t, servers.PostgresBinEnv))
	cfg, err := pgxpool.ParseConfig(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store, err := postgresstore.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	sqlRestart(t, store, srv, func() { srv.Stop(syscall.SIGQUIT) }, "PostgreSQL")
}

// TestMariaDBRestart kills MariaDB (SIGKILL, durable commits) in the middle
// of a load run and restarts it, with the checks of TestPostgresRestart.
func TestMariaDBRestart(t *testing.T) {
	t.Parallel()
	srv := servers.StartMariaDB(t, servers.Env(t, servers.MariaDBBinEnv))
	db, err := sql.Open("mysql", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	t.Cleanup(func() { db.Close() })
	store, err := mysqlstore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	sqlRestart(t, store, srv, srv.Kill, "MariaDB")
}

func sqlRestart(t *testing.T, store core.Store, srv *servers.SQL, stop func(), name string) {
	a := newApp(t, store, requestDeadline)
	users := a.newUsers(12)
	quiet := a.newUsers(4)
	for _, u := range quiet {
		for range 2 {
			if r := u.Get("/incr"); r.Status != http.StatusOK {
				t.Fatalf("quiet session: status %d", r.Status)
			}
		}
	}
	const (
		before = iota
		outage
		restarted
		recovered
	)
	l := a.startLoad(users, before)
	time.Sleep(400 * time.Millisecond)
	l.setPhase(outage)
	stop()
	time.Sleep(time.Second)
	l.setPhase(restarted)
	srv.Restart()
	restartedAt := time.Now()
	took := l.waitAllOK(t, restarted, 10*time.Second)
	t.Logf("every user was served again %v after %s was back", took.Round(time.Millisecond), name)
	time.Sleep(time.Until(restartedAt.Add(sqlRecovery)))
	l.setPhase(recovered)
	time.Sleep(500 * time.Millisecond)
	l.stop()

	s := check(t, users, answerBound, 0)
	logSummary(t, []string{"before", "outage", "restarted", "recovered"}, s)
	if s.ok[before] == 0 {
		t.Error("no request succeeded before the restart")
	}
	if s.failed[outage] == 0 {
		t.Errorf("no request failed while %s was down: the fault was not exercised", name)
	}
	if s.failed[recovered] != 0 || s.ok[recovered] == 0 {
		t.Errorf("%v after %s was back: %d failed, %d succeeded; want none failed", sqlRecovery, name, s.failed[recovered], s.ok[recovered])
	}
	if n := a.panics.Load(); n != 0 {
		t.Errorf("%d panics", n)
	}
	a.checkFinal(users)
	for i, u := range quiet {
		if r := u.Get("/read"); r.Status != http.StatusOK || r.Body != "3" || r.NewCookie {
			t.Errorf("quiet session %d after the restart: status %d body %q new cookie %v; want 3", i, r.Status, r.Body, r.NewCookie)
		}
	}
	if len(a.storeErrors()) == 0 {
		t.Error("the error handler saw no store error")
	}
}
