package sqlitestore_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

// TestNoRawIDAtRest reads back every row of the session table, through a
// connection of its own, and every byte of the database files: no raw
// session ID anywhere.
func TestNoRawIDAtRest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "s.db")
	st, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sessiontest.CheckNoRawID(t, st, func(t *testing.T) []string {
		db, err := sql.Open(sqlitestore.DriverName, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.Query(`SELECT key, data, expiry FROM ` + sqlitestore.DefaultTable)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var key string
			var data []byte
			var expiry int64
			if err := rows.Scan(&key, &data, &expiry); err != nil {
				t.Fatal(err)
			}
			out = append(out, key, string(data))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		files, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(dir, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
		return out
	})
}

// TestTooLargeThroughManager checks the store's size limit as an
// application meets it: a commit error matching core.ErrTooLarge that
// names the limit, and the previous data intact.
func TestTooLargeThroughManager(t *testing.T) {
	t.Parallel()
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "s.db"), sqlitestore.WithMaxRecordSize(4096))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sessiontest.CheckTooLarge(t, st, 4096)
}
