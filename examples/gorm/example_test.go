package gorm_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

// A GORM application using the github.com/glebarez/sqlite dialector hands
// its *sql.DB to New: sessions live in the application's database, in
// tables of their own (the sessions, the store's metadata and the user
// index), through the same pure-Go driver.
func Example() {
	dir, err := os.MkdirTemp("", "sqlitestore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	dsn := "file:" + filepath.ToSlash(filepath.Join(dir, "app.db")) + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)"
	gormDB, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	sqlDB, err := gormDB.DB()
	if err != nil {
		log.Fatal(err)
	}
	defer sqlDB.Close()

	store, err := sqlitestore.New(sqlDB)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // leaves sqlDB open for the application

	m := core.NewManager(store)
	_ = m

	var tables []string
	gormDB.Raw(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).Scan(&tables)
	fmt.Println(tables)
	// Output: [sessionkit_sessions sessionkit_sessions_meta sessionkit_sessions_users]
}
