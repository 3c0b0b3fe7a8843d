package faults_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

// Environment of the lock-holder helper process (this test binary run
// again, see TestMain).
const (
	lockDBEnv   = "HARDENING_SQLITE_LOCK_DB"
	lockHoldEnv = "HARDENING_SQLITE_LOCK_HOLD"
	lockTagEnv  = "HARDENING_SQLITE_LOCK_TAG"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(lockDBEnv); path != "" {
		os.Exit(holdLock(path, os.Getenv(lockHoldEnv), os.Getenv(lockTagEnv)))
	}
	os.Exit(m.Run())
}

// holdLock is the helper process: it opens the database, starts a write
// transaction (BEGIN IMMEDIATE takes SQLite's write lock), writes a row,
// says "locked" on stdout, sleeps holding the lock and commits.
func holdLock(path, hold, tag string) int {
	d, err := time.ParseDuration(hold)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: bad hold:", err)
		return 2
	}
	fail := func(what string, err error) int {
		fmt.Fprintf(os.Stderr, "helper: %s: %v\n", what, err)
		return 1
	}
	db, err := sql.Open(sqlitestore.DriverName, "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return fail("open", err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fail("conn", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS hardening_lock (tag TEXT NOT NULL)"); err != nil {
		return fail("create", err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fail("begin", err)
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO hardening_lock (tag) VALUES (?)", tag); err != nil {
		return fail("insert", err)
	}
	fmt.Println("locked")
	time.Sleep(d)
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fail("commit", err)
	}
	fmt.Println("released")
	return 0
}

// lockHolder runs the helper process on path for hold and returns once it
// holds the write lock; done is closed when it has exited successfully.
func lockHolder(t *testing.T, path string, hold time.Duration, tag string) (done <-chan struct{}) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), lockDBEnv+"="+path, lockHoldEnv+"="+hold.String(), lockTagEnv+"="+tag)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewReader(stdout)
	line, err := lines.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		_ = cmd.Wait()
		t.Fatalf("lock helper: first line %q, %v; stderr: %s", line, err, stderr.String())
	}
	ch := make(chan struct{})
	go func() {
		rest, _ := io.ReadAll(lines)
		if err := cmd.Wait(); err != nil || !strings.Contains(string(rest), "released") {
			t.Errorf("lock helper: %v, output %q, stderr: %s", err, rest, stderr.String())
		}
		close(ch)
	}()
	return ch
}

// TestSQLiteLockedByOtherProcess locks the database from another OS
// process holding an open write transaction, under load through core's
// Handler, with the store as Open makes it (busy_timeout 5 s) and with New
// over a database whose busy_timeout is short (100 ms):
//   - with a request deadline shorter than the lock, writes fail with 500
//     within the deadline (no request waits for the whole lock), with no
//     fresh session, and succeed again once the lock is released;
//   - with a request deadline longer than the lock, every request waits
//     and succeeds when the lock is released.
func TestSQLiteLockedByOtherProcess(t *testing.T) {
	t.Parallel()
	for _, cfg := range []struct {
		name string
		open func(t *testing.T, path string) core.Store
	}{
		{"Open", func(t *testing.T, path string) core.Store {
			store, err := sqlitestore.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			return store
		}},
		{"NewShortBusyTimeout", func(t *testing.T, path string) core.Store {
			db, err := sql.Open(sqlitestore.DriverName, "file:"+path+"?_pragma=busy_timeout(100)&_pragma=journal_mode(WAL)")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			store, err := sqlitestore.New(db)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			return store
		}},
	} {
		t.Run(cfg.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "sessions.db")
			store := cfg.open(t, path)
			t.Run("DeadlineShorterThanLock", func(t *testing.T) { lockShortDeadline(t, store, path) })
			t.Run("DeadlineLongerThanLock", func(t *testing.T) { lockLongDeadline(t, store, path) })
		})
	}
}

func lockShortDeadline(t *testing.T, store core.Store, path string) {
	a := newApp(t, store, requestDeadline)
	users := a.newUsers(8)
	const (
		before = iota
		locked
		released
		recovered
	)
	l := a.startLoad(users, before)
	time.Sleep(200 * time.Millisecond)
	l.setPhase(locked)
	done := lockHolder(t, path, 2500*time.Millisecond, "short")
	<-done
	l.setPhase(released)
	took := l.waitAllOK(t, released, 5*time.Second)
	t.Logf("every user was served again %v after the lock was released", took.Round(time.Millisecond))
	l.setPhase(recovered)
	time.Sleep(300 * time.Millisecond)
	l.stop()

	s := check(t, users, answerBound, 0)
	logSummary(t, []string{"before", "locked", "released", "recovered"}, s)
	if s.failed[locked] == 0 {
		t.Error("no request failed while another process held the write lock for longer than the deadline")
	}
	if s.failed[recovered] != 0 || s.ok[recovered] == 0 {
		t.Errorf("after the release: %d failed, %d succeeded; want none failed", s.failed[recovered], s.ok[recovered])
	}
	if n := a.panics.Load(); n != 0 {
		t.Errorf("%d panics", n)
	}
	a.checkFinal(users)
	checkHelperRow(t, path, "short")
}

func lockLongDeadline(t *testing.T, store core.Store, path string) {
	const deadline = 4 * time.Second
	a := newApp(t, store, deadline)
	users := a.newUsers(8)
	const (
		before = iota
		locked
		released
	)
	l := a.startLoad(users, before)
	time.Sleep(100 * time.Millisecond)
	l.setPhase(locked)
	done := lockHolder(t, path, 600*time.Millisecond, "long")
	<-done
	l.setPhase(released)
	l.waitAllOK(t, released, 5*time.Second)
	time.Sleep(100 * time.Millisecond)
	l.stop()

	s := check(t, users, deadline+answerBound, 0)
	logSummary(t, []string{"before", "locked", "released"}, s)
	for ph, n := range s.failed {
		if n != 0 {
			t.Errorf("phase %d: %d requests failed although the deadline outlasts the lock", ph, n)
		}
	}
	if s.maxLatency[locked] < 300*time.Millisecond {
		t.Errorf("no request waited for the lock (max latency %v while it was held)", s.maxLatency[locked])
	}
	if n := a.panics.Load(); n != 0 {
		t.Errorf("%d panics", n)
	}
	a.checkFinal(users)
	checkHelperRow(t, path, "long")
}

// checkHelperRow checks that the helper's transaction committed.
func checkHelperRow(t *testing.T, path, tag string) {
	t.Helper()
	db, err := sql.Open(sqlitestore.DriverName, "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM hardening_lock WHERE tag = ?", tag).Scan(&n); err != nil || n != 1 {
		t.Errorf("helper's row %q: count %d, %v; want 1", tag, n, err)
	}
}
