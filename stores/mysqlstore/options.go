package mysqlstore

import (
	"log/slog"
	"time"

	"github.com/sessionkit/sessionkit/stores/sqlstore"
)

// Defaults of the options.
const (
	// DefaultTable is the name of the table that holds the sessions.
	DefaultTable = sqlstore.DefaultTable
	// DefaultCleanupInterval is how often expired rows are deleted.
	DefaultCleanupInterval = sqlstore.DefaultCleanupInterval
	// DefaultMaxRecordSize is the largest record a Store accepts: 4 MiB.
	DefaultMaxRecordSize = sqlstore.DefaultMaxRecordSize
)

// Option configures a [Store] built by [New].
type Option = sqlstore.Option

// WithTable sets the name of the table that holds the sessions, in the
// connection's current database; the store also creates a table named
// name+"_meta" for its schema version and an index named name+"_expiry".
// The name is made of ASCII letters, digits and underscores, at most 57
// of them; any other name makes [New] fail. Whether its case matters is the server's
// lower_case_table_names.
//
// default: [DefaultTable] ("sessionkit_sessions")
func WithTable(name string) Option { return sqlstore.WithTable(name) }

// WithCleanupInterval sets how often a background goroutine deletes the
// expired rows. Zero disables the background cleanup (call
// [sqlstore.Store.Cleanup] yourself); a negative interval makes [New]
// fail.
//
// default: [DefaultCleanupInterval] (5 minutes)
func WithCleanupInterval(d time.Duration) Option { return sqlstore.WithCleanupInterval(d) }

// WithMaxRecordSize sets the largest encoded record, in bytes, that Save
// and SaveDelta accept; a larger one is an error matching
// [core.ErrTooLarge]. It must be positive and at most 16,777,215 bytes
// (what a MEDIUMBLOB holds); the server's max_allowed_packet must exceed
// it.
//
// default: [DefaultMaxRecordSize] (4 MiB)
func WithMaxRecordSize(n int) Option { return sqlstore.WithMaxRecordSize(n) }

// WithLogger sets the logger that reports failures of the background
// cleanup, the only errors no caller sees. A nil logger discards them.
//
// default: [slog.Default]
func WithLogger(l *slog.Logger) Option { return sqlstore.WithLogger(l) }
