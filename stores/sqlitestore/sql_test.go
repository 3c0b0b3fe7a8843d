package sqlitestore_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"

	"github.com/sessionkit/sessionkit/stores/sqlitestore"
	"github.com/sessionkit/sessionkit/stores/sqlstore"
	"github.com/sessionkit/sessionkit/stores/sqlstore/sqltest"
)

var param = regexp.MustCompile(`\$[0-9]+`)

// TestSQL runs the SQL stores' kit, shared with postgresstore and
// mysqlstore, on stores made by New on one application database.
func TestSQL(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "app.db"))
	var n atomic.Int64
	table := func(t *testing.T) string {
		name := fmt.Sprintf("t_%d", n.Add(1))
		t.Cleanup(func() {
			db.Exec(`DROP TABLE IF EXISTS "` + name + `"`)
			db.Exec(`DROP TABLE IF EXISTS "` + name + `_meta"`)
			db.Exec(`DROP TABLE IF EXISTS "` + name + `_users"`)
		})
		return name
	}
	sqltest.Run(t, sqltest.Harness{
		Open: func(t *testing.T, opts ...sqlstore.Option) (sqltest.Store, error) {
			opts = append([]sqlstore.Option{sqlitestore.WithTable(table(t))}, opts...)
			s, err := sqlitestore.New(db, opts...)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		Table: table,
		Exec: func(t *testing.T, query string, args ...any) error {
			_, err := db.Exec(param.ReplaceAllString(query, "?"), args...)
			return err
		},
		Int: func(t *testing.T, query string) (int64, error) {
			var n int64
			err := db.QueryRow(query).Scan(&n)
			return n, err
		},
		Quote:         func(name string) string { return `"` + name + `"` },
		MaxRecordSize: 512 << 20,
	})
}
